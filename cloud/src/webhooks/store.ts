import { randomUUID } from 'node:crypto';
import { NotFoundError } from '@bitv/shared';
import type { Database } from '@bitv/shared/db';
import { type Kysely, sql } from 'kysely';
import { newSecret } from './signing.js';

export interface Endpoint {
  id: string;
  ownerId: string;
  url: string;
  description: string;
  eventTypes: string[];
  secret: string;
  enabled: boolean;
  disabledReason: string | null;
  inOrder: boolean;
  ratePerSecond: number | null;
  failingSince: string | null;
  createdAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'dead';

export interface DeliveryRow {
  seq: number;
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  enqueued: boolean;
  eventCommittedAt: string;
  createdAt: string;
  lastAttemptAt: string | null;
  deliveredAt: string | null;
}

export interface AttemptRow {
  deliveryId: string;
  attempt: number;
  at: string;
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseSnippet: string | null;
}

export interface Notice {
  id: number;
  endpointId: string | null;
  at: string;
  kind: string;
  message: string;
}

export interface NewEndpoint {
  url: string;
  description?: string;
  eventTypes: string[];
  inOrder?: boolean;
  ratePerSecond?: number | null;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));

type Raw = Record<string, unknown>;

function toEndpoint(r: Raw): Endpoint {
  return {
    id: String(r.id),
    ownerId: String(r.owner_id),
    url: String(r.url),
    description: String(r.description),
    eventTypes: r.event_types as string[],
    secret: String(r.secret),
    enabled: Boolean(r.enabled),
    disabledReason: (r.disabled_reason as string | null) ?? null,
    inOrder: Boolean(r.in_order),
    ratePerSecond: r.rate_per_second === null ? null : Number(r.rate_per_second),
    failingSince: isoOrNull(r.failing_since),
    createdAt: iso(r.created_at),
  };
}

function toDelivery(r: Raw): DeliveryRow {
  return {
    seq: Number(r.seq),
    id: String(r.id),
    endpointId: String(r.endpoint_id),
    eventId: String(r.event_id),
    eventType: String(r.event_type),
    body: String(r.body),
    status: r.status as DeliveryStatus,
    attempts: Number(r.attempts),
    enqueued: Boolean(r.enqueued),
    eventCommittedAt: iso(r.event_committed_at),
    createdAt: iso(r.created_at),
    lastAttemptAt: isoOrNull(r.last_attempt_at),
    deliveredAt: isoOrNull(r.delivered_at),
  };
}

/** The module's tables: endpoints, deliveries (one per event and endpoint), attempts, notices. */
export class WebhookStore {
  private readonly db: Kysely<unknown>;
  constructor(database: Database) {
    this.db = database.kysely;
  }

  async createEndpoint(ownerId: string, input: NewEndpoint): Promise<Endpoint> {
    const { rows } = await sql<Raw>`INSERT INTO webhook_endpoints
        (id, owner_id, url, description, event_types, secret, in_order, rate_per_second)
      VALUES (${randomUUID()}, ${ownerId}, ${input.url}, ${input.description ?? ''},
        ${JSON.stringify(input.eventTypes)}::jsonb, ${newSecret()}, ${input.inOrder ?? false},
        ${input.ratePerSecond ?? null})
      RETURNING *`.execute(this.db);
    return toEndpoint(rows[0] as Raw);
  }

  async updateEndpoint(id: string, patch: Partial<NewEndpoint> & { enabled?: boolean }): Promise<Endpoint> {
    const current = await this.endpoint(id);
    const enabled = patch.enabled ?? current.enabled;
    const { rows } = await sql<Raw>`UPDATE webhook_endpoints SET
        url = ${patch.url ?? current.url},
        description = ${patch.description ?? current.description},
        event_types = ${JSON.stringify(patch.eventTypes ?? current.eventTypes)}::jsonb,
        in_order = ${patch.inOrder ?? current.inOrder},
        rate_per_second = ${patch.ratePerSecond === undefined ? current.ratePerSecond : patch.ratePerSecond},
        enabled = ${enabled},
        disabled_reason = ${enabled ? null : (current.disabledReason ?? 'disabled by its owner')},
        failing_since = ${enabled && !current.enabled ? null : current.failingSince},
        updated_at = now()
      WHERE id = ${id} RETURNING *`.execute(this.db);
    return toEndpoint(rows[0] as Raw);
  }

