import type { ColumnType, Generated } from 'kysely';

/** Why an alert is open: stock at or below its threshold, or a bin whose count is not current. */
export type AlertKind = 'low_stock' | 'cell_fault' | 'shelf_offline' | 'low_confidence';

/** The cloud's own tables (migrated by `migrations.ts` under the component name `cloud`). */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface CloudTables {
  signing_keys: {
    kid: string;
    alg: string;
    private_jwk: Json<Record<string, unknown>>;
    public_jwk: Json<Record<string, unknown>>;
    created_at: CreatedAt;
    retired_at: Timestamp | null;
  };
  users: {
    id: string;
    email: string;
    name: string;
    role: string;
    /** JSON array of site ids the user may see; null = all sites. */
    sites: Json<string[] | null> | null;
    password_hash: string | null;
    status: 'invited' | 'active' | 'disabled';
    invite_hash: string | null;
    invite_expires_at: Timestamp | null;
    created_at: CreatedAt;
  };
  refresh_tokens: {
    jti: string;
    user_id: string;
    expires_at: Timestamp;
    revoked_at: Timestamp | null;
  };
  api_keys: {
    id: string;
    name: string;
    owner_id: string;
    role: string;
    key_hash: string;
    created_at: CreatedAt;
    revoked_at: Timestamp | null;
  };
  sites: {
    id: string;
    name: string;
    created_at: CreatedAt;
  };
  aisles: {
    id: string;
    site_id: string;
    name: string;
    position: number;
  };
  gateways: {
    id: string;
    site_id: string;
    aisle_id: string | null;
    name: string;
    status: 'unclaimed' | 'provisioned' | 'decommissioned';
    online: boolean;
    hostname: string | null;
    agent_version: string | null;
    bd_seq: number | null;
    queue_depth: number | null;
    oldest_unsent_ms: number | null;
    /** Device links (serial ports) the agent reports it cannot open; null: never reported. */
    links_down: number | null;
    link_error: string | null;
    last_birth_at: Timestamp | null;
    last_seen_at: Timestamp | null;
    created_at: CreatedAt;
  };
  gateway_credentials: {
    jti: string;
    gateway_id: string;
    issued_at: Timestamp;
    expires_at: Timestamp;
    revoked_at: Timestamp | null;
  };
  claim_tokens: {
    token_hash: string;
    site_id: string;
    /** Pre-assigned gateway id, or null to name the gateway at claim time. */
    gateway_id: string | null;
    aisle_id: string | null;
    batch_id: string;
    created_by: string;
    expires_at: Timestamp;
    used_at: Timestamp | null;
    used_by: string | null;
  };
  shelves: {
    id: string;
    gateway_id: string;
    /** Sparkplug device id, `shelf-<serial>`. */
    device_id: string;
    site_id: string;
    aisle_id: string | null;
    serial_number: string;
    firmware: string | null;
    bin_count: number;
    position: number;
    online: boolean;
    last_seen_at: Timestamp | null;
  };
  device_metrics: {
    gateway_id: string;
    /** '' for the edge node's own metrics. */
    device_id: string;
    name: string;
    type: string;
    value: Json<number | string | boolean | null>;
    time: Timestamp;
    historical: boolean;
  };
  device_metric_history: {
    gateway_id: string;
    device_id: string;
    name: string;
    time: Timestamp;
    value: Json<number | string | boolean | null>;
  };
  telemetry_gaps: {
    gateway_id: string;
    device_id: string;
    kind: 'dropped' | 'link';
    /** bigint: the driver returns it as a string. */
    from_seq: ColumnType<string, number, number>;
    to_seq: ColumnType<string, number, number>;
    count: number;
    reason: string;
    reported_at: Timestamp;
  };
  bins: {
    shelf_id: string;
    bin: number;
    sku: string | null;
    tare_g: number;
    count: number;
    confidence: number;
    weight_g: number | null;
    low_stock_threshold: number | null;
    lit_color: string | null;
    lit_blink: string | null;
    /** The next settled weight sets the tare so that it means `count` (a count entered without a tare). */
    align_pending: ColumnType<boolean, boolean | undefined, boolean>;
    /** The shelf reports this bin's load cell faulty: its weight (and so its count) is not current. */
    cell_fault: ColumnType<boolean, boolean | undefined, boolean>;
    /** Time of the last reading that carried this bin's weight (kept to within `weighedEveryMs`). */
    weighed_at: Timestamp | null;
    updated_at: Timestamp;
  };
  products: {
    sku: string;
    name: string;
    unit_weight_g: number;
    tolerance_g: number;
    created_at: CreatedAt;
  };
  reading_watermarks: {
    edge_node_id: string;
    device_id: string;
    last_seq: ColumnType<string, number | string, number | string>;
  };
  stock_movements: {
    id: Generated<number>;
    shelf_id: string;
    bin: number;
    sku: string | null;
    reason: 'weight' | 'adjustment' | 'cycle_count' | 'assignment';
    previous_count: number;
    count: number;
    confidence: number;
    reading_seq: ColumnType<string, number | string, number | string> | null;
    actor: string | null;
    note: string | null;
    created_at: CreatedAt;
  };
  reservations: {
    id: string;
    sku: string;
    quantity: number;
    reference: string;
    status: 'active' | 'committed' | 'consumed' | 'released' | 'expired';
    expires_at: Timestamp;
    /** The user who reserved (a key's owner for an API key); null: made before owners were kept, or over gRPC. */
    owner_id: string | null;
    created_at: CreatedAt;
  };
  alerts: {
    id: string;
    site_id: string;
    shelf_id: string;
    bin: number;
    sku: string | null;
    kind: AlertKind;
    status: 'open' | 'cleared';
    message: string;
    created_at: CreatedAt;
    cleared_at: Timestamp | null;
  };
  commands: {
    id: string;
    gateway_id: string;
    device_id: string | null;
    group_id: string;
    command: Json<Record<string, unknown>>;
    status: 'sent' | 'done' | 'failed' | 'expired';
    reason: string | null;
    requested_by: string | null;
    expires_at: Timestamp;
    created_at: CreatedAt;
    updated_at: Timestamp;
  };
}
