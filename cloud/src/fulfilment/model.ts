/**
 * A pick list as a decider: `decide(command, state) -> events` and `evolve(state, event) -> state`,
 * pure, tested given/when/then without a database (model.test.ts). Everything the decision needs
 * from outside (where a SKU sits, a bin's count, a new alert id) arrives in the command.
 *
 * Counts are absolute: a line remembers its bin's count when the pick started (`baseline`) and is
 * picked when `baseline - count` reaches its quantity. A stock change seen twice (the in-process
 * notification and the event log both carry it) therefore decides nothing new the second time.
 */

export interface Location {
  shelfId: string;
  bin: number;
  /** Units the bin holds now. */
  count: number;
  aislePosition: number;
  shelfPosition: number;
}

export interface PickLine {
  lineId: string;
  sku: string;
  quantity: number;
  /** The bin the line is picked from; null when no bin of the site holds the SKU. */
  shelfId: string | null;
  bin: number | null;
  /** The bin's count when the pick started (or the line was created, until then). */
  baseline: number;
  /** Units taken so far (baseline minus the bin's count, never negative). */
  taken: number;
  status: 'open' | 'confirmed' | 'short';
}

export interface MisPickAlert {
  alertId: string;
  shelfId: string;
  bin: number;
  sku: string | null;
  /** The bin's count before the wrong units left it; back at (or above) it resolves the alert. */
  baseline: number;
  taken: number;
  lineId?: string;
}

export type PickStatus = 'open' | 'picking' | 'picked' | 'short' | 'cancelled';

export interface PickState {
  pickId: string;
  orderId: string;
  siteId: string;
  status: PickStatus;
  lines: PickLine[];
  misPicks: MisPickAlert[];
}

export interface OrderLine {
  sku: string;
  quantity: number;
}

export type PickCommand =
  | {
      kind: 'create';
      pickId: string;
      orderId: string;
      siteId: string;
      lines: readonly OrderLine[];
      /** Where each SKU sits on the site, with counts (any order). */
      locations: ReadonlyMap<string, readonly Location[]>;
    }
  | { kind: 'start'; counts: ReadonlyMap<string, number>; startedBy?: string }
  /** The order was cancelled: a list not yet picked stops, its lights go off. */
  | { kind: 'cancel'; reason: string }
  | {
      kind: 'stock';
      shelfId: string;
      bin: number;
      sku: string | null;
      previousCount: number;
      count: number;
      /** Used when this change opens a mis-pick alert. */
      alertId: string;
    };

export type PickEvent =
  | { type: 'created'; pickId: string; orderId: string; siteId: string; lines: PickLine[] }
  | { type: 'started'; startedBy?: string; baselines: { lineId: string; baseline: number }[] }
  | { type: 'progressed'; lineId: string; taken: number }
  | { type: 'confirmed'; lineId: string; taken: number }
  | { type: 'short'; lineId: string; available: number }
  | { type: 'mis-picked'; alert: MisPickAlert }
  | { type: 'mis-pick-updated'; alertId: string; taken: number }
  | { type: 'mis-pick-resolved'; alertId: string }
  | { type: 'completed' }
  | { type: 'cancelled'; reason: string };

export const binKey = (shelfId: string, bin: number): string => `${shelfId}/${bin}`;

/**
 * Walking order: aisles by position, then shelves along the aisle, then bins left to right. A
 * picker walks the aisle once.
 */
export function walkingOrder(a: Location, b: Location): number {
  return (
    a.aislePosition - b.aislePosition ||
    a.shelfPosition - b.shelfPosition ||
    a.shelfId.localeCompare(b.shelfId) ||
    a.bin - b.bin
  );
}

/** The bin a line is picked from: the first in walking order that holds enough, else the fullest. */
function choose(locations: readonly Location[], quantity: number): Location | undefined {
  const sorted = [...locations].sort(walkingOrder);
  return (
    sorted.find((l) => l.count >= quantity) ??
    sorted.reduce<Location | undefined>((best, l) => (!best || l.count > best.count ? l : best), undefined)
  );
}

export class PickRuleError extends Error {}

