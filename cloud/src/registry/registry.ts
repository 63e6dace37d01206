import { ConflictError, NotFoundError, ValidationError } from '@bitv/shared';
import { sql } from 'kysely';
import type { CloudDb } from '../db/index.js';
import { isoOrNull } from '../db/time.js';

export interface Site {
  id: string;
  name: string;
}
export interface Aisle {
  id: string;
  siteId: string;
  name: string;
  position: number;
}
export interface Gateway {
  id: string;
  siteId: string;
  aisleId: string | null;
  name: string;
  status: 'unclaimed' | 'provisioned' | 'decommissioned';
  online: boolean;
  hostname: string | null;
  agentVersion: string | null;
  queueDepth: number | null;
  oldestUnsentMs: number | null;
  /** Device links (serial ports) the agent cannot open: > 0 means the gateway is degraded. */
  linksDown: number | null;
  /** Why, one `<link>: <reason>` per link. */
  linkError: string | null;
  lastBirthAt: string | null;
  lastSeenAt: string | null;
}
export interface Shelf {
  id: string;
  gatewayId: string;
  deviceId: string;
  siteId: string;
  aisleId: string | null;
  serialNumber: string;
  firmware: string | null;
  binCount: number;
  position: number;
  online: boolean;
  lastSeenAt: string | null;
}

export function deviceIdOf(serialNumber: string): string {
  return `shelf-${serialNumber}`;
}

type GatewayRow = {
  id: string;
  site_id: string;
  aisle_id: string | null;
  name: string;
  status: Gateway['status'];
  online: boolean;
  hostname: string | null;
  agent_version: string | null;
  queue_depth: number | null;
  oldest_unsent_ms: number | null;
  links_down: number | null;
  link_error: string | null;
  last_birth_at: Date | null;
  last_seen_at: Date | null;
};

export const toGateway = (r: GatewayRow): Gateway => ({
  id: r.id,
  siteId: r.site_id,
  aisleId: r.aisle_id,
  name: r.name,
  status: r.status,
  online: r.online,
  hostname: r.hostname,
  agentVersion: r.agent_version,
  queueDepth: r.queue_depth,
  oldestUnsentMs: r.oldest_unsent_ms === null ? null : Number(r.oldest_unsent_ms),
  linksDown: r.links_down,
  linkError: r.link_error || null,
  lastBirthAt: isoOrNull(r.last_birth_at),
  lastSeenAt: isoOrNull(r.last_seen_at),
});

type ShelfRow = {
  id: string;
  gateway_id: string;
  device_id: string;
  site_id: string;
  aisle_id: string | null;
  serial_number: string;
  firmware: string | null;
  bin_count: number;
  position: number;
  online: boolean;
  last_seen_at: Date | null;
};

export const toShelf = (r: ShelfRow): Shelf => ({
  id: r.id,
  gatewayId: r.gateway_id,
  deviceId: r.device_id,
  siteId: r.site_id,
  aisleId: r.aisle_id,
  serialNumber: r.serial_number,
  firmware: r.firmware,
  binCount: r.bin_count,
  position: r.position,
  online: r.online,
  lastSeenAt: isoOrNull(r.last_seen_at),
});

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

/** The physical layout: sites (warehouses), aisles, gateways, shelf controllers and their bins. */
export class Registry {
  constructor(private readonly db: CloudDb) {}

  async createSite(site: Site): Promise<Site> {
    const row = await this.db
      .insertInto('sites')
      .values(site)
      .onConflict((oc) => oc.column('id').doNothing())
      .returning(['id', 'name'])
      .executeTakeFirst();
    if (!row) throw new ConflictError(`site ${site.id} exists`);
    return row;
  }

  async listSites(): Promise<Site[]> {
    return this.db.selectFrom('sites').select(['id', 'name']).orderBy('id').execute();
  }

