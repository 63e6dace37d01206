import { serverAvailable } from '@bitv/shared/testing';
import { describe } from 'vitest';
import { describeCatalog } from './catalog-suite.js';

const available = await serverAvailable('postgres');

describe.skipIf(!available)('postgres', () => describeCatalog('postgres'));
