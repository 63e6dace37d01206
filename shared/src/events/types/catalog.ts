import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

const sku = z.string().min(1).max(64);
const actor = z.string().min(1).max(200);

/** A product as the catalog holds it after the change (every event carries the whole state). */
export const catalogProduct = z.object({
  sku,
  name: z.string().min(1).max(200),
  description: z.string().max(5_000),
  category: z.string().max(100).nullable(),
  status: z.enum(['draft', 'active', 'archived']),
  /** Integer minor units (cents) of `currency`; both null when the product has no price yet. */
  priceMinor: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .nullable(),
  unitWeightG: z.number().positive(),
  toleranceG: z.number().positive(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  /** The product stream's version after this change (the ETag). */
  version: z.number().int().positive(),
});

const change = z.object({
  product: catalogProduct,
  /** The fields this change set (all of them on creation). */
  changed: z.array(z.string().max(50)).max(20),
  actor,
});

export const productCreatedV1 = defineEvent({
  type: 'bv.catalog.product-created.v1',
  topic: topics.catalog,
  description: 'A product entered the catalog (draft or active)',
  schema: change,
});

export const productUpdatedV1 = defineEvent({
  type: 'bv.catalog.product-updated.v1',
  topic: topics.catalog,
  description: 'A product changed: name, price, description, category, status, attributes or weights',
  schema: change,
});

export const productArchivedV1 = defineEvent({
  type: 'bv.catalog.product-archived.v1',
  topic: topics.catalog,
  description: 'A product was archived (the catalog never deletes: orders and history still name it)',
  schema: change,
});

export type CatalogProductEvent = z.infer<typeof change>;

export const catalogEvents = [productCreatedV1, productUpdatedV1, productArchivedV1] as const;
