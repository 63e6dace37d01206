import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '@bitv/shared';
import type { EventLog } from '@bitv/shared/event-log';
import {
  type Alarm,
  type AlarmKind,
  type AlarmState,
  alarmChangedV1,
  createEvent,
} from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Counter } from '@bitv/shared/metrics';
import { type Selectable, sql } from 'kysely';
import { iso, isoOrNull } from '../db/time.js';
import type { AlarmDb, AlarmsTable } from './tables.js';

/** A cause seen: `raise` opens its alarm, or counts one more occurrence of the open one. */
export interface Cause {
  kind: AlarmKind;
  siteId: string;
  gatewayId: string;
  shelfId?: string;
  bin?: number;
  severity: Alarm['severity'];
  message: string;
  value: number | null;
}

export interface AlarmFilter {
  /** Sites the caller may see; null = all. */
  sites: readonly string[] | null;
  siteId?: string;
  gatewayId?: string;
  state?: AlarmState | 'open';
  kind?: AlarmKind;
  limit?: number;
}

/** Announces an alarm change to the dashboard (the live hub); given at composition. */
export type AlarmAnnouncer = (alarm: Alarm) => void;

const source = 'bitvelocity/cloud/alarms';

type Row = Selectable<AlarmsTable>;

/** `<kind>:<gateway>[:<shelf>[:<bin>]]`: one cause, one alarm. */
export function causeOf(c: Pick<Cause, 'kind' | 'gatewayId' | 'shelfId' | 'bin'>): string {
  return [
    c.kind,
    c.gatewayId,
    ...(c.shelfId ? [c.shelfId] : []),
    ...(c.bin !== undefined ? [String(c.bin)] : []),
  ].join(':');
}

/**
 * Alarms and their lifecycle: active -> acknowledged -> cleared (an active one may clear without
 * being acknowledged). De-duplicated by cause: while an alarm is open, the same cause only counts
 * occurrences, so a sensor that is out of range for an hour is one alarm, not one per reading.
 * Each transition is published on `bv.alarms` (webhooks can carry them) and announced live.
 */
