import { serverAvailable } from '@bitv/shared/testing';
import { describe } from 'vitest';
import { coreSuite } from './suites/core.js';

describe.skipIf(!(await serverAvailable('postgres')))('cloud core on PostgreSQL', () =>
  coreSuite('postgres'),
);
