import { describe, expect, it } from 'vitest';
import {
  binKey,
  decide,
  fold,
  type Location,
  lightsOf,
  type PickCommand,
  type PickEvent,
  PickRuleError,
  type PickState,
} from './model.js';

const loc = (shelfId: string, bin: number, count: number, aisle: number, shelf: number): Location => ({
  shelfId,
  bin,
  count,
  aislePosition: aisle,
  shelfPosition: shelf,
});

const create: PickCommand = {
  kind: 'create',
  pickId: 'p1',
  orderId: 'o1',
  siteId: 's1',
  lines: [
    { sku: 'BOLT', quantity: 2 },
    { sku: 'NUT', quantity: 3 },
  ],
  locations: new Map([
    // NUT sits in aisle 1, BOLT in aisle 2: the list walks NUT first.
    ['BOLT', [loc('shelf-b', 1, 10, 2, 0)]],
    ['NUT', [loc('shelf-a', 4, 1, 1, 0), loc('shelf-a', 0, 20, 1, 0)]],
  ]),
};

const counts = (entries: [string, number, number][]) =>
  new Map(entries.map(([shelf, bin, count]) => [binKey(shelf, bin), count]));

const start: PickCommand = {
  kind: 'start',
  counts: counts([
    ['shelf-a', 0, 20],
    ['shelf-b', 1, 10],
  ]),
};

const stock = (
  shelfId: string,
  bin: number,
  previousCount: number,
  count: number,
  alertId = 'a-1',
): PickCommand => ({
  kind: 'stock',
  shelfId,
  bin,
  sku: null,
  previousCount,
  count,
  alertId,
});

/** given events / when command / then events (and the state they leave). */
function given(...commands: PickCommand[]): { state: PickState | undefined; events: PickEvent[] } {
  let state: PickState | undefined;
  const events: PickEvent[] = [];
  for (const c of commands) {
    const decided = decide(c, state);
    events.push(...decided);
    state = fold(decided, state);
  }
  return { state, events };
}

function when(state: PickState | undefined, command: PickCommand) {
  const events = decide(command, state);
  return { events, state: fold(events, state) };
}

