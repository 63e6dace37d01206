import { type Database, type Migration, migrate, tables } from '@bitv/shared/db';
import type { AlarmKind, AlarmState } from '@bitv/shared/events';
import type { ColumnType, Kysely } from 'kysely';
import { sql } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface AlarmsTable {
  id: string;
  cause: string;
  site_id: string;
  gateway_id: string;
  shelf_id: string | null;
  bin: number | null;
  kind: AlarmKind;
  severity: 'critical' | 'major' | 'minor';
  state: AlarmState;
  message: string;
  value: number | null;
  raised_at: Timestamp;
  /** Last time the cause was seen (a repeat while open only counts an occurrence). */
  seen_at: Timestamp;
  acknowledged_at: NullableTimestamp;
  acknowledged_by: string | null;
  cleared_at: NullableTimestamp;
  occurrences: ColumnType<number, number | undefined, number>;
}

/** The alarms' own view of each gateway's presence and health (from bv.device-state). */
export interface AlarmGatewaysTable {
  gateway_id: string;
  site_id: string;
  online: boolean;
  /** When it last went offline or came online. */
  since: Timestamp;
  /** Last sign of life (NBIRTH, NDATA, a device's birth or death): an NDEATH will is stamped at connect. */
  seen_at: Timestamp;
  bd_seq: number | null;
}

export interface AlarmSettingsTable {
  site_id: string;
  settings: ColumnType<unknown, string, string>;
}

/** Per-minute health of a gateway for its page's charts (message rate, latency, queue depth). */
export interface GatewayHealthTable {
  gateway_id: string;
  minute: Timestamp;
  messages: ColumnType<number, number | undefined, number>;
  readings: ColumnType<number, number | undefined, number>;
  latency_sum_ms: ColumnType<number, number | undefined, number>;
  latency_max_ms: ColumnType<number, number | undefined, number>;
  latency_count: ColumnType<number, number | undefined, number>;
  queue_depth: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface AlarmTables {
  alarms: AlarmsTable;
  alarm_gateways: AlarmGatewaysTable;
  alarm_settings: AlarmSettingsTable;
  gateway_health: GatewayHealthTable;
}

export type AlarmDb = Kysely<AlarmTables>;

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('alarms')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('cause', 'text', (c) => c.notNull())
      .addColumn('site_id', 'text', (c) => c.notNull())
      .addColumn('gateway_id', 'text', (c) => c.notNull())
      .addColumn('shelf_id', 'text')
      .addColumn('bin', 'integer')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('value', 'double precision')
      .addColumn('raised_at', 'timestamptz', (c) => c.notNull())
      .addColumn('seen_at', 'timestamptz', (c) => c.notNull())
      .addColumn('acknowledged_at', 'timestamptz')
      .addColumn('acknowledged_by', 'text')
      .addColumn('cleared_at', 'timestamptz')
      .addColumn('occurrences', 'integer', (c) => c.notNull().defaultTo(1))
      .execute();
    // One cause, one open alarm: a second raise of the same cause can only count an occurrence.
    await sql`CREATE UNIQUE INDEX alarms_open_cause ON alarms (cause) WHERE state <> 'cleared'`.execute(db);
    await db.schema
      .createIndex('alarms_site_raised')
      .on('alarms')
      .columns(['site_id', 'raised_at'])
      .execute();
    await db.schema.createIndex('alarms_gateway').on('alarms').columns(['gateway_id', 'raised_at']).execute();
    await db.schema
      .createTable('alarm_gateways')
      .addColumn('gateway_id', 'text', (c) => c.primaryKey())
      .addColumn('site_id', 'text', (c) => c.notNull())
      .addColumn('online', 'boolean', (c) => c.notNull())
      .addColumn('since', 'timestamptz', (c) => c.notNull())
      .addColumn('seen_at', 'timestamptz', (c) => c.notNull())
      .addColumn('bd_seq', 'integer')
      .execute();
    await db.schema
      .createTable('alarm_settings')
      .addColumn('site_id', 'text', (c) => c.primaryKey())
      .addColumn('settings', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('gateway_health')
      .addColumn('gateway_id', 'text', (c) => c.notNull())
      .addColumn('minute', 'timestamptz', (c) => c.notNull())
      .addColumn('messages', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('readings', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('latency_sum_ms', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('latency_max_ms', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('latency_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('queue_depth', 'integer')
      .addPrimaryKeyConstraint('gateway_health_pk', ['gateway_id', 'minute'])
      .execute();
  },
};

/** The alarms' own migration component (`bv_migrations_alarms`). */
export async function openAlarmDb(database: Database): Promise<AlarmDb> {
  await migrate(database, 'alarms', { '0001_alarms': initial });
  return tables<AlarmTables>(database);
}
