export * from './database.js';
export * from './open.js';
export * from './port.js';
export * from './rabbitmq.js';
