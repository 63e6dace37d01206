import { describe, expect, it, vi } from 'vitest';
import { UnavailableError, ValidationError } from '../errors/index.js';
import { backoffDelay, retry } from './index.js';

const fast = { initialDelayMs: 1, maxDelayMs: 2 };

describe('retry', () => {
  it('retries retriable errors until the function succeeds', async () => {
    const fn = vi
      .fn()
      .mockRejectedValueOnce(new UnavailableError('down'))
      .mockRejectedValueOnce(new UnavailableError('down'))
      .mockResolvedValue('ok');
    const onRetry = vi.fn();
    await expect(retry(fn, { ...fast, onRetry })).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(3);
    expect(onRetry.mock.calls.map(([info]) => info.attempt)).toEqual([1, 2]);
  });

  it('stops at once on a non-retriable error', async () => {
    const fn = vi.fn().mockRejectedValue(new ValidationError('bad'));
    await expect(retry(fn, fast)).rejects.toThrow('bad');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('rethrows the last error when attempts are used up', async () => {
    const fn = vi.fn().mockRejectedValue(new UnavailableError('still down'));
    await expect(retry(fn, { ...fast, retries: 2 })).rejects.toThrow('still down');
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('bails with the given error regardless of its flag', async () => {
    let calls = 0;
    const result = retry(async ({ bail }) => {
      calls++;
      bail(new UnavailableError('give up'));
    }, fast);
    await expect(result).rejects.toThrow('give up');
    expect(calls).toBe(1);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const fn = vi.fn(async () => {
      controller.abort(new Error('shutting down'));
      throw new UnavailableError('down');
    });
    await expect(retry(fn, { ...fast, signal: controller.signal })).rejects.toThrow('shutting down');
  });

  it('grows delays exponentially within the cap and jitter band', () => {
    const opts = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.5 };
    for (let i = 0; i < 50; i++) {
      const d3 = backoffDelay(3, opts);
      expect(d3).toBeGreaterThanOrEqual(200);
      expect(d3).toBeLessThanOrEqual(400);
      expect(backoffDelay(10, opts)).toBeLessThanOrEqual(1000);
    }
  });
});
