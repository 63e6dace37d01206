export * from './births.js';
export * from './commands.js';
export * from './names.js';
export * from './payload.js';
export * from './readings.js';
export * from './sequence.js';
export * from './state.js';
export * from './topics.js';
