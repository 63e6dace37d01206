/**
 * The thread that owns PGlite, and the messages between it and `PgliteThread`.
 *
 * The source is text run with `new Worker(source, { eval: true })`, not a file of its own: the
 * production bundles (gateway/scripts/build.ts) inline our code and keep PGlite in `node_modules`,
 * so a worker file next to this one would not exist beside a bundle. The main thread resolves
 * PGlite's URL (`import.meta.resolve`, which works from the source and from a bundle alike) and
 * passes it in `workerData` with the data folder. An eval worker is a CommonJS script, so it
 * imports in an async function rather than at top level.
 */

export interface WorkerStart {
  pgliteUrl: string;
  dataDir: string | undefined;
}

export type Request =
  | { kind: 'query'; id: number; sql: string; params: readonly unknown[] }
  | { kind: 'close'; id: number };

/** Id 0 answers the start: `result` once PGlite is ready, `error` if it could not open. */
export type Reply = { id: number; result: unknown } | { id: number; error: WireError };

/** What survives of a thrown error: PGlite's `DatabaseError` fields, which callers test (`code`). */
export interface WireError {
  message: string;
  name: string;
  fields: Partial<Record<(typeof databaseErrorFields)[number], string>>;
}

/** The fields of PostgreSQL's ErrorResponse that PGlite's `DatabaseError` carries. */
export const databaseErrorFields = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

export const workerSource = `
'use strict';
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  const fields = ${JSON.stringify(databaseErrorFields)};
  const wire = (error) => {
    if (!(error instanceof Error)) return { message: String(error), name: 'Error', fields: {} };
    const own = {};
    for (const f of fields) if (typeof error[f] === 'string') own[f] = error[f];
    return { message: error.message, name: error.name, fields: own };
  };
  const answer = (id, result) => {
    try {
      parentPort.postMessage({ id, result });
    } catch (error) {
      // a value structured clone cannot copy must fail its own query, not leave it waiting
      parentPort.postMessage({ id, error: wire(error) });
    }
  };
  const fail = (id, error) => parentPort.postMessage({ id, error: wire(error) });

  let db;
  try {
    const { PGlite } = await import(workerData.pgliteUrl);
    db = workerData.dataDir === undefined ? await PGlite.create() : await PGlite.create(workerData.dataDir);
  } catch (error) {
    fail(0, error);
    return;
  }
  // PGlite runs its queries one at a time itself, in the order they arrive.
  parentPort.on('message', (m) => {
    if (m.kind === 'query') {
      db.query(m.sql, m.params).then(
        (r) => answer(m.id, { rows: r.rows, affectedRows: r.affectedRows, fields: r.fields }),
        (error) => fail(m.id, error),
      );
    } else if (m.kind === 'close') {
      db.close().then(() => answer(m.id, null), (error) => fail(m.id, error));
    }
  });
  answer(0, null);
})();
`;
