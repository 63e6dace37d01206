export * from './servers.js';
export * from './temp.js';
