import { BitvError } from '@bitv/shared';
import type { Counter } from '@bitv/shared/metrics';

export interface LoginThrottleSettings {
  /** Wrong passwords in a row an account may have before it is locked. */
  accountFreeFailures: number;
  /** Wrong passwords one client address may have (over any accounts) before it is locked; higher,
   * since an office behind one NAT address shares it. */
  addressFreeFailures: number;
  /** The first lockout; each further failure doubles it. */
  lockoutSeconds: number;
  maxLockoutSeconds: number;
  /** A key with no failure for this long starts again from zero. */
  forgetAfterSeconds: number;
  /** Keys kept per kind (accounts, addresses); the least recently failed go first beyond it. */
  maxEntries: number;
}

export const loginThrottleDefaults: LoginThrottleSettings = {
  accountFreeFailures: 5,
  addressFreeFailures: 20,
  lockoutSeconds: 15,
  maxLockoutSeconds: 900,
  forgetAfterSeconds: 3600,
  maxEntries: 10_000,
};

/** Too many wrong passwords: HTTP 429, `Retry-After` from `details.retryAfterSeconds`. */
export class LoginThrottledError extends BitvError {
  constructor(retryAfterSeconds: number) {
    super('too_many_attempts', `too many failed logins; try again in ${retryAfterSeconds} s`, {
      retriable: true,
      details: { retryAfterSeconds },
    });
  }
}

type Kind = 'account' | 'address';

interface Entry {
  failures: number;
  lastFailureMs: number;
  lockedUntilMs: number;
}

/** Failures of one kind of key, in insertion order = least recently failed first (a bounded map). */
class FailureTable {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly freeFailures: number,
    private readonly settings: LoginThrottleSettings,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Milliseconds the key is still locked for at `now` (0: not locked). */
  lockedFor(key: string, now: number): number {
    const e = this.#live(key, now);
    return e ? Math.max(0, e.lockedUntilMs - now) : 0;
  }

  fail(key: string, now: number): void {
    const e = this.#live(key, now) ?? { failures: 0, lastFailureMs: now, lockedUntilMs: 0 };
    e.failures += 1;
    e.lastFailureMs = now;
    const over = e.failures - this.freeFailures;
    if (over >= 0) {
      const seconds = Math.min(
        this.settings.maxLockoutSeconds,
        this.settings.lockoutSeconds * 2 ** Math.min(over, 30),
      );
      e.lockedUntilMs = now + seconds * 1000;
    }
    // Delete and set: the key moves to the end, so the first key is always the least recently failed.
    this.#entries.delete(key);
    this.#entries.set(key, e);
    this.#bound();
  }

  /** Takes back one failure counted in advance (the attempt succeeded). */
  forgive(key: string, now: number, all: boolean): void {
    const e = this.#live(key, now);
    if (!e) return;
    e.failures = all ? 0 : Math.max(0, e.failures - 1);
    if (e.failures < this.freeFailures) e.lockedUntilMs = 0;
    if (e.failures === 0) this.#entries.delete(key);
  }

  #live(key: string, now: number): Entry | undefined {
    const e = this.#entries.get(key);
    if (e && this.#stale(e, now)) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  #stale(e: Entry, now: number): boolean {
    return e.lockedUntilMs <= now && now - e.lastFailureMs >= this.settings.forgetAfterSeconds * 1000;
  }

  #bound(): void {
    // The first entries failed least recently; they go first. A lock can end early this way, but
    // only under a flood of distinct keys, which the other table (address or account) slows down.
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.settings.maxEntries) return;
      this.#entries.delete(key);
    }
  }
}

export interface LoginAttempt {
  /** The password was right: the account starts again from zero, the address gets its attempt back. */
  succeeded(): void;
  /** The attempt was never judged (the database failed): both get their attempt back. */
  undo(): void;
}

/**
 * Slows password guessing, per account (normalised email) and per client address, in this
 * process's memory (bounded by `maxEntries` per kind). Every attempt counts as a failure from the
 * moment it starts, so parallel guesses cannot all slip in before the first one is judged; a right
 * password takes its attempt back. While a key is locked every attempt is refused, the right
 * password too, without checking it. Behind several replicas each holds its own table, so an
 * attacker gets (replicas × free failures) before the lockout; the doubling still bounds the rate.
 */
export class LoginThrottle {
  readonly settings: LoginThrottleSettings;
  readonly #accounts: FailureTable;
  readonly #addresses: FailureTable;

  constructor(
    settings: Partial<LoginThrottleSettings>,
    private readonly throttled: Counter<'by'>,
    private readonly now: () => number = Date.now,
  ) {
    this.settings = { ...loginThrottleDefaults, ...settings };
    for (const [name, value] of Object.entries(this.settings)) {
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`login throttle ${name} must be ≥ 0`);
    }
    this.#accounts = new FailureTable(this.settings.accountFreeFailures, this.settings);
    this.#addresses = new FailureTable(this.settings.addressFreeFailures, this.settings);
  }

  /** Keys being tracked, per kind (for tests and the bound). */
  size(kind: Kind): number {
    return kind === 'account' ? this.#accounts.size : this.#addresses.size;
  }

  /** Starts an attempt, or throws LoginThrottledError when the account or the address is locked. */
  begin(email: string, address: string): LoginAttempt {
    const account = normaliseEmail(email);
    const now = this.now();
    const byAccount = this.#accounts.lockedFor(account, now);
    const byAddress = this.#addresses.lockedFor(address, now);
    if (byAccount > 0 || byAddress > 0) {
      this.throttled.inc({ by: byAccount >= byAddress ? 'account' : 'address' });
      throw new LoginThrottledError(Math.ceil(Math.max(byAccount, byAddress) / 1000));
    }
    this.#accounts.fail(account, now);
    this.#addresses.fail(address, now);
    let settled = false;
    const settle = (resetAccount: boolean) => {
      if (settled) return;
      settled = true;
      const at = this.now();
      this.#accounts.forgive(account, at, resetAccount);
      this.#addresses.forgive(address, at, false);
    };
    return { succeeded: () => settle(true), undo: () => settle(false) };
  }
}

export function normaliseEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}
