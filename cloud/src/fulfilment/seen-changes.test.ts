import type { StockChanged } from '@bitv/shared/events';
import { describe, expect, it } from 'vitest';
import { SeenChanges } from './seen-changes.js';

const change = (seq: number, bin = 0, reading = true): StockChanged => ({
  siteId: 's',
  shelfId: 'shelf',
  bin,
  sku: 'A',
  previousCount: 5,
  count: 4,
  confidence: 1,
  reason: 'weight',
  ...(reading ? { reading: { edgeNodeId: 'gw', deviceId: 'shelf', seq } } : {}),
});

describe('SeenChanges', () => {
  it('passes a change once, per reading and bin', () => {
    const seen = new SeenChanges();
    expect(seen.firstTime(change(1))).toBe(true);
    expect(seen.firstTime(change(1))).toBe(false);
    expect(seen.firstTime(change(1, 2))).toBe(true);
    expect(seen.firstTime(change(2))).toBe(true);
  });

  it('changes without a reading are always new; the oldest key leaves first', () => {
    const seen = new SeenChanges(2);
    expect(seen.firstTime(change(1, 0, false))).toBe(true);
    expect(seen.firstTime(change(1, 0, false))).toBe(true);
    seen.firstTime(change(1));
    seen.firstTime(change(2));
    seen.firstTime(change(3));
    expect(seen.firstTime(change(3))).toBe(false);
    expect(seen.firstTime(change(1))).toBe(true);
  });
});
