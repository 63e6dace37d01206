import { ValidationError } from '@bitv/shared';
import type { CatalogProductEvent, catalogProduct } from '@bitv/shared/events';
import { z } from 'zod';

/** A product as the API shows it: the event's shape plus its audit fields. */
export type CatalogProduct = z.infer<typeof catalogProduct>;
export type ProductStatus = CatalogProduct['status'];

export interface Audited extends CatalogProduct {
  createdAt: string;
  createdBy: string | null;
  updatedAt: string;
  updatedBy: string | null;
}

const sku = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'letters, digits, dot, dash and underscore, starting with a letter or digit',
  );

/** ISO 4217 codes this runtime knows (Node's ICU list), not just any three capitals. */
const knownCurrencies: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'an ISO 4217 code in capitals, e.g. EUR')
  .refine((c) => knownCurrencies.has(c), 'not an ISO 4217 currency code');

export const price = z
  .object({
    /** Integer minor units (cents): no floating-point money. */
    amountMinor: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    currency,
  })
  .strict();

const attributeValue = z.union([z.string().max(500), z.number().finite(), z.boolean(), z.null()]);
const attributes = z
  .record(z.string().min(1).max(64), attributeValue)
  .refine((a) => Object.keys(a).length <= 50, 'at most 50 attributes');

const editable = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5_000),
  category: z.string().trim().min(1).max(100).nullable(),
  price: price.nullable(),
  unitWeightG: z.number().positive().max(1_000_000),
  toleranceG: z.number().positive().max(100_000),
  attributes,
};

export const createInput = z
  .object({
    sku,
    ...editable,
    description: editable.description.default(''),
    category: editable.category.default(null),
    price: editable.price.default(null),
    attributes: attributes.default({}),
    status: z.enum(['draft', 'active']).default('draft'),
  })
  .strict();
export type CreateInput = z.infer<typeof createInput>;

/** Archiving is `DELETE`; a patch may move a product between draft and active, or restore it. */
export const patchInput = z
  .object({
    name: editable.name,
    description: editable.description,
    category: editable.category,
    price: editable.price,
    unitWeightG: editable.unitWeightG,
    toleranceG: editable.toleranceG,
    attributes: editable.attributes,
    status: z.enum(['draft', 'active']),
  })
  .partial()
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'nothing to change: give at least one field');
export type PatchInput = z.infer<typeof patchInput>;

export const skuParam = z.object({ sku });

export function fromCreate(input: CreateInput): Omit<CatalogProduct, 'version'> {
  return {
    sku: input.sku,
    name: input.name,
    description: input.description,
    category: input.category,
    status: input.status,
    priceMinor: input.price?.amountMinor ?? null,
    currency: input.price?.currency ?? null,
    unitWeightG: input.unitWeightG,
    toleranceG: input.toleranceG,
    attributes: input.attributes,
  };
}

/**
 * The product after a patch, and the fields that really changed (none: the write is a no-op and
 * makes no event). An active product must have a price: a shop cannot sell what has none.
 */
export function applyPatch(
  current: CatalogProduct,
  patch: PatchInput,
): { next: Omit<CatalogProduct, 'version'>; changed: string[] } {
  const { version: _, ...base } = current;
  const next = { ...base };
  if (patch.name !== undefined) next.name = patch.name;
  if (patch.description !== undefined) next.description = patch.description;
  if (patch.category !== undefined) next.category = patch.category;
  if (patch.price !== undefined) {
    next.priceMinor = patch.price?.amountMinor ?? null;
    next.currency = patch.price?.currency ?? null;
  }
  if (patch.unitWeightG !== undefined) next.unitWeightG = patch.unitWeightG;
  if (patch.toleranceG !== undefined) next.toleranceG = patch.toleranceG;
  if (patch.attributes !== undefined) next.attributes = patch.attributes;
  if (patch.status !== undefined) next.status = patch.status;
  const changed = (Object.keys(next) as (keyof typeof next)[]).filter(
    (k) => JSON.stringify(next[k]) !== JSON.stringify(base[k]),
  );
  checkSellable(next);
  return { next, changed };
}

export function checkSellable(p: Pick<CatalogProduct, 'status' | 'priceMinor' | 'sku'>): void {
  if (p.status === 'active' && p.priceMinor === null)
    throw new ValidationError(`product ${p.sku} cannot be active without a price`);
}

/** The shape of `catalogProduct`'s change events, for the event store and the outbox alike. */
export function changeOf(product: CatalogProduct, changed: string[], actor: string): CatalogProductEvent {
  return { product, changed, actor };
}
