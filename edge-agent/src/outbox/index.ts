export * from './body.js';
export * from './commands.js';
export * from './outbox.js';
