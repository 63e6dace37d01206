import type { Audited, CreateInput } from './product.js';

/** What the catalog offers other modules (orders price their lines with it). */
export interface CatalogApi {
  /** A product through the cache; NotFoundError when there is none. */
  getProduct(sku: string): Promise<Audited>;
  /** Creates a product as the API does (its `created` event, version 1); 409 if it exists. */
  createProduct(input: CreateInput, actor: string): Promise<Audited>;
}

declare module '../module.js' {
  interface ModuleApis {
    catalog: CatalogApi;
  }
}