export function decide(command: PickCommand, state: PickState | undefined): PickEvent[] {
  if (command.kind === 'create') {
    if (state) return [];
    if (command.lines.length === 0) throw new PickRuleError('a pick list needs at least one line');
    const placed = command.lines.map((line, i) => {
      const at = choose(command.locations.get(line.sku) ?? [], line.quantity);
      return { line, at, i };
    });
    // Walking order; lines whose SKU is nowhere on the site go last (they are short anyway).
    placed.sort((a, b) => (a.at && b.at ? walkingOrder(a.at, b.at) : a.at ? -1 : b.at ? 1 : a.i - b.i));
    const lines: PickLine[] = placed.map(({ line, at }, n) => ({
      lineId: `${command.pickId}-${n + 1}`,
      sku: line.sku,
      quantity: line.quantity,
      shelfId: at?.shelfId ?? null,
      bin: at?.bin ?? null,
      baseline: at?.count ?? 0,
      taken: 0,
      status: 'open',
    }));
    return [
      {
        type: 'created',
        pickId: command.pickId,
        orderId: command.orderId,
        siteId: command.siteId,
        lines,
      },
    ];
  }
  if (!state) throw new PickRuleError('no such pick list');
  if (command.kind === 'start') return decideStart(command, state);
  if (command.kind === 'cancel')
    return state.status === 'open' || state.status === 'picking'
      ? [{ type: 'cancelled', reason: command.reason }]
      : [];
  return decideStock(command, state);
}

function decideStart(command: Extract<PickCommand, { kind: 'start' }>, state: PickState): PickEvent[] {
  if (state.status !== 'open') return [];
  const baselines = state.lines
    .filter((l) => l.status === 'open' && l.shelfId !== null && l.bin !== null)
    .map((l) => ({
      lineId: l.lineId,
      baseline: command.counts.get(binKey(l.shelfId as string, l.bin as number)) ?? l.baseline,
    }));
  const events: PickEvent[] = [
    { type: 'started', ...(command.startedBy ? { startedBy: command.startedBy } : {}), baselines },
  ];
  // Two lines of one SKU may share a bin: each needs its own units out of the same count.
  const claimed = new Map<string, number>();
  for (const line of state.lines) {
    if (line.status !== 'open') continue;
    if (line.shelfId === null || line.bin === null) {
      events.push({ type: 'short', lineId: line.lineId, available: 0 });
      continue;
    }
    const key = binKey(line.shelfId, line.bin);
    const available =
      (baselines.find((b) => b.lineId === line.lineId)?.baseline ?? 0) - (claimed.get(key) ?? 0);
    if (available < line.quantity) events.push({ type: 'short', lineId: line.lineId, available });
    else claimed.set(key, (claimed.get(key) ?? 0) + line.quantity);
  }
  return events;
}

function decideStock(command: Extract<PickCommand, { kind: 'stock' }>, state: PickState): PickEvent[] {
  if (state.status !== 'picking') return [];
  const key = binKey(command.shelfId, command.bin);
  const events: PickEvent[] = [];
  const open = state.misPicks.find((m) => binKey(m.shelfId, m.bin) === key);
  if (open) {
    // Units going back resolve the alert; more leaving adds to it.
    if (command.count >= open.baseline) events.push({ type: 'mis-pick-resolved', alertId: open.alertId });
    else if (open.baseline - command.count !== open.taken)
      events.push({ type: 'mis-pick-updated', alertId: open.alertId, taken: open.baseline - command.count });
    return events;
  }
  // The line this bin serves now: the first open one in walking order (one bin, one line at a time).
  const line = state.lines.find(
    (l) => l.status === 'open' && l.shelfId !== null && binKey(l.shelfId, l.bin as number) === key,
  );
  if (!line) {
    if (command.count >= command.previousCount) return [];
    return [
      {
        type: 'mis-picked',
        alert: {
          alertId: command.alertId,
          shelfId: command.shelfId,
          bin: command.bin,
          sku: command.sku,
          baseline: command.previousCount,
          taken: command.previousCount - command.count,
        },
      },
    ];
  }
  const taken = Math.max(0, line.baseline - command.count);
  if (taken === line.taken) return [];
  // (A bin cannot run dry mid-line: counts are absolute, and a baseline short of the quantity
  // made the line short at the start.)
  if (taken < line.quantity) return [{ type: 'progressed', lineId: line.lineId, taken }];
  events.push({ type: 'confirmed', lineId: line.lineId, taken: line.quantity });
  if (taken > line.quantity) {
    events.push({
      type: 'mis-picked',
      alert: {
        alertId: command.alertId,
        shelfId: command.shelfId,
        bin: command.bin,
        sku: command.sku,
        baseline: line.baseline - line.quantity,
        taken: taken - line.quantity,
        lineId: line.lineId,
      },
    });
  }
  const othersDone = state.lines.every((l) => l.lineId === line.lineId || l.status !== 'open');
  const anyShort = state.lines.some((l) => l.status === 'short');
  if (othersDone && !anyShort) events.push({ type: 'completed' });
  return events;
}

