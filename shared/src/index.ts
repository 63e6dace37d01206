export * from './config/index.js';
export * from './errors/index.js';
export * from './log/index.js';
export * from './metrics/index.js';
export * from './ops/index.js';
export * from './retry/index.js';
