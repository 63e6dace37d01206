import type { Database } from '@bitv/shared/db';
import type { OrderLine } from '@bitv/shared/events';
import { sql } from 'kysely';
import type { OrderStatus } from './model.js';

export interface OrderSummary {
  orderId: string;
  siteId: string;
  customerId: string;
  status: OrderStatus;
  lines: OrderLine[];
  units: number;
  rejection: { code: string; reason: string; lineId?: string | null } | null;
  version: number;
  placedAt: string;
  updatedAt: string;
}

export interface TimelineEntry {
  version: number;
  type: string;
  data: Record<string, unknown>;
  at: string;
}

export interface SalesDay {
  day: string;
  siteId: string;
  orders: number;
  units: number;
}

interface ViewRow {
  order_id: string;
  site_id: string;
  customer_id: string;
  status: OrderStatus;
  lines: OrderLine[] | string;
  units: number;
  rejection: OrderSummary['rejection'] | string | null;
  version: number;
  placed_at: Date | string;
  updated_at: Date | string;
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
const iso = (v: Date | string) => new Date(v).toISOString();

function summary(r: ViewRow): OrderSummary {
  return {
    orderId: r.order_id,
    siteId: r.site_id,
    customerId: r.customer_id,
    status: r.status,
    lines: json(r.lines),
    units: r.units,
    rejection: r.rejection === null ? null : json(r.rejection),
    version: r.version,
    placedAt: iso(r.placed_at),
    updatedAt: iso(r.updated_at),
  };
}

/** Queries over the projections (`projections.ts`); they trail the event store by a moment. */
export class OrderReadModels {
  constructor(private readonly database: Database) {}

  async get(orderId: string): Promise<OrderSummary | undefined> {
    const { rows } = await sql<ViewRow>`SELECT * FROM order_view WHERE order_id = ${orderId}`.execute(
      this.database.kysely,
    );
    return rows[0] ? summary(rows[0]) : undefined;
  }

  async timeline(orderId: string): Promise<TimelineEntry[]> {
    const { rows } = await sql<{ version: number; type: string; data: unknown; recorded_at: Date | string }>`
      SELECT version, type, data, recorded_at FROM order_timeline WHERE order_id = ${orderId} ORDER BY version`.execute(
      this.database.kysely,
    );
    return rows.map((r) => ({
      version: r.version,
      type: r.type,
      data: json(r.data as Record<string, unknown>),
      at: iso(r.recorded_at),
    }));
  }

  /** Newest first; by customer, or by site (the sites a caller may see) and status. */
  async list(filter: {
    customerId?: string;
    siteIds?: readonly string[] | null;
    siteId?: string;
    status?: OrderStatus;
    limit?: number;
    before?: string;
  }): Promise<OrderSummary[]> {
    const limit = filter.limit ?? 50;
    const sites = filter.siteIds ?? null;
    const { rows } = await sql<ViewRow>`SELECT * FROM order_view
      WHERE (${filter.customerId ?? null}::text IS NULL OR customer_id = ${filter.customerId ?? null})
        AND (${filter.siteId ?? null}::text IS NULL OR site_id = ${filter.siteId ?? null})
        AND (${sites === null}::boolean OR site_id = ANY(${sites ?? []}::text[]))
        AND (${filter.status ?? null}::text IS NULL OR status = ${filter.status ?? null})
        AND (${filter.before ?? null}::timestamptz IS NULL OR placed_at < ${filter.before ?? null}::timestamptz)
      ORDER BY placed_at DESC, order_id LIMIT ${limit}`.execute(this.database.kysely);
    return rows.map(summary);
  }

  async sales(filter: {
    siteIds?: readonly string[] | null;
    from?: string;
    to?: string;
  }): Promise<SalesDay[]> {
    const sites = filter.siteIds ?? null;
    const { rows } = await sql<{ day: string; site_id: string; orders: number; units: number }>`
      SELECT to_char(day, 'YYYY-MM-DD') AS day, site_id, orders, units FROM order_sales_daily
      WHERE (${sites === null}::boolean OR site_id = ANY(${sites ?? []}::text[]))
        AND (${filter.from ?? null}::date IS NULL OR day >= ${filter.from ?? null}::date)
        AND (${filter.to ?? null}::date IS NULL OR day <= ${filter.to ?? null}::date)
      ORDER BY day DESC, site_id LIMIT 1000`.execute(this.database.kysely);
    return rows.map((r) => ({
      day: r.day,
      siteId: r.site_id,
      orders: r.orders,
      units: r.units,
    }));
  }
}
