import { BitvError, ValidationError } from '@bitv/shared';
import { catalogProduct } from '@bitv/shared/events';
import type { Context } from 'hono';
import { z } from 'zod';
import { errorJson } from '../api/errors.js';
import { actorOf } from '../api/principal.js';
import { route } from '../api/route.js';
import type { Catalog } from './catalog.js';
import { preconditionStatus, VersionRequiredError } from './errors.js';
import { type Audited, createInput, patchInput, skuParam } from './product.js';

const readers = ['staff', 'operator', 'partner', 'admin'] as const;
const editors = ['operator', 'admin'] as const;

export const productView: z.ZodType<Audited> = catalogProduct.extend({
  version: z.number().int().nonnegative(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  updatedAt: z.string(),
  updatedBy: z.string().nullable(),
});

const listQuery = z
  .object({
    category: z.string().min(1).max(100).optional(),
    status: z.enum(['draft', 'active', 'archived']).optional(),
    q: z.string().max(200).optional(),
    cursor: z.string().min(1).max(400).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

const historyEntry = z.object({
  version: z.number().int(),
  type: z.string(),
  at: z.string(),
  actor: z.string(),
  changed: z.array(z.string()),
  product: catalogProduct,
});

const stockView = z.object({
  sku: z.string(),
  onHand: z.number().int(),
  reserved: z.number().int(),
  available: z.number().int(),
});

export const etagOf = (version: number) => `"${version}"`;

/** [RFC 9110 13.1.1] If-Match uses strong comparison, so only the ETag this API gave counts. */
export function expectedVersion(header: string | undefined): number {
  if (header === undefined || header.trim() === '') throw new VersionRequiredError();
  const match = /^\s*"(\d{1,9})"\s*$/.exec(header);
  if (!match)
    throw new ValidationError(`If-Match must be one ETag as this API sends it, like "3"; got ${header}`);
  return Number(match[1]);
}

/** 412 and 428 are the catalog's own answers; every other error goes to the API's handler. */
async function withPreconditions(c: Context, work: () => Promise<Audited>, status: 200 | 201 = 200) {
  try {
    const product = await work();
    c.header('ETag', etagOf(product.version));
    return c.json(product, status);
  } catch (error) {
    if (error instanceof BitvError && error.code in preconditionStatus) {
      const code = error.code as keyof typeof preconditionStatus;
      return c.json(errorJson(code, error.message, error.details), preconditionStatus[code]);
    }
    throw error;
  }
}

export function catalogRoutes(catalog: Catalog) {
  return [
    route({
      method: 'get',
      path: '/api/v1/products',
      summary: 'Products, a page at a time in SKU order; filter by category or status, search by words',
      tag: 'catalog',
      access: readers,
      query: listQuery,
      response: z.object({ products: z.array(productView), nextCursor: z.string().nullable() }),
      handler: ({ query }) => catalog.list(query),
    }),
    route({
      method: 'get',
      path: '/api/v1/products/:sku',
      summary: 'One product, with its version as the ETag',
      tag: 'catalog',
      access: readers,
      params: skuParam,
      response: productView,
      errors: { '404': 'no such product' },
      handler: async ({ params, c }) => {
        const product = await catalog.get(params.sku);
        c.header('ETag', etagOf(product.version));
        return product;
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/products',
      summary: 'Add a product (draft unless status active, which needs a price)',
      tag: 'catalog',
      access: editors,
      body: createInput,
      response: productView,
      status: 201,
      errors: { '409': 'a product with this SKU exists' },
      handler: async ({ body, principal, c }) =>
        withPreconditions(
          c,
          () => catalog.create(body, actorOf(principal)),
          201,
        ) as unknown as Promise<Audited>,
    }),
    route({
      method: 'patch',
      path: '/api/v1/products/:sku',
      summary: 'Change a product; If-Match with its ETag is required (428 without, 412 when stale)',
      tag: 'catalog',
      access: editors,
      params: skuParam,
      body: patchInput,
      response: productView,
      errors: { '404': 'no such product' },
      handler: async ({ params, body, principal, c }) =>
        withPreconditions(c, () =>
          catalog.update(params.sku, expectedVersion(c.req.header('If-Match')), body, actorOf(principal)),
        ) as unknown as Promise<Audited>,
    }),
    route({
      method: 'delete',
      path: '/api/v1/products/:sku',
      summary: 'Archive a product (never deleted); If-Match required',
      tag: 'catalog',
      access: editors,
      params: skuParam,
      response: productView,
      errors: { '404': 'no such product' },
      handler: async ({ params, principal, c }) =>
        withPreconditions(c, () =>
          catalog.archive(params.sku, expectedVersion(c.req.header('If-Match')), actorOf(principal)),
        ) as unknown as Promise<Audited>,
    }),
    route({
      method: 'get',
      path: '/api/v1/products/:sku/history',
      summary: "A product's changes, oldest first (its event stream)",
      tag: 'catalog',
      access: readers,
      params: skuParam,
      response: z.object({ sku: z.string(), events: z.array(historyEntry) }),
      errors: { '404': 'no such product' },
      handler: async ({ params }) => ({ sku: params.sku, events: await catalog.history(params.sku) }),
    }),
    route({
      method: 'get',
      path: '/api/v1/products/:sku/availability',
      summary: 'On hand minus reserved, from the cache (invalidated by stock and reservation changes)',
      tag: 'catalog',
      access: readers,
      params: skuParam,
      response: stockView,
      errors: { '404': 'no such product, or inventory is not mounted' },
      handler: ({ params }) => catalog.stock(params.sku),
    }),
  ];
}