export function evolve(state: PickState | undefined, event: PickEvent): PickState {
  if (event.type === 'created') {
    return {
      pickId: event.pickId,
      orderId: event.orderId,
      siteId: event.siteId,
      status: 'open',
      lines: event.lines,
      misPicks: [],
    };
  }
  if (!state) throw new PickRuleError(`${event.type} before the pick list was created`);
  const line = (lineId: string, change: Partial<PickLine>): PickState => ({
    ...state,
    lines: state.lines.map((l) => (l.lineId === lineId ? { ...l, ...change } : l)),
  });
  switch (event.type) {
    case 'started': {
      const next = new Map(event.baselines.map((b) => [b.lineId, b.baseline]));
      return {
        ...state,
        status: 'picking',
        lines: state.lines.map((l) =>
          next.has(l.lineId) ? { ...l, baseline: next.get(l.lineId) as number } : l,
        ),
      };
    }
    case 'progressed':
      return line(event.lineId, { taken: event.taken });
    case 'confirmed':
      return settle(line(event.lineId, { taken: event.taken, status: 'confirmed' }));
    case 'short':
      return settle(line(event.lineId, { status: 'short' }));
    case 'mis-picked':
      return { ...state, misPicks: [...state.misPicks, event.alert] };
    case 'mis-pick-updated':
      return {
        ...state,
        misPicks: state.misPicks.map((m) => (m.alertId === event.alertId ? { ...m, taken: event.taken } : m)),
      };
    case 'mis-pick-resolved':
      return { ...state, misPicks: state.misPicks.filter((m) => m.alertId !== event.alertId) };
    case 'completed':
      return { ...state, status: 'picked' };
    case 'cancelled':
      return { ...state, status: 'cancelled', misPicks: [] };
  }
}

/** A list with no open line and a short one is an exception for a person (a complete one says `completed`). */
function settle(state: PickState): PickState {
  const done = state.lines.every((l) => l.status !== 'open');
  return done && state.lines.some((l) => l.status === 'short') ? { ...state, status: 'short' } : state;
}

export function fold(events: readonly PickEvent[], state?: PickState): PickState | undefined {
  return events.reduce<PickState | undefined>((s, e) => evolve(s, e), state);
}

/** What the shelf should show for one bin, given a pick's state: the pick colour, red, or off. */
export type Light = 'pick' | 'mis-pick' | 'off';

/**
 * The lights a pick wants, per bin it has touched: an open line's bin in the pick colour (only the
 * first open line of a bin, so one bin asks for one quantity at a time), a mis-picked bin red,
 * every other bin it has lit off; all off once the list has ended.
 */
export function lightsOf(state: PickState): Map<string, Light> {
  const lights = new Map<string, Light>();
  for (const l of state.lines) {
    if (l.shelfId === null || l.bin === null) continue;
    const key = binKey(l.shelfId, l.bin);
    if (lights.get(key) === 'pick') continue;
    lights.set(key, state.status === 'picking' && l.status === 'open' ? 'pick' : 'off');
  }
  // A list that has ended leaves no light on: an unresolved mis-pick stays an alert (its event).
  for (const m of state.misPicks)
    lights.set(binKey(m.shelfId, m.bin), state.status === 'picking' ? 'mis-pick' : 'off');
  return lights;
}
