import { TimeoutError } from '@bitv/shared';
import type { ProviderGuard } from './service.js';

/**
 * A timeout on every provider call: the call's signal is aborted and the caller gets a
 * `TimeoutError` (retriable: the service asks `status` before calling again).
 */
export function timeoutGuard(name: string, timeoutMs: number): ProviderGuard {
  return {
    async execute<T>(fn: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal): Promise<T> {
      const controller = new AbortController();
      const onAbort = () => controller.abort(outer?.reason);
      outer?.addEventListener('abort', onAbort, { once: true });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort(new TimeoutError(`${name}: no answer within ${timeoutMs} ms`));
          reject(new TimeoutError(`${name}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([fn(controller.signal), timedOut]);
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener('abort', onAbort);
      }
    },
  };
}
