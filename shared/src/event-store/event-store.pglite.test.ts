import { afterAll } from 'vitest';
import { describeEventStoreContract } from './contract.js';
import { describeOutboxContract } from './contract-outbox.js';
import { describeProjectionContract } from './contract-projections.js';
import { pgliteTarget } from './testing-targets.js';

// The embedded default: PGlite in memory, one connection, so its transactions never overlap.
const target = pgliteTarget();
afterAll(() => target.closeAll());

describeEventStoreContract('PGlite', target);
describeProjectionContract('PGlite', target);
describeOutboxContract('PGlite', target);
