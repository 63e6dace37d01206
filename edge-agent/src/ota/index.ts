export { defaultFetchOptions, type FetchOptions, fetchRelease, type Release } from './release.js';
export {
  defaultShelfUpdateOptions,
  type ShelfOtaLink,
  type ShelfUpdateOptions,
  type ShelfUpdateResult,
  updateShelf,
} from './shelf-update.js';
export { type ShelfFirmwareRunner, shelfFirmwareRunner } from './updater.js';