describe('pick list decider', () => {
  it('creates lines in walking order, each from the first bin holding enough', () => {
    const { state } = given(create);
    expect(state?.lines.map((l) => [l.sku, l.shelfId, l.bin])).toEqual([
      ['NUT', 'shelf-a', 0],
      ['BOLT', 'shelf-b', 1],
    ]);
    expect(state?.status).toBe('open');
  });

  it('creating twice decides nothing the second time', () => {
    const { state } = given(create);
    expect(decide(create, state)).toEqual([]);
  });

  it('starting lights the first open line of each bin', () => {
    const { state } = given(create, start);
    expect(state?.status).toBe('picking');
    expect([...lightsOf(state as PickState)]).toEqual([
      ['shelf-a/0', 'pick'],
      ['shelf-b/1', 'pick'],
    ]);
  });

  it('a drop of the right quantity at the right bin confirms the line, its light goes off', () => {
    const { state } = given(create, start);
    const then = when(state, stock('shelf-a', 0, 20, 17));
    expect(then.events).toEqual([{ type: 'confirmed', lineId: 'p1-1', taken: 3 }]);
    expect(lightsOf(then.state as PickState).get('shelf-a/0')).toBe('off');
  });

  it('a partial drop progresses; the rest confirms; the last line completes the list', () => {
    const { state } = given(create, start, stock('shelf-a', 0, 20, 17));
    const partial = when(state, stock('shelf-b', 1, 10, 9));
    expect(partial.events).toEqual([{ type: 'progressed', lineId: 'p1-2', taken: 1 }]);
    const rest = when(partial.state, stock('shelf-b', 1, 9, 8));
    expect(rest.events).toEqual([{ type: 'confirmed', lineId: 'p1-2', taken: 2 }, { type: 'completed' }]);
    expect(rest.state?.status).toBe('picked');
  });

  it('the same stock change seen twice (in-process and from the log) decides nothing new', () => {
    const { state } = given(create, start, stock('shelf-b', 1, 10, 9));
    expect(decide(stock('shelf-b', 1, 10, 9), state)).toEqual([]);
  });

  it('a drop at another bin during a pick is a mis-pick, lit red; putting it back resolves it', () => {
    const { state } = given(create, start);
    const wrong = when(state, stock('shelf-a', 1, 5, 3, 'alert-7'));
    expect(wrong.events).toEqual([
      {
        type: 'mis-picked',
        alert: { alertId: 'alert-7', shelfId: 'shelf-a', bin: 1, sku: null, baseline: 5, taken: 2 },
      },
    ]);
    expect(lightsOf(wrong.state as PickState).get('shelf-a/1')).toBe('mis-pick');
    const back = when(wrong.state, stock('shelf-a', 1, 3, 5));
    expect(back.events).toEqual([{ type: 'mis-pick-resolved', alertId: 'alert-7' }]);
    expect(lightsOf(back.state as PickState).has('shelf-a/1')).toBe(false);
  });

  it('taking too many confirms the line and raises a mis-pick for the extra units', () => {
    const { state } = given(create, start);
    const then = when(state, stock('shelf-a', 0, 20, 16, 'alert-8'));
    expect(then.events[0]).toEqual({ type: 'confirmed', lineId: 'p1-1', taken: 3 });
    expect(then.events[1]).toMatchObject({
      type: 'mis-picked',
      alert: { taken: 1, baseline: 17, lineId: 'p1-1' },
    });
    expect(lightsOf(then.state as PickState).get('shelf-a/0')).toBe('mis-pick');
  });

  it('too little stock at start is a short-pick exception for that line', () => {
    const { state } = given(create);
    const then = when(state, {
      kind: 'start',
      counts: counts([
        ['shelf-a', 0, 2],
        ['shelf-b', 1, 10],
      ]),
    });
    expect(then.events).toContainEqual({ type: 'short', lineId: 'p1-1', available: 2 });
    expect(then.state?.status).toBe('picking');
    expect(lightsOf(then.state as PickState).get('shelf-a/0')).toBe('off');
    const last = when(then.state, stock('shelf-b', 1, 10, 8));
    // Without every line confirmed the order is not picked: a person resolves the shortage.
    expect(last.events).toEqual([{ type: 'confirmed', lineId: 'p1-2', taken: 2 }]);
    expect(last.state?.status).toBe('short');
  });

  it('a SKU nowhere on the site is short', () => {
    const nowhere = given({ ...create, lines: [{ sku: 'GHOST', quantity: 1 }] }, start);
    expect(nowhere.events).toContainEqual({ type: 'short', lineId: 'p1-1', available: 0 });
    expect(nowhere.state?.status).toBe('short');
  });

  it('two lines of one SKU in one bin need both quantities from it', () => {
    const both = given(
      {
        ...create,
        lines: [
          { sku: 'BOLT', quantity: 6 },
          { sku: 'BOLT', quantity: 6 },
        ],
      },
      start,
    );
    expect(both.events).toContainEqual({ type: 'short', lineId: 'p1-2', available: 4 });
  });

  it('changes before the start or after the end decide nothing; unknown lists are refused', () => {
    const { state } = given(create);
    expect(decide(stock('shelf-a', 0, 20, 17), state)).toEqual([]);
    expect(() => decide(start, undefined)).toThrow(PickRuleError);
    expect(() => decide({ ...create, lines: [] }, undefined)).toThrow(PickRuleError);
  });

  it('cancelling the order stops the list and turns its lights off; a picked list stays picked', () => {
    const { state } = given(create, start, stock('shelf-a', 1, 5, 3, 'a-9'));
    const then = when(state, { kind: 'cancel', reason: 'customer changed their mind' });
    expect(then.events).toEqual([{ type: 'cancelled', reason: 'customer changed their mind' }]);
    expect(then.state?.status).toBe('cancelled');
    expect([...lightsOf(then.state as PickState).values()].every((l) => l === 'off')).toBe(true);
    const picked = given(create, start, stock('shelf-a', 0, 20, 17), stock('shelf-b', 1, 10, 8));
    expect(decide({ kind: 'cancel', reason: 'late' }, picked.state)).toEqual([]);
  });

  it('a list that ends leaves no light on, an unresolved mis-pick included', () => {
    const { state } = given(create, start, stock('shelf-a', 1, 5, 4, 'a-3'), stock('shelf-a', 0, 20, 17));
    const done = when(state, stock('shelf-b', 1, 10, 8));
    expect(done.state?.status).toBe('picked');
    expect(done.state?.misPicks).toHaveLength(1);
    expect([...lightsOf(done.state as PickState).values()].every((l) => l === 'off')).toBe(true);
  });
});