export class Alarms {
  constructor(
    private readonly db: AlarmDb,
    private readonly eventLog: EventLog,
    private readonly announce: AlarmAnnouncer,
    private readonly logger: Logger,
    private readonly transitions: Counter<'kind' | 'transition'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Opens the cause's alarm, or counts an occurrence of the open one. Returns whether it was raised now. */
  async raise(c: Cause): Promise<boolean> {
    const cause = causeOf(c);
    const now = this.now();
    const inserted = await this.db
      .insertInto('alarms')
      .values({
        id: randomUUID(),
        cause,
        site_id: c.siteId,
        gateway_id: c.gatewayId,
        shelf_id: c.shelfId ?? null,
        bin: c.bin ?? null,
        kind: c.kind,
        severity: c.severity,
        state: 'active',
        message: c.message.slice(0, 500),
        value: c.value,
        raised_at: now,
        seen_at: now,
        occurrences: 1,
      })
      .onConflict((oc) =>
        oc
          .column('cause')
          .where('state', '<>', 'cleared')
          .doUpdateSet({
            occurrences: sql`alarms.occurrences + 1`,
            seen_at: now,
            value: c.value,
            message: c.message.slice(0, 500),
          }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    if (inserted.occurrences > 1) return false;
    await this.changed(inserted, 'raised');
    return true;
  }

  /** Clears the cause's open alarm, if there is one. */
  async clear(c: Pick<Cause, 'kind' | 'gatewayId' | 'shelfId' | 'bin'>, why?: string): Promise<boolean> {
    const row = await this.db
      .updateTable('alarms')
      .set({ state: 'cleared', cleared_at: this.now(), ...(why ? { message: why.slice(0, 500) } : {}) })
      .where('cause', '=', causeOf(c))
      .where('state', '<>', 'cleared')
      .returningAll()
      .executeTakeFirst();
    if (!row) return false;
    await this.changed(row, 'cleared');
    return true;
  }

  async acknowledge(id: string, by: string, sites: readonly string[] | null): Promise<Alarm> {
    const existing = await this.get(id, sites);
    if (existing.state !== 'active') throw new ConflictError(`alarm ${id} is ${existing.state}, not active`);
    const row = await this.db
      .updateTable('alarms')
      .set({ state: 'acknowledged', acknowledged_at: this.now(), acknowledged_by: by.slice(0, 200) })
      .where('id', '=', id)
      .where('state', '=', 'active')
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new ConflictError(`alarm ${id} changed meanwhile: read it again`);
    return this.changed(row, 'acknowledged');
  }

  async get(id: string, sites: readonly string[] | null): Promise<Alarm> {
    const row = await this.db.selectFrom('alarms').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (sites !== null && !sites.includes(row.site_id)))
      throw new NotFoundError(`alarm ${id} not found`);
    return toAlarm(row);
  }

  /** Newest first; `state: 'open'` = active or acknowledged. */
  async list(f: AlarmFilter): Promise<Alarm[]> {
    if (f.sites?.length === 0) return [];
    const rows = await this.db
      .selectFrom('alarms')
      .selectAll()
      .$if(f.sites !== null, (q) => q.where('site_id', 'in', f.sites ?? []))
      .$if(f.siteId !== undefined, (q) => q.where('site_id', '=', f.siteId ?? ''))
      .$if(f.gatewayId !== undefined, (q) => q.where('gateway_id', '=', f.gatewayId ?? ''))
      .$if(f.kind !== undefined, (q) => q.where('kind', '=', f.kind ?? 'gateway_offline'))
      .$if(f.state === 'open', (q) => q.where('state', '<>', 'cleared'))
      .$if(f.state !== undefined && f.state !== 'open', (q) => q.where('state', '=', f.state as AlarmState))
      .orderBy('raised_at', 'desc')
      .orderBy('id')
      .limit(Math.min(f.limit ?? 100, 500))
      .execute();
    return rows.map(toAlarm);
  }

  /** Open alarms of one kind whose cause was last seen before `before` (for time-based clears). */
  async quietSince(kind: AlarmKind, before: Date): Promise<(Alarm & { seenAt: string })[]> {
    const rows = await this.db
      .selectFrom('alarms')
      .selectAll()
      .where('kind', '=', kind)
      .where('state', '<>', 'cleared')
      .where('seen_at', '<', before)
      .limit(500)
      .execute();
    return rows.map((r) => ({ ...toAlarm(r), seenAt: iso(r.seen_at) }));
  }

  private async changed(row: Row, transition: 'raised' | 'acknowledged' | 'cleared'): Promise<Alarm> {
    const alarm = toAlarm(row);
    this.transitions.inc({ kind: alarm.kind, transition });
    this.logger[transition === 'raised' ? 'warn' : 'info'](
      { alarmId: alarm.alarmId, cause: alarm.cause, transition },
      `alarm ${transition}: ${alarm.message}`,
    );
    await this.eventLog.publish(
      alarmChangedV1.topic,
      createEvent(alarmChangedV1, {
        source,
        key: alarm.gatewayId,
        subject: alarm.cause,
        data: { ...alarm, transition },
      }),
    );
    this.announce(alarm);
    return alarm;
  }
}

function toAlarm(r: Row): Alarm {
  return {
    alarmId: r.id,
    siteId: r.site_id,
    gatewayId: r.gateway_id,
    ...(r.shelf_id !== null ? { shelfId: r.shelf_id } : {}),
    ...(r.bin !== null ? { bin: r.bin } : {}),
    kind: r.kind,
    cause: r.cause,
    severity: r.severity,
    state: r.state,
    message: r.message,
    value: r.value === null ? null : Number(r.value),
    raisedAt: iso(r.raised_at),
    acknowledgedAt: isoOrNull(r.acknowledged_at),
    acknowledgedBy: r.acknowledged_by,
    clearedAt: isoOrNull(r.cleared_at),
    occurrences: r.occurrences,
  };
}
