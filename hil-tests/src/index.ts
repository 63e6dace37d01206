export { ShelfLinkClient, type ShelfLinkClientOptions } from './client.js';
