import { silentLogger } from '@bitv/shared/log';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTimers } from './timers.js';

describe('module timers', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('never runs one timer twice at once, keeps going after a failure, and stops', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const warnings: unknown[] = [];
    const logger = {
      ...silentLogger,
      warn: (...args: unknown[]) => warnings.push(args),
    } as typeof silentLogger;
    const stop = startTimers(
      [
        {
          name: 'slow',
          everyMs: 10,
          run: () => {
            runs += 1;
            return new Promise<void>((resolve) => {
              release = resolve;
            });
          },
        },
        { name: 'failing', everyMs: 10, run: () => Promise.reject(new Error('boom')) },
      ],
      logger,
    );
    await vi.advanceTimersByTimeAsync(55);
    expect(runs).toBe(1); // five ticks, one run still in progress
    release();
    await vi.advanceTimersByTimeAsync(10);
    expect(runs).toBe(2);
    expect(warnings.length).toBeGreaterThanOrEqual(5);
    expect(JSON.stringify(warnings[0])).toContain('failing failed');
    stop();
    release();
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2);
  });
});
