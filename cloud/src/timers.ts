import type { Logger } from '@bitv/shared/log';
import type { TimerSpec } from './module.js';

/**
 * Runs each timer every `everyMs`, never two runs of one timer at once (a slow run makes the
 * next tick skip, not pile up). A failed run is logged and the timer keeps going. Returns stop.
 */
export function startTimers(timers: readonly TimerSpec[], logger: Logger): () => void {
  const handles = timers.map((timer) => {
    let running = false;
    const handle = setInterval(() => {
      if (running) return;
      running = true;
      timer
        .run()
        .catch((error: unknown) => logger.warn({ err: error, timer: timer.name }, `${timer.name} failed`))
        .finally(() => {
          running = false;
        });
    }, timer.everyMs);
    // Timers never keep a process alive on their own.
    handle.unref();
    return handle;
  });
  return () => {
    for (const h of handles) clearInterval(h);
  };
}
