import { type Database, type Migration, migrate } from '@bitv/shared/db';
import { type Kysely, sql } from 'kysely';

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('signing_keys')
      .addColumn('kid', 'text', (c) => c.primaryKey())
      .addColumn('alg', 'text', (c) => c.notNull())
      .addColumn('private_jwk', 'jsonb', (c) => c.notNull())
      .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('retired_at', 'timestamptz')
      .execute();
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('sites', 'jsonb')
      .addColumn('password_hash', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('invite_hash', 'text', (c) => c.unique())
      .addColumn('invite_expires_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createTable('refresh_tokens')
      .addColumn('jti', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('revoked_at', 'timestamptz')
      .execute();
    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('key_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('revoked_at', 'timestamptz')
      .execute();
    await db.schema
      .createTable('sites')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createTable('aisles')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('site_id', 'text', (c) => c.notNull().references('sites.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('gateways')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('site_id', 'text', (c) => c.notNull().references('sites.id'))
      .addColumn('aisle_id', 'text', (c) => c.references('aisles.id').onDelete('set null'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('online', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('hostname', 'text')
      .addColumn('agent_version', 'text')
      .addColumn('bd_seq', 'integer')
      .addColumn('queue_depth', 'integer')
      .addColumn('oldest_unsent_ms', 'double precision')
      .addColumn('last_birth_at', 'timestamptz')
      .addColumn('last_seen_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createTable('gateway_credentials')
      .addColumn('jti', 'text', (c) => c.primaryKey())
      .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id').onDelete('cascade'))
      .addColumn('issued_at', 'timestamptz', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('revoked_at', 'timestamptz')
      .execute();
    await db.schema
      .createTable('claim_tokens')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('site_id', 'text', (c) => c.notNull().references('sites.id').onDelete('cascade'))
      .addColumn('gateway_id', 'text')
      .addColumn('aisle_id', 'text')
      .addColumn('batch_id', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('used_at', 'timestamptz')
      .addColumn('used_by', 'text')
      .execute();
    await db.schema
      .createTable('shelves')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id').onDelete('cascade'))
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('site_id', 'text', (c) => c.notNull())
      .addColumn('aisle_id', 'text')
      .addColumn('serial_number', 'text', (c) => c.notNull())
      .addColumn('firmware', 'text')
      .addColumn('bin_count', 'integer', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('online', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('last_seen_at', 'timestamptz')
      .addUniqueConstraint('shelves_gateway_device', ['gateway_id', 'device_id'])
      .execute();
    await db.schema
      .createTable('products')
      .addColumn('sku', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('unit_weight_g', 'double precision', (c) => c.notNull())
      .addColumn('tolerance_g', 'double precision', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createTable('bins')
      .addColumn('shelf_id', 'text', (c) => c.notNull().references('shelves.id').onDelete('cascade'))
      .addColumn('bin', 'integer', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.references('products.sku'))
      .addColumn('tare_g', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('confidence', 'double precision', (c) => c.notNull().defaultTo(1))
      .addColumn('weight_g', 'double precision')
      .addColumn('low_stock_threshold', 'integer')
      .addColumn('lit_color', 'text')
      .addColumn('lit_blink', 'text')
      .addColumn('align_pending', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('bins_pk', ['shelf_id', 'bin'])
      .execute();
    await db.schema.createIndex('bins_sku').on('bins').column('sku').execute();
    await db.schema
      .createTable('reading_watermarks')
      .addColumn('edge_node_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('last_seq', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('reading_watermarks_pk', ['edge_node_id', 'device_id'])
      .execute();
    await db.schema
      .createTable('stock_movements')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('shelf_id', 'text', (c) => c.notNull())
      .addColumn('bin', 'integer', (c) => c.notNull())
      .addColumn('sku', 'text')
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('previous_count', 'integer', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addColumn('confidence', 'double precision', (c) => c.notNull())
      .addColumn('reading_seq', 'bigint')
      .addColumn('actor', 'text')
      .addColumn('note', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createTable('reservations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('sku', 'text', (c) => c.notNull().references('products.sku'))
      .addColumn('quantity', 'integer', (c) => c.notNull())
      .addColumn('reference', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createTable('alerts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('site_id', 'text', (c) => c.notNull())
      .addColumn('shelf_id', 'text', (c) => c.notNull())
      .addColumn('bin', 'integer', (c) => c.notNull())
      .addColumn('sku', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('cleared_at', 'timestamptz')
      .execute();
    // At most one open alert of a kind per bin, so a flapping count cannot pile them up.
    await sql`CREATE UNIQUE INDEX alerts_open_once ON alerts (shelf_id, bin, kind) WHERE status = 'open'`.execute(
      db,
    );
    await db.schema
      .createTable('commands')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id').onDelete('cascade'))
      .addColumn('device_id', 'text')
      .addColumn('group_id', 'text', (c) => c.notNull())
      .addColumn('command', 'jsonb', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('requested_by', 'text')
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createIndex('commands_gateway')
      .on('commands')
      .columns(['gateway_id', 'created_at'])
      .execute();
  },
};

/**
 * Readings an edge agent reported it will never send (bv.telemetry.gap.v1). A report is keyed by
 * its range, so a redelivered event adds nothing. Ranges are outbox seqs (`dropped`), link frame
 * seqs or a replay shelf's device time in ms (`link`): bigint.
 */
const telemetryGaps: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('telemetry_gaps')
      .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id').onDelete('cascade'))
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('from_seq', 'bigint', (c) => c.notNull())
      .addColumn('to_seq', 'bigint', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('reported_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('telemetry_gaps_pk', ['gateway_id', 'device_id', 'kind', 'from_seq', 'to_seq'])
      .execute();
    await db.schema
      .createIndex('telemetry_gaps_recent')
      .on('telemetry_gaps')
      .columns(['reported_at'])
      .execute();
  },
};

/**
 * What the cloud knows of a bin's hardware: whether its load cell reports a fault (the edge agent
 * leaves a faulty cell's bin out of its readings [SL-READ-2]) and when the bin was last weighed, so
 * the dashboard never shows an old count as live. Shelf-level alerts (shelf offline) are kept per
 * bin, like the others: each bin's count is what stops being current.
 */
const binHealth: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('bins')
      .addColumn('cell_fault', 'boolean', (c) => c.notNull().defaultTo(false))
      .execute();
    await db.schema.alterTable('bins').addColumn('weighed_at', 'timestamptz').execute();
  },
};

/**
 * Device links a gateway's agent cannot open (its `links/down` and `links/error` health metrics):
 * the fleet and warehouse pages show the gateway degraded, with why.
 */
const gatewayLinks: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('gateways').addColumn('links_down', 'integer').execute();
    await db.schema.alterTable('gateways').addColumn('link_error', 'text').execute();
  },
};

/**
 * Who made a reservation (the partner user, also when through one of their API keys), so partners
 * see and release only their own. Older reservations have none: operators and admins see them.
 */
const reservationOwner: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('reservations').addColumn('owner_id', 'text').execute();
    await db.schema
      .createIndex('reservations_owner_idx')
      .on('reservations')
      .columns(['owner_id', 'created_at'])
      .execute();
  },
};

/**
 * Metrics of any Sparkplug edge node or device (bv.telemetry.metrics.v1), shelf or not: the latest
 * value of each (device_id '' is the edge node itself) and a bounded history of recent values.
 */
const deviceMetrics: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('device_metrics')
      .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id').onDelete('cascade'))
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('value', 'jsonb', (c) => c.notNull())
      .addColumn('time', 'timestamptz', (c) => c.notNull())
      .addColumn('historical', 'boolean', (c) => c.notNull().defaultTo(false))
      .addPrimaryKeyConstraint('device_metrics_pk', ['gateway_id', 'device_id', 'name'])
      .execute();
    await db.schema
      .createTable('device_metric_history')
      .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id').onDelete('cascade'))
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('time', 'timestamptz', (c) => c.notNull())
      .addColumn('value', 'jsonb', (c) => c.notNull())
      .addPrimaryKeyConstraint('device_metric_history_pk', ['gateway_id', 'device_id', 'name', 'time'])
      .execute();
  },
};

/**
 * Units held per SKU (`reservedUnits`, `reserveAll`) read only the rows that still hold: without
 * it every reserve summed the whole table, released, expired and consumed rows included, which
 * only grows.
 */
const reservationsHeld: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE INDEX reservations_held_sku ON reservations (sku) WHERE status IN ('active', 'committed')`.execute(
      db,
    );
  },
};

export const cloudMigrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_telemetry_gaps': telemetryGaps,
  '0003_bin_health': binHealth,
  '0004_gateway_links': gatewayLinks,
  '0005_reservation_owner': reservationOwner,
  '0006_device_metrics': deviceMetrics,
  '0007_reservations_held': reservationsHeld,
};

export function migrateCloud(database: Database): Promise<string[]> {
  return migrate(database, 'cloud', cloudMigrations);
}
