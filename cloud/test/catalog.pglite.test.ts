import { describeCatalog } from './catalog-suite.js';

describeCatalog('pglite');
