import { describe } from 'vitest';
import { coreSuite } from './suites/core.js';

describe('cloud core on PGlite', () => coreSuite('pglite'));
