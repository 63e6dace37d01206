import { ValidationError } from '@bitv/shared';
import type { ColumnType, Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Audited, CatalogProduct, ProductStatus } from './product.js';

/** The columns of `products` the catalog reads and writes (the cloud's migration made the rest). */
export interface CatalogTables {
  products: {
    sku: string;
    name: string;
    unit_weight_g: number;
    tolerance_g: number;
    description: string;
    category: string | null;
    status: ProductStatus;
    // pg returns bigint as text; written as numbers
    price_minor: ColumnType<string | number | null, number | null, number | null>;
    currency: string | null;
    attributes: ColumnType<Record<string, unknown>, string, string>;
    created_at: ColumnType<Date, Date | undefined, never>;
    created_by: string | null;
    updated_at: ColumnType<Date, Date | undefined, Date>;
    updated_by: string | null;
    version: number;
  };
  catalog_read_counts: { sku: string; reads: ColumnType<string | number, number, number> };
}

export type CatalogDb = Kysely<CatalogTables>;
type Row = Selectable<CatalogTables['products']>;

export function toProduct(r: Row): Audited {
  return {
    sku: r.sku,
    name: r.name,
    description: r.description,
    category: r.category,
    status: r.status,
    priceMinor: r.price_minor === null ? null : Number(r.price_minor),
    currency: r.currency,
    unitWeightG: r.unit_weight_g,
    toleranceG: r.tolerance_g,
    attributes: r.attributes as CatalogProduct['attributes'],
    version: r.version,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    updatedAt: r.updated_at.toISOString(),
    updatedBy: r.updated_by,
  };
}

export async function findProduct(
  db: CatalogDb,
  sku: string,
  forUpdate = false,
): Promise<Audited | undefined> {
  let q = db.selectFrom('products').selectAll().where('sku', '=', sku);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toProduct(row) : undefined;
}

export interface ListQuery {
  category?: string;
  /** Absent: every status but archived. */
  status?: ProductStatus;
  /** Words matched against SKU, name and description, case-insensitively. */
  q?: string;
  cursor?: string;
  limit: number;
}

const cursorSchema = z.object({ after: z.string().min(1).max(64) });

/** Cursors are opaque to clients: the last SKU of the page, so a page never repeats or skips. */
export function encodeCursor(sku: string): string {
  return Buffer.from(JSON.stringify({ after: sku })).toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))).after;
  } catch {
    throw new ValidationError('invalid cursor: pass back the nextCursor of the previous page unchanged');
  }
}

/** `%`, `_` and `\` are ILIKE's own syntax: a shopper searching for "50%" means the characters. */
function likePattern(word: string): string {
  return `%${word.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

/**
 * One page in SKU order. Text search is ILIKE per word (every word must match), which runs the
 * same on PGlite and PostgreSQL without extensions; at catalog sizes a sequential scan of one
 * table is fine, and `pg_trgm` can index it later without changing the API.
 */
export async function listProducts(
  db: CatalogDb,
  query: ListQuery,
): Promise<{ products: Audited[]; nextCursor: string | null }> {
  let q = db
    .selectFrom('products')
    .selectAll()
    .orderBy('sku')
    .limit(query.limit + 1);
  q = query.status ? q.where('status', '=', query.status) : q.where('status', '<>', 'archived');
  if (query.category) q = q.where('category', '=', query.category);
  if (query.cursor) q = q.where('sku', '>', decodeCursor(query.cursor));
  const words = (query.q ?? '').split(/\s+/).filter(Boolean).slice(0, 8);
  for (const word of words) {
    const pattern = likePattern(word);
    q = q.where(sql<boolean>`(sku || ' ' || name || ' ' || description) ILIKE ${pattern} ESCAPE '\\'`);
  }
  const rows = await q.execute();
  const page = rows.slice(0, query.limit).map(toProduct);
  const last = page.at(-1);
  return { products: page, nextCursor: rows.length > query.limit && last ? encodeCursor(last.sku) : null };
}

export async function categories(db: CatalogDb): Promise<string[]> {
  const rows = await db
    .selectFrom('products')
    .select('category')
    .distinct()
    .where('category', 'is not', null)
    .orderBy('category')
    .execute();
  return rows.map((r) => r.category).filter((c): c is string => c !== null);
}
