import { type Database, type Migration, migrate, tables } from '@bitv/shared/db';
import type { ColumnType, Kysely } from 'kysely';
import type { DeviceState, RolloutSpec, RolloutStatus } from './rollout-model.js';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface RolloutsTable {
  id: string;
  spec: ColumnType<RolloutSpec, string, string>;
  status: RolloutStatus;
  wave: number;
  waves: number;
  reason: string | null;
  created_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RolloutDevicesTable {
  rollout_id: string;
  device_id: string;
  gateway_id: string;
  site_id: string;
  wave: number;
  state: DeviceState;
  attempts: number;
  /** Epoch ms of the current attempt (bigint as text from pg: read with Number). */
  sent_at: ColumnType<string | number | null, number | null, number | null>;
  reason: string | null;
  version: string | null;
  /** The command of the current attempt: its result is this device's outcome. */
  command_id: string | null;
}

export interface FirmwareTagsTable {
  device_id: string;
  tag: string;
}

export interface FirmwareTables {
  rollouts: RolloutsTable;
  rollout_devices: RolloutDevicesTable;
  firmware_tags: FirmwareTagsTable;
}

export type FirmwareDb = Kysely<FirmwareTables>;

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('rollouts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('spec', 'jsonb', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('wave', 'integer', (c) => c.notNull())
      .addColumn('waves', 'integer', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('rollouts_status').on('rollouts').column('status').execute();
    await db.schema
      .createTable('rollout_devices')
      .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id').onDelete('cascade'))
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('gateway_id', 'text', (c) => c.notNull())
      .addColumn('site_id', 'text', (c) => c.notNull())
      .addColumn('wave', 'integer', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('sent_at', 'bigint')
      .addColumn('reason', 'text')
      .addColumn('version', 'text')
      .addColumn('command_id', 'text')
      .addPrimaryKeyConstraint('rollout_devices_pk', ['rollout_id', 'device_id'])
      .execute();
    await db.schema
      .createIndex('rollout_devices_command')
      .on('rollout_devices')
      .column('command_id')
      .execute();
    await db.schema
      .createIndex('rollout_devices_gateway')
      .on('rollout_devices')
      .column('gateway_id')
      .execute();
    await db.schema
      .createTable('firmware_tags')
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('tag', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('firmware_tags_pk', ['device_id', 'tag'])
      .execute();
  },
};

/** The firmware module's own migration component (`bv_migrations_firmware`). */
export async function openFirmwareDb(database: Database): Promise<FirmwareDb> {
  await migrate(database, 'firmware', { '0001_rollouts': initial });
  return tables<FirmwareTables>(database);
}
