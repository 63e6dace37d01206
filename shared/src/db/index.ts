export * from './database.js';
export { GroupCommit } from './group-commit.js';
export * from './migrate.js';
