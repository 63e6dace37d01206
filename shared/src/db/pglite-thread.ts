import { Worker } from 'node:worker_threads';
import type { PGliteInterface, Results } from '@electric-sql/pglite';
import { errorText } from '../config/redact.js';
import {
  databaseErrorFields,
  type Reply,
  type Request,
  type WireError,
  type WorkerStart,
  workerSource,
} from './pglite-worker.js';

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * PGlite on a worker thread. PGlite is Postgres compiled to WebAssembly: run in process, each
 * statement holds the event loop while it runs, and every socket and timer waits (chat fan-out
 * benchmark: event-loop delay p99 / max 15 / 40 ms in process, 9 / 20 ms on the thread).
 * This client has the part of PGlite's interface the Kysely dialect uses (`query`, `close`,
 * `closed`) and sends each query to a worker that owns the database. Values cross by structured
 * clone, which keeps what PGlite returns (Date, Uint8Array for bytea, bigint, json objects).
 *
 * The worker holds the process open only while a query is in flight: in process, PGlite held
 * nothing, so a command that never closes its database still exits, as it did.
 */
export class PgliteThread implements Pick<PGliteInterface, 'query' | 'close' | 'closed'> {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closing: Promise<void> | undefined;
  /** Set once the worker is gone (crashed, or ended by `close`); every later query gets it. */
  #gone: Error | undefined;

  static async create(dataDir?: string): Promise<PgliteThread> {
    const client = new PgliteThread(dataDir);
    await client.#request(0);
    return client;
  }

  private constructor(dataDir: string | undefined) {
    const start: WorkerStart = { pgliteUrl: import.meta.resolve('@electric-sql/pglite'), dataDir };
    this.#worker = new Worker(workerSource, { eval: true, workerData: start });
    this.#worker.on('message', (reply: Reply) => this.#settle(reply));
    this.#worker.on('error', (error) => {
      this.#end(new Error(`PGlite worker failed: ${errorText(error)}`, { cause: error }));
    });
    this.#worker.on('exit', (code) => {
      this.#end(
        new Error(this.#closing ? 'PGlite database is closed' : `PGlite worker exited (code ${code})`),
      );
    });
    this.#worker.on('messageerror', (error) => {
      // A reply that cannot be read belongs to a query we can no longer name: end them all
      // rather than leave one waiting forever.
      this.#end(new Error(`PGlite worker sent an unreadable reply: ${errorText(error)}`, { cause: error }));
      void this.#worker.terminate();
    });
  }

  get closed(): boolean {
    return this.#closing !== undefined || this.#gone !== undefined;
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<Results<T>> {
    if (this.#closing) throw new Error('PGlite database is closed');
    return (await this.#request({ kind: 'query', sql, params: params.map(ownBuffer) })) as Results<T>;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    if (this.#gone) return;
    try {
      await this.#request({ kind: 'close' });
    } finally {
      await this.#worker.terminate();
    }
  }

  /** Id 0 is the start, which the worker answers unasked. */
  #request(message: DistributiveOmit<Request, 'id'> | 0): Promise<unknown> {
    if (this.#gone) return Promise.reject(new Error(this.#gone.message, { cause: this.#gone }));
    const id = message === 0 ? 0 : this.#nextId++;
    const answer = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    if (message !== 0) {
      try {
        this.#worker.postMessage({ ...message, id });
      } catch (error) {
        // DataCloneError: a parameter structured clone cannot copy (a function, a class instance
        // with private state). Nothing was sent.
        this.#pending.delete(id);
        throw new Error(`PGlite query parameters cannot be sent to the database thread: ${String(error)}`, {
          cause: error,
        });
      }
    }
    if (this.#pending.size === 1) this.#worker.ref();
    return answer;
  }

  #settle(reply: Reply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if ('error' in reply) pending.reject(databaseError(reply.error));
    else pending.resolve(reply.result);
  }

  #end(reason: Error): void {
    this.#gone ??= reason;
    for (const pending of this.#pending.values()) pending.reject(reason);
    this.#pending.clear();
  }
}

/** The worker's error again, with the fields callers test (`code` '23505', `constraint`). */
function databaseError(wire: WireError): Error {
  const error = new Error(wire.message);
  error.name = wire.name;
  for (const field of databaseErrorFields) {
    const value = wire.fields[field];
    if (value !== undefined) Object.assign(error, { [field]: value });
  }
  return error;
}

/**
 * Structured clone copies a typed array's whole ArrayBuffer. A small Buffer is a view into
 * Node's shared 8 KB pool, so it is copied on its own first.
 */
function ownBuffer(value: unknown): unknown {
  if (!(value instanceof Uint8Array) || value.byteLength === value.buffer.byteLength) return value;
  return new Uint8Array(value);
}
