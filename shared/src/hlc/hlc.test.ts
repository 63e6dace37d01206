import { describe, expect, it } from 'vitest';
import { compareHlc, decodeHlc, HlcError, HybridLogicalClock, isHlc } from './index.js';

describe('hybrid logical clock', () => {
  it('ticks strictly upward even when the wall clock stands still or steps back', () => {
    let now = 1_000;
    const clock = new HybridLogicalClock('a', { now: () => now });
    const t1 = clock.tick();
    const t2 = clock.tick();
    now = 900;
    const t3 = clock.tick();
    expect(compareHlc(t1, t2)).toBeLessThan(0);
    expect(compareHlc(t2, t3)).toBeLessThan(0);
    expect(decodeHlc(t3)).toEqual({ wallMs: 1_000, counter: 2, node: 'a' });
  });

  it('a receive is later than the remote send it saw, with a slower local clock', () => {
    const a = new HybridLogicalClock('a', { now: () => 5_000 });
    const b = new HybridLogicalClock('b', { now: () => 4_000 });
    const sent = a.tick();
    const received = b.receive(sent);
    expect(compareHlc(sent, received)).toBeLessThan(0);
    expect(compareHlc(received, b.tick())).toBeLessThan(0);
  });

  it('orders concurrent events of two nodes with the same time and counter by node id (no ties)', () => {
    const a = new HybridLogicalClock('a', { now: () => 7 });
    const b = new HybridLogicalClock('b', { now: () => 7 });
    expect(compareHlc(a.tick(), b.tick())).toBeLessThan(0);
  });

  it('refuses a remote clock far ahead and malformed timestamps', () => {
    const a = new HybridLogicalClock('a', { now: () => 0, maxDriftMs: 10 });
    const far = new HybridLogicalClock('z', { now: () => 1_000 }).tick();
    expect(() => a.receive(far)).toThrow(HlcError);
    expect(() => a.receive('nonsense')).toThrow(HlcError);
    expect(isHlc('0000000000001-00000-a')).toBe(true);
    expect(() => new HybridLogicalClock('bad node')).toThrow(HlcError);
  });

  it('steps the millisecond when the counter overflows', () => {
    const clock = new HybridLogicalClock('a', { now: () => 1 });
    let last = clock.tick();
    for (let i = 0; i < 100_001; i++) {
      const next = clock.tick();
      expect(next > last).toBe(true);
      last = next;
    }
    expect(decodeHlc(last).wallMs).toBe(2);
  });
});
