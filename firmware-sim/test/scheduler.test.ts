import { describe, expect, it, vi } from 'vitest';
import { Scheduler } from '../src/clock/scheduler.js';

describe('Scheduler', () => {
  it('runs events in time order, ties in insertion order, and skips cancelled ones', () => {
    const s = new Scheduler({ speed: 1 });
    const seen: string[] = [];
    s.at(30, () => seen.push('c'));
    s.at(10, () => seen.push('a1'));
    s.at(10, () => seen.push('a2'));
    const t = s.at(20, () => seen.push('cancelled'));
    s.at(20, () => {
      seen.push('b');
      s.after(5, () => seen.push('b+5'));
    });
    t.cancel();
    s.advanceTo(100);
    expect(seen).toEqual(['a1', 'a2', 'b', 'b+5', 'c']);
    expect(s.now()).toBe(100);
  });

  it('maps wall time to virtual time at its speed', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let wall = 1000;
      const s = new Scheduler({ speed: 10, wallNow: () => wall });
      const fired: number[] = [];
      s.at(500, () => fired.push(s.now()));
      s.at(2000, () => fired.push(s.now()));
      s.start();
      const tick = (ms: number) => {
        wall += ms;
        vi.advanceTimersByTime(ms);
      };
      tick(49); // 490 virtual ms
      expect(fired).toEqual([]);
      tick(11); // 600
      expect(fired).toEqual([500]);
      tick(150); // 2100
      expect(fired).toEqual([500, 2000]);
      expect(s.now()).toBeCloseTo(2100);
      s.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps running when an event throws, and reports the error', () => {
    const errors: unknown[] = [];
    const s = new Scheduler({ speed: 1, onError: (e) => errors.push(e) });
    const seen: number[] = [];
    s.at(1, () => {
      throw new Error('boom');
    });
    s.at(2, () => seen.push(2));
    s.advanceTo(10);
    expect(seen).toEqual([2]);
    expect(errors).toHaveLength(1);
  });
});
