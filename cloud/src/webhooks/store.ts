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

/** An event to deliver to every enabled endpoint subscribed to its type. */
export interface EventToDeliver {
  eventId: string;
  eventType: string;
  body: string;
  committedAt: string;
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

  /**
   * The deliveries of a run of events, one per event and subscribed enabled endpoint, matched and
   * inserted in one statement per thousand events: reading the endpoints first was a second round
   * trip per run, as long as the insert. Each endpoint's rows keep the events' order (their `seq`,
   * which in-order endpoints follow). The subscription match is `matches` (event-types.ts) and the id is
   * `deliveryIdOf` (service.ts), in SQL; a test holds them equal. Idempotent: a redelivered event
   * finds its rows (endpoint + event is unique) and adds nothing. Returns how many rows are new.
   */
  async insertEventDeliveries(events: readonly EventToDeliver[]): Promise<number> {
    let inserted = 0;
    for (let i = 0; i < events.length; i += 1_000) {
      const values = events
        .slice(i, i + 1_000)
        .map(
          (e, n) =>
            sql`(${i + n}::integer, ${e.eventId}::text, ${e.eventType}::text, ${e.body}::text, ${e.committedAt}::timestamptz)`,
        );
      const result =
        await sql`WITH v (ord, event_id, event_type, body, committed_at) AS (VALUES ${sql.join(values)})
        INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, body, event_committed_at)
        SELECT 'msg_' || left(translate(encode(sha256(convert_to(e.id::text || ':' || v.event_id, 'UTF8')), 'base64'), '+/', '-_'), 27),
          e.id, v.event_id, v.event_type, v.body, v.committed_at
        FROM v JOIN webhook_endpoints e ON e.enabled AND EXISTS (
          SELECT 1 FROM jsonb_array_elements_text(e.event_types) AS f (filter)
          WHERE f.filter = '*' OR f.filter = v.event_type
            OR (right(f.filter, 2) = '.*' AND left(v.event_type, length(f.filter) - 1) = left(f.filter, -1)))
        ORDER BY v.ord
        ON CONFLICT (endpoint_id, event_id) DO NOTHING`.execute(this.db);
      inserted += Number(result.numAffectedRows ?? 0);
    }
    return inserted;
  }

  /**
   * Claims up to `limit` deliveries not yet on the queue (oldest first) for `leaseMs`: claimed rows
   * are skipped by other relays until the lease lapses, so a relay that dies mid-batch holds them
   * back only that long. SKIP LOCKED keeps two relays' claims apart without waiting.
   */
  async claimUnenqueued(limit: number, leaseMs: number): Promise<{ id: string; endpointId: string }[]> {
    const { rows } = await sql<Raw>`UPDATE webhook_deliveries
      SET relay_after = now() + make_interval(secs => ${leaseMs / 1000})
      WHERE seq IN (SELECT seq FROM webhook_deliveries WHERE NOT enqueued AND relay_after <= now()
        ORDER BY relay_after, seq LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING id, endpoint_id, seq`.execute(this.db);
    return rows
      .sort((a, b) => Number(a.seq) - Number(b.seq))
      .map((r) => ({ id: String(r.id), endpointId: String(r.endpoint_id) }));
  }

  async markEnqueued(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await sql`UPDATE webhook_deliveries SET enqueued = true WHERE id IN (${sql.join(ids)})`.execute(this.db);
  }

  /** Gives claimed rows back to be tried again after `delayMs` (their publish failed). */
  async releaseClaims(ids: readonly string[], delayMs: number): Promise<void> {
    if (ids.length === 0) return;
    await sql`UPDATE webhook_deliveries SET relay_after = now() + make_interval(secs => ${delayMs / 1000})
      WHERE id IN (${sql.join(ids)}) AND NOT enqueued`.execute(this.db);
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

  /**
   * Attempts logged and their deliveries moved on, for many deliveries in one statement (one
   * commit): the consumer's writes batched, since a commit each was what bounded delivery.
   */
  async recordAttempts(
    list: readonly { attempt: Omit<AttemptRow, 'at'>; status: DeliveryStatus }[],
  ): Promise<void> {
    if (list.length === 0) return;
    const values = list.map(
      ({ attempt: a, status }) =>
        sql`(${a.deliveryId}::text, ${a.attempt}::integer, ${a.ok}::boolean, ${a.statusCode}::integer,
          ${a.latencyMs}::integer, ${a.error}::text, ${a.responseSnippet}::text, ${status}::text)`,
    );
    await sql`WITH v (delivery_id, attempt, ok, status_code, latency_ms, error, response_snippet, status) AS (
        VALUES ${sql.join(values)}),
      logged AS (
        INSERT INTO webhook_attempts (delivery_id, attempt, ok, status_code, latency_ms, error, response_snippet)
        SELECT delivery_id, attempt, ok, status_code, latency_ms, error, response_snippet FROM v)
      UPDATE webhook_deliveries d SET attempts = v.attempt, status = v.status, last_attempt_at = now(),
        delivered_at = CASE WHEN v.status = 'delivered' THEN now() ELSE d.delivered_at END
      FROM v WHERE d.id = v.delivery_id`.execute(this.db);
  }

  /** Deliveries with their endpoints, in one query; a delivery or endpoint gone is left out. */
  async deliveriesWithEndpoints(
    ids: readonly string[],
  ): Promise<Map<string, { row: DeliveryRow; endpoint: Endpoint }>> {
    const found = new Map<string, { row: DeliveryRow; endpoint: Endpoint }>();
    if (ids.length === 0) return found;
    const { rows } = await sql<Raw>`SELECT d.*, row_to_json(e.*) AS endpoint FROM webhook_deliveries d
      JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id IN (${sql.join(ids)})`.execute(this.db);
    for (const r of rows)
      found.set(String(r.id), { row: toDelivery(r), endpoint: toEndpoint(r.endpoint as Raw) });
    return found;
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