  async getSite(id: string): Promise<Site> {
    const row = await this.db
      .selectFrom('sites')
      .select(['id', 'name'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new NotFoundError(`site ${id} not found`);
    return row;
  }

  async createAisle(aisle: Aisle): Promise<Aisle> {
    await this.getSite(aisle.siteId);
    try {
      await this.db
        .insertInto('aisles')
        .values({ id: aisle.id, site_id: aisle.siteId, name: aisle.name, position: aisle.position })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`aisle ${aisle.id} exists`);
      throw error;
    }
    return aisle;
  }

  async listAisles(siteId: string): Promise<Aisle[]> {
    const rows = await this.db
      .selectFrom('aisles')
      .selectAll()
      .where('site_id', '=', siteId)
      .orderBy('position')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ id: r.id, siteId: r.site_id, name: r.name, position: r.position }));
  }

  private async checkAisle(siteId: string, aisleId: string | null | undefined): Promise<void> {
    if (!aisleId) return;
    const row = await this.db
      .selectFrom('aisles')
      .select('site_id')
      .where('id', '=', aisleId)
      .executeTakeFirst();
    if (!row || row.site_id !== siteId)
      throw new ValidationError(`aisle ${aisleId} is not in site ${siteId}`);
  }

  /** Registers a gateway before it is claimed (its claim token can then name it). */
  async createGateway(input: {
    id: string;
    siteId: string;
    aisleId?: string | null;
    name?: string;
  }): Promise<Gateway> {
    await this.getSite(input.siteId);
    await this.checkAisle(input.siteId, input.aisleId);
    const row = await this.db
      .insertInto('gateways')
      .values({
        id: input.id,
        site_id: input.siteId,
        aisle_id: input.aisleId ?? null,
        name: input.name ?? input.id,
        status: 'unclaimed',
        online: false,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new ConflictError(`gateway ${input.id} exists`);
    return toGateway(row);
  }

  async getGateway(id: string): Promise<Gateway> {
    const row = await this.db.selectFrom('gateways').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError(`gateway ${id} not found`);
    return toGateway(row);
  }

  async listGateways(siteId?: string): Promise<Gateway[]> {
    let q = this.db.selectFrom('gateways').selectAll().orderBy('site_id').orderBy('id');
    if (siteId) q = q.where('site_id', '=', siteId);
    return (await q.execute()).map(toGateway);
  }

  /** Registers a shelf controller under a gateway and creates its bins (numbered 0..binCount-1). */
  async createShelf(input: {
    gatewayId: string;
    serialNumber: string;
    binCount: number;
    aisleId?: string | null;
    position?: number;
    firmware?: string | null;
  }): Promise<Shelf> {
    const gateway = await this.getGateway(input.gatewayId);
    const aisleId = input.aisleId ?? gateway.aisleId;
    await this.checkAisle(gateway.siteId, aisleId);
    const id = deviceIdOf(input.serialNumber);
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('shelves')
        .values({
          id,
          gateway_id: gateway.id,
          device_id: id,
          site_id: gateway.siteId,
          aisle_id: aisleId,
          serial_number: input.serialNumber,
          firmware: input.firmware ?? null,
          bin_count: input.binCount,
          position: input.position ?? 0,
          online: false,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new ConflictError(`shelf ${id} exists`);
      await insertBins(trx, id, 0, input.binCount);
      return toShelf(row);
    });
  }

  async getShelf(id: string): Promise<Shelf> {
    const row = await this.db.selectFrom('shelves').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError(`shelf ${id} not found`);
    return toShelf(row);
  }

  async listShelves(filter: { siteId?: string; gatewayId?: string }): Promise<Shelf[]> {
    let q = this.db.selectFrom('shelves').selectAll().orderBy('aisle_id').orderBy('position').orderBy('id');
    if (filter.siteId) q = q.where('site_id', '=', filter.siteId);
    if (filter.gatewayId) q = q.where('gateway_id', '=', filter.gatewayId);
    return (await q.execute()).map(toShelf);
  }
}

/** Adds bins `from..to-1` to a shelf (a shelf that reports more bins than registered grows). */
export async function insertBins(trx: CloudDb, shelfId: string, from: number, to: number): Promise<void> {
  if (to <= from) return;
  const values = [];
  for (let bin = from; bin < to; bin++) {
    values.push({ shelf_id: shelfId, bin, tare_g: 0, count: 0, confidence: 1, updated_at: sql<Date>`now()` });
  }
  await trx
    .insertInto('bins')
    .values(values)
    .onConflict((oc) => oc.columns(['shelf_id', 'bin']).doNothing())
    .execute();
}
