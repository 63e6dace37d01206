import { isRetriable } from '../errors/index.js';

export interface RetryOptions {
  /** Attempts after the first one; `Infinity` retries until bailed or aborted. */
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** Fraction of each delay that is randomised (0 = none, 1 = full jitter). */
  jitter: number;
  signal?: AbortSignal;
  /** Decides whether an error is worth another attempt; defaults to its `retriable` flag. */
  shouldRetry: (error: unknown) => boolean;
  onRetry?: (info: { error: unknown; attempt: number; delayMs: number }) => void;
}

export const defaultRetryOptions: RetryOptions = {
  retries: 5,
  initialDelayMs: 100,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: 0.5,
  shouldRetry: isRetriable,
};

/** Thrown from inside the retried function to stop at once, whatever the error's flag says. */
export interface RetryContext {
  attempt: number;
  bail(error: unknown): never;
}

class Bail {
  constructor(readonly error: unknown) {}
}

export function backoffDelay(
  attempt: number,
  options: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'jitter'>,
): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** (attempt - 1));
  const spread = base * options.jitter;
  return Math.round(base - spread + Math.random() * spread);
}

/**
 * The one retry helper: exponential backoff with jitter, stops on a non-retriable error,
 * on `bail()`, on abort, or when the attempts are used up (rethrowing the last error).
 */
export async function retry<T>(
  fn: (context: RetryContext) => Promise<T>,
  options: Partial<RetryOptions> = {},
): Promise<T> {
  const opts = { ...defaultRetryOptions, ...options };
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn({
        attempt,
        bail(error: unknown): never {
          throw new Bail(error);
        },
      });
    } catch (error) {
      if (error instanceof Bail) throw error.error;
      if (attempt > opts.retries || !opts.shouldRetry(error)) throw error;
      const delayMs = backoffDelay(attempt, opts);
      opts.onRetry?.({ error, attempt, delayMs });
      await sleep(delayMs, opts.signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
