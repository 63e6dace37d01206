export type { CacheOperation } from './metrics.js';
export { type CacheOptions, cacheDefaults, openCache } from './open.js';
export type * from './port.js';
