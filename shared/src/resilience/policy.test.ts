import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError, UnavailableError, ValidationError } from '../errors/index.js';
import { createRegistry, type Registry } from '../metrics/index.js';
import { dependencyPolicy } from './policy.js';

/** The value of one labelled series in the registry (undefined when it was never written). */
async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const found = registry.getSingleMetric(name);
  if (!found) return undefined;
  const { values } = await found.get();
  return values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value;
}

const down = () => Promise.reject(new UnavailableError('connection refused'));

/** A call that settles only when its signal aborts, and says whether it saw the abort. */
function hanging(seen: { aborted: boolean }) {
  return (signal: AbortSignal) =>
    new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => {
        seen.aborted = true;
        reject(signal.reason);
      });
    });
}

describe('dependencyPolicy', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens after consecutive failures, refuses fast with 503 details, and closes again after a good trial call', async () => {
    const registry = createRegistry();
    const policy = dependencyPolicy(
      { name: 'bank', timeoutMs: 1_000, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 5_000 } },
      registry,
    );
    const states: string[] = [];
    policy.onStateChange((s) => states.push(s));
    for (let i = 0; i < 3; i++) await expect(policy.execute(down)).rejects.toBeInstanceOf(UnavailableError);
    expect(policy.state).toBe('open');
    expect(await metric(registry, 'bv_dependency_breaker_state', { dependency: 'bank' })).toBe(2);

    const fn = vi.fn(async () => 'ok');
    const refused = await policy.execute(fn).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(refused).toBeInstanceOf(UnavailableError);
    expect((refused as UnavailableError).details).toMatchObject({
      dependency: 'bank',
      reason: 'circuit_open',
      retryAfterSeconds: 5,
    });

    await vi.advanceTimersByTimeAsync(5_001);
    expect(await policy.execute(fn)).toBe('ok');
    expect(policy.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect(policy.transitions).toMatchObject({ open: 1, 'half-open': 1, closed: 1 });
    expect(await metric(registry, 'bv_dependency_breaker_state', { dependency: 'bank' })).toBe(0);
    expect(
      await metric(registry, 'bv_dependency_calls_total', { dependency: 'bank', outcome: 'rejected_open' }),
    ).toBe(1);
    expect(
      await metric(registry, 'bv_dependency_calls_total', { dependency: 'bank', outcome: 'failure' }),
    ).toBe(3);
  });

  it('reopens when the half-open trial call fails', async () => {
    const policy = dependencyPolicy({
      name: 'bank',
      timeoutMs: 1_000,
      breaker: { consecutiveFailures: 1, halfOpenAfterMs: 1_000 },
    });
    await expect(policy.execute(down)).rejects.toThrow();
    await vi.advanceTimersByTimeAsync(1_001);
    await expect(policy.execute(down)).rejects.toThrow('connection refused');
    expect(policy.state).toBe('open');
    expect(policy.transitions.open).toBe(2);
  });

  it('a half-open trial call cut by the caller reopens the breaker instead of closing it', async () => {
    const policy = dependencyPolicy({
      name: 'bank',
      timeoutMs: 10_000,
      breaker: { consecutiveFailures: 1, halfOpenAfterMs: 1_000 },
    });
    await expect(policy.execute(down)).rejects.toThrow();
    await vi.advanceTimersByTimeAsync(1_001);
    const outer = new AbortController();
    const trial = policy.execute(hanging({ aborted: false }), outer.signal).catch((e: unknown) => e);
    expect(policy.state).toBe('half-open');
    outer.abort(new Error('client went away'));
    expect(await trial).toMatchObject({ message: 'client went away' });
    // the trial never learned whether the bank is back: not a reason to close
    expect(policy.state).toBe('open');
  });

  it('time-based breaker opens on the failure rate of the window, not on a call count', async () => {
    const policy = dependencyPolicy({
      name: 'quiet',
      timeoutMs: 1_000,
      breaker: { thresholdRate: 0.5, minimumRps: 0.5, samplingDurationMs: 10_000, halfOpenAfterMs: 2_000 },
    });
    // 5 calls in 10 s are the minimum: 2 good and 3 bad trip it on the 5th
    await policy.execute(async () => 1);
    await policy.execute(async () => 1);
    await expect(policy.execute(down)).rejects.toThrow();
    await expect(policy.execute(down)).rejects.toThrow();
    expect(policy.state).toBe('closed');
    await expect(policy.execute(down)).rejects.toThrow();
    expect(policy.state).toBe('open');
  });

  it('answers the dependency meant (non-retriable errors) never open the breaker', async () => {
    const policy = dependencyPolicy({
      name: 'bank',
      timeoutMs: 1_000,
      breaker: { consecutiveFailures: 2, halfOpenAfterMs: 1_000 },
    });
    for (let i = 0; i < 5; i++) {
      await expect(
        policy.execute(() => Promise.reject(new ValidationError('card declined'))),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    expect(policy.state).toBe('closed');
  });

  it('times out a hanging call: TimeoutError, the call signal aborted, counted, and counted by the breaker', async () => {
    const registry = createRegistry();
    const policy = dependencyPolicy(
      { name: 'slow', timeoutMs: 200, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 1_000 } },
      registry,
    );
    const seen = { aborted: false };
    const call = policy.execute(hanging(seen)).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(199);
    expect(seen.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    const error = await call;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).details).toMatchObject({ dependency: 'slow', timeoutMs: 200 });
    expect(seen.aborted).toBe(true);
    expect(await metric(registry, 'bv_dependency_timeouts_total', { dependency: 'slow' })).toBe(1);
    const second = policy.execute(hanging({ aborted: false })).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(201);
    expect(await second).toBeInstanceOf(TimeoutError);
    expect(policy.state).toBe('open');
  });

  it('an outer abort cancels the call with the caller reason and is not a dependency failure', async () => {
    const registry = createRegistry();
    const policy = dependencyPolicy(
      { name: 'x', timeoutMs: 10_000, breaker: { consecutiveFailures: 1, halfOpenAfterMs: 1_000 } },
      registry,
    );
    const outer = new AbortController();
    const seen = { aborted: false };
    const call = policy.execute(hanging(seen), outer.signal).catch((e: unknown) => e);
    outer.abort(new Error('shutting down'));
    expect(await call).toMatchObject({ message: 'shutting down' });
    expect(seen.aborted).toBe(true);
    expect(policy.state).toBe('closed');
    expect(await metric(registry, 'bv_dependency_calls_total', { dependency: 'x', outcome: 'aborted' })).toBe(
      1,
    );
  });

  it('bulkhead refuses calls past limit + queue with a 503 that does not open the breaker', async () => {
    const registry = createRegistry();
    const policy = dependencyPolicy(
      {
        name: 'bank',
        timeoutMs: 10_000,
        bulkhead: { limit: 2, queue: 1 },
        breaker: { consecutiveFailures: 1, halfOpenAfterMs: 1_000 },
      },
      registry,
    );
    const release: Array<() => void> = [];
    const held = () => new Promise<string>((resolve) => release.push(() => resolve('done')));
    const running = [policy.execute(held), policy.execute(held), policy.execute(held)];
    const refused = await policy.execute(held).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UnavailableError);
    expect((refused as UnavailableError).details).toMatchObject({
      reason: 'bulkhead_full',
      retryAfterSeconds: 1,
    });
    expect(policy.state).toBe('closed');
    expect(await metric(registry, 'bv_dependency_bulkhead_rejections_total', { dependency: 'bank' })).toBe(1);
    // the queued third call runs once a slot frees
    for (const r of release.splice(0)) r();
    await vi.advanceTimersByTimeAsync(0);
    for (const r of release.splice(0)) r();
    expect(await Promise.all(running)).toEqual(['done', 'done', 'done']);
  });

  it('retries retriable failures with backoff up to maxAttempts, and never a non-retriable one', async () => {
    const registry = createRegistry();
    const policy = dependencyPolicy(
      {
        name: 'rest-pay',
        timeoutMs: 1_000,
        breaker: false,
        retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1_000 },
      },
      registry,
    );
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls < 3) throw new UnavailableError('503 from provider');
      return 'paid';
    };
    const result = policy.execute(flaky);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await result).toBe('paid');
    expect(calls).toBe(3);
    expect(await metric(registry, 'bv_dependency_retries_total', { dependency: 'rest-pay' })).toBe(2);

    let declined = 0;
    await expect(
      policy.execute(async () => {
        declined++;
        throw new ValidationError('declined');
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(declined).toBe(1);

    let always = 0;
    const failing = policy
      .execute(async () => {
        always++;
        throw new UnavailableError('down');
      })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await failing).toBeInstanceOf(UnavailableError);
    expect(always).toBe(3);
  });

  it('does not retry its own refusals (an open breaker answers at once)', async () => {
    const policy = dependencyPolicy({
      name: 'bank',
      timeoutMs: 1_000,
      breaker: { consecutiveFailures: 1, halfOpenAfterMs: 60_000 },
      retry: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 10 },
    });
    // the first call fails once, opens the breaker; its retry is refused by the open breaker
    const first = policy.execute(down).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    const error = await first;
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).details).toMatchObject({ reason: 'circuit_open' });
    const fn = vi.fn(async () => 1);
    await expect(policy.execute(fn)).rejects.toBeInstanceOf(UnavailableError);
    expect(fn).not.toHaveBeenCalled();
  });

  it('isolate holds the breaker open until released', async () => {
    const policy = dependencyPolicy({ name: 'bank', timeoutMs: 1_000 });
    const release = policy.isolate();
    expect(policy.state).toBe('isolated');
    await expect(policy.execute(async () => 1)).rejects.toBeInstanceOf(UnavailableError);
    release();
    expect(policy.state).toBe('closed');
    expect(await policy.execute(async () => 1)).toBe(1);
  });
});
