export * from './kafka.js';
export * from './servers.js';
export * from './temp.js';
