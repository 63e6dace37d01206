import { counter, createRegistry } from '@bitv/shared/metrics';
import { describe, expect, it } from 'vitest';
import { LoginThrottle, LoginThrottledError, normaliseEmail } from './login-throttle.js';

/** A throttle on a hand-moved clock (no real time passes in these tests). */
function throttle(settings: ConstructorParameters<typeof LoginThrottle>[0] = {}) {
  let now = 1_000_000;
  const metrics = createRegistry();
  const refused = counter(metrics, 'refused', 'refused', ['by']);
  const t = new LoginThrottle(settings, refused, () => now);
  return {
    t,
    advance: (seconds: number) => {
      now += seconds * 1000;
    },
    refused: async (by: string) => (await refused.get()).values.find((v) => v.labels.by === by)?.value ?? 0,
  };
}

const retryAfter = (fn: () => unknown): number => {
  try {
    fn();
  } catch (error) {
    if (error instanceof LoginThrottledError) return error.details?.retryAfterSeconds as number;
    throw error;
  }
  return 0;
};

describe('login throttle', () => {
  it('locks an account after its free failures, doubling the lockout per further failure', async () => {
    const { t, advance, refused } = throttle({ accountFreeFailures: 3, lockoutSeconds: 10 });
    for (let i = 0; i < 3; i++) t.begin('a@x.io', `10.0.0.${i}`);
    expect(retryAfter(() => t.begin('A@X.io ', '10.9.9.9'))).toBe(10);
    advance(10);
    t.begin('a@x.io', '10.0.0.1'); // allowed once the lockout ends, and a failure again
    expect(retryAfter(() => t.begin('a@x.io', '10.0.0.1'))).toBe(20);
    advance(20);
    t.begin('a@x.io', '10.0.0.1');
    expect(retryAfter(() => t.begin('a@x.io', '10.0.0.1'))).toBe(40);
    expect(await refused('account')).toBe(3);
  });

  it('caps the lockout and forgets a key after a quiet period', () => {
    const { t, advance } = throttle({
      accountFreeFailures: 1,
      lockoutSeconds: 10,
      maxLockoutSeconds: 25,
      forgetAfterSeconds: 100,
    });
    t.begin('a@x.io', 'ip');
    advance(10);
    t.begin('a@x.io', 'ip');
    advance(20);
    t.begin('a@x.io', 'ip');
    expect(retryAfter(() => t.begin('a@x.io', 'ip'))).toBe(25);
    advance(125);
    // Forgotten: the next failure is the first again.
    t.begin('a@x.io', 'ip');
    expect(retryAfter(() => t.begin('a@x.io', 'ip'))).toBe(10);
  });

  it('resets the account on success, and gives the address its attempt back', () => {
    const { t } = throttle({ accountFreeFailures: 3, addressFreeFailures: 3 });
    for (let round = 0; round < 5; round++) {
      t.begin('a@x.io', `ip${round}`);
      t.begin('a@x.io', `ip${round}`);
      t.begin('a@x.io', `ip${round}`).succeeded();
    }
    expect(t.size('account')).toBe(0);
    expect(retryAfter(() => t.begin('a@x.io', 'ip9'))).toBe(0);
  });

  it('counts an attempt from its start, so parallel guesses cannot all slip in', () => {
    const { t } = throttle({ accountFreeFailures: 5 });
    const started = [];
    let refusedCount = 0;
    for (let i = 0; i < 50; i++) {
      try {
        started.push(t.begin('a@x.io', `ip${i}`));
      } catch {
        refusedCount += 1; // expected: the lockout
      }
    }
    expect(started).toHaveLength(5);
    expect(refusedCount).toBe(45);
  });

  it('undo takes back one attempt without resetting the account', () => {
    const { t } = throttle({ accountFreeFailures: 2 });
    t.begin('a@x.io', 'ip');
    t.begin('a@x.io', 'ip').undo();
    expect(retryAfter(() => t.begin('a@x.io', 'ip'))).toBe(0);
    expect(retryAfter(() => t.begin('a@x.io', 'ip'))).toBeGreaterThan(0);
  });

  it('keeps at most maxEntries keys per kind, however many distinct emails and addresses guess', () => {
    const { t } = throttle({ maxEntries: 100, accountFreeFailures: 1000, addressFreeFailures: 1000 });
    for (let i = 0; i < 10_000; i++) t.begin(`user${i}@x.io`, `10.${i >> 8}.${i & 255}.1`);
    expect(t.size('account')).toBe(100);
    expect(t.size('address')).toBe(100);
  });

  it('normalises emails the way login compares them', () => {
    expect(normaliseEmail('  Alice@Example.COM ')).toBe('alice@example.com');
  });

  it('refuses nonsense settings at construction', () => {
    expect(() => throttle({ lockoutSeconds: Number.NaN })).toThrow(RangeError);
  });
});