  async deleteEndpoint(id: string): Promise<void> {
    await sql`DELETE FROM webhook_endpoints WHERE id = ${id}`.execute(this.db);
  }

  async endpoint(id: string): Promise<Endpoint> {
    const { rows } = await sql<Raw>`SELECT * FROM webhook_endpoints WHERE id = ${id}`.execute(this.db);
    if (!rows[0]) throw new NotFoundError(`no webhook endpoint ${id}`);
    return toEndpoint(rows[0]);
  }

  async endpoints(ownerId?: string): Promise<Endpoint[]> {
    const filter = ownerId === undefined ? sql`` : sql`WHERE owner_id = ${ownerId}`;
    const { rows } = await sql<Raw>`SELECT * FROM webhook_endpoints ${filter} ORDER BY created_at`.execute(
      this.db,
    );
    return rows.map(toEndpoint);
  }

  /** Enabled endpoints, for matching events against their types. */
  async enabledEndpoints(): Promise<Endpoint[]> {
    const { rows } = await sql<Raw>`SELECT * FROM webhook_endpoints WHERE enabled`.execute(this.db);
    return rows.map(toEndpoint);
  }

  /** The delivery of an event to an endpoint, created once; later calls return the same row. */
  async ensureDelivery(d: {
    id: string;
    endpointId: string;
    eventId: string;
    eventType: string;
    body: string;
    committedAt: string;
  }): Promise<{ id: string; enqueued: boolean }> {
    // One round trip for a new delivery; a second only when the event is a redelivery.
    const { rows } =
      await sql<Raw>`INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, body, event_committed_at)
      VALUES (${d.id}, ${d.endpointId}, ${d.eventId}, ${d.eventType}, ${d.body}, ${d.committedAt})
      ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id, enqueued`.execute(this.db);
    if (rows[0]) return { id: String(rows[0].id), enqueued: Boolean(rows[0].enqueued) };
    const existing = await this.delivery(d.id);
    return { id: existing.id, enqueued: existing.enqueued };
  }

  async markEnqueued(id: string): Promise<void> {
    await sql`UPDATE webhook_deliveries SET enqueued = true WHERE id = ${id}`.execute(this.db);
  }

  async delivery(id: string): Promise<DeliveryRow> {
    const { rows } = await sql<Raw>`SELECT * FROM webhook_deliveries WHERE id = ${id}`.execute(this.db);
    if (!rows[0]) throw new NotFoundError(`no webhook delivery ${id}`);
    return toDelivery(rows[0]);
  }

  async deliveries(
    endpointId: string,
    o: { limit?: number; from?: string; to?: string } = {},
  ): Promise<DeliveryRow[]> {
    const from = o.from ? sql`AND created_at >= ${o.from}` : sql``;
    const to = o.to ? sql`AND created_at <= ${o.to}` : sql``;
    const { rows } =
      await sql<Raw>`SELECT * FROM webhook_deliveries WHERE endpoint_id = ${endpointId} ${from} ${to}
      ORDER BY seq DESC LIMIT ${o.limit ?? 100}`.execute(this.db);
    return rows.map(toDelivery);
  }

  /** For in-order endpoints: is an older delivery of this endpoint still unfinished? */
  async hasEarlierPending(endpointId: string, seq: number): Promise<boolean> {
    const { rows } = await sql<Raw>`SELECT 1 FROM webhook_deliveries
      WHERE endpoint_id = ${endpointId} AND seq < ${seq} AND status = 'pending' LIMIT 1`.execute(this.db);
    return rows.length > 0;
  }

