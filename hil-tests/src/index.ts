export { ShelfLinkClient, type ShelfLinkClientOptions } from './client.js';
export { hilConfig } from './config.js';
export { type HilTarget, hilTarget } from './target.js';
