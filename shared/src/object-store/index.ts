export { type CopyProgress, copyObjects } from './copy.js';
export { type ObjectStoreConfig, objectStoreConfigFromEnv, openObjectStore } from './create.js';
export { folderObjectStore } from './folder.js';
export { checkKey } from './key.js';
export type * from './port.js';
export { defaultS3Options, parseListPage, type S3Options, s3ObjectStore } from './s3.js';
export { objectStoreFromUrl } from './url.js';