  async recordAttempt(a: Omit<AttemptRow, 'at'>, status: DeliveryStatus): Promise<void> {
    await sql`WITH attempt AS (
        INSERT INTO webhook_attempts (delivery_id, attempt, ok, status_code, latency_ms, error, response_snippet)
        VALUES (${a.deliveryId}, ${a.attempt}, ${a.ok}, ${a.statusCode}, ${a.latencyMs}, ${a.error}, ${a.responseSnippet}))
      UPDATE webhook_deliveries SET attempts = ${a.attempt}, status = ${status}, last_attempt_at = now(),
        delivered_at = CASE WHEN ${status} = 'delivered' THEN now() ELSE delivered_at END
      WHERE id = ${a.deliveryId}`.execute(this.db);
  }

  /** A delivery with its endpoint, in one query; undefined when either is gone. */
  async deliveryWithEndpoint(id: string): Promise<{ row: DeliveryRow; endpoint: Endpoint } | undefined> {
    const { rows } = await sql<Raw>`SELECT d.*, row_to_json(e.*) AS endpoint FROM webhook_deliveries d
      JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ${id}`.execute(this.db);
    const r = rows[0];
    if (!r) return undefined;
    return { row: toDelivery(r), endpoint: toEndpoint(r.endpoint as Raw) };
  }

  async setStatus(id: string, status: DeliveryStatus): Promise<void> {
    await sql`UPDATE webhook_deliveries SET status = ${status} WHERE id = ${id}`.execute(this.db);
  }

  async attempts(deliveryId: string): Promise<AttemptRow[]> {
    const { rows } =
      await sql<Raw>`SELECT * FROM webhook_attempts WHERE delivery_id = ${deliveryId} ORDER BY id`.execute(
        this.db,
      );
    return rows.map((r) => ({
      deliveryId: String(r.delivery_id),
      attempt: Number(r.attempt),
      at: iso(r.at),
      ok: Boolean(r.ok),
      statusCode: r.status_code === null ? null : Number(r.status_code),
      latencyMs: Number(r.latency_ms),
      error: (r.error as string | null) ?? null,
      responseSnippet: (r.response_snippet as string | null) ?? null,
    }));
  }

  /** Marks the endpoint failing (from now, if it was not) and returns since when. */
  async markFailing(id: string): Promise<string> {
    const { rows } =
      await sql<Raw>`UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now())
      WHERE id = ${id} RETURNING failing_since`.execute(this.db);
    return iso(rows[0]?.failing_since ?? new Date());
  }

  async markHealthy(id: string): Promise<void> {
    await sql`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ${id} AND failing_since IS NOT NULL`.execute(
      this.db,
    );
  }

  /** Disables an enabled endpoint; false when it already was (so the owner is told once). */
  async disable(id: string, reason: string): Promise<boolean> {
    const result =
      await sql`UPDATE webhook_endpoints SET enabled = false, disabled_reason = ${reason}, updated_at = now()
      WHERE id = ${id} AND enabled`.execute(this.db);
    return Number(result.numAffectedRows ?? 0) > 0;
  }

  async notify(ownerId: string, endpointId: string | null, kind: string, message: string): Promise<void> {
    await sql`INSERT INTO webhook_notices (owner_id, endpoint_id, kind, message)
      VALUES (${ownerId}, ${endpointId}, ${kind}, ${message})`.execute(this.db);
  }

  async notices(ownerId?: string, limit = 50): Promise<Notice[]> {
    const filter = ownerId === undefined ? sql`` : sql`WHERE owner_id = ${ownerId}`;
    const { rows } =
      await sql<Raw>`SELECT * FROM webhook_notices ${filter} ORDER BY id DESC LIMIT ${limit}`.execute(
        this.db,
      );
    return rows.map((r) => ({
      id: Number(r.id),
      endpointId: (r.endpoint_id as string | null) ?? null,
      at: iso(r.at),
      kind: String(r.kind),
      message: String(r.message),
    }));
  }
}
