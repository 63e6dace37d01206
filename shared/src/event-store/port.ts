import type { Kysely, Transaction } from 'kysely';
import type { ConcurrencyError } from '../errors/index.js';
import type { BvEvent } from '../events/envelope.js';

/**
 * The event-store port: streams of domain events per aggregate (an order, a payment, a pick
 * list), appended with optimistic concurrency, read back per stream or in one global order.
 * One implementation over the SQL port (PGlite embedded, PostgreSQL in production), so both
 * pass the same contract suite (`event-store/contract.ts`).
 *
 * Guarantees:
 * - `append` checks the stream's version first: a mismatch is a `ConcurrencyError` (409 at the
 *   API) and nothing is written. `appendMany` writes several streams in one transaction, all or
 *   nothing.
 * - Every event gets a global `position`. A reader of `readAll` never sees a gap that is later
 *   filled: an event appears only once every event with a smaller position is visible.
 * - Events are stored with their type's schema version; reading runs them through the registered
 *   upcasters, so callers see only the newest shape.
 * - Whatever a transaction (`transaction`) writes besides events (read-model rows, outbox
 *   entries, a projection's checkpoint) commits or rolls back with them.
 */
export interface EventStore {
  append(streamId: string, expected: ExpectedVersion, events: readonly NewEvent[]): Promise<AppendResult>;
  appendMany(requests: readonly AppendRequest[]): Promise<AppendResult[]>;
  readStream(streamId: string, options?: { fromVersion?: number }): Promise<StoredEvent[]>;
  /** Events after `after` (exclusive; `0n` from the start) in global order, at most `limit`. */
  readAll(options: { after: bigint; limit: number; types?: readonly string[] }): Promise<StoredEvent[]>;
  /** The newest visible global position (`0n` when empty). */
  head(): Promise<bigint>;
  /**
   * Runs `work` in one SQL transaction: its appends, the rows it writes through `tx.sql` and the
   * outbox entries it adds are committed together or not at all.
   */
  transaction<T>(work: (tx: EventStoreTransaction) => Promise<T>): Promise<T>;
  /** The latest snapshot of a stream whose `schemaVersion` matches; a stale one is discarded. */
  loadSnapshot<S>(streamId: string, schemaVersion: number): Promise<Snapshot<S> | undefined>;
  saveSnapshot<S>(snapshot: Snapshot<S>): Promise<void>;
}

export interface EventStoreTransaction {
  append(streamId: string, expected: ExpectedVersion, events: readonly NewEvent[]): Promise<AppendResult>;
  /**
   * Appends to several distinct streams in one statement (a group commit), each checked against
   * its own expected version: a request whose stream moved writes nothing and gets its
   * `ConcurrencyError` back in its slot while the others are written. Positions follow the order
   * of `requests`.
   */
  appendEach(requests: readonly AppendRequest[]): Promise<(AppendResult | ConcurrencyError)[]>;
  readStream(streamId: string, options?: { fromVersion?: number }): Promise<StoredEvent[]>;
  /** `EventStore.readAll` inside the transaction (a projection runner reads and applies in one). */
  readAll(options: { after: bigint; limit: number; types?: readonly string[] }): Promise<StoredEvent[]>;
  /** The transaction itself, for read-model rows written atomically with the events. */
  sql: Transaction<unknown> | Kysely<unknown>;
  /** Queues CloudEvents for the event log; the outbox relay publishes them after commit. */
  publish(topic: string, events: BvEvent | readonly BvEvent[]): Promise<void>;
}

/** A stream's current version before the append: a number, or a rule. */
export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

export interface NewEvent<T = unknown> {
  type: string;
  data: T;
  /** Who or what caused it: actor, correlation and causation ids, idempotency key. */
  metadata?: Record<string, unknown>;
  /** A unique id (UUID); generated when absent. */
  id?: string;
}

export interface StoredEvent<T = unknown> {
  id: string;
  streamId: string;
  /** 1-based position in its stream. */
  version: number;
  /** Position in the global order. */
  position: bigint;
  type: string;
  /** The schema version it was written with (before upcasting). */
  schemaVersion: number;
  data: T;
  metadata: Record<string, unknown>;
  recordedAt: Date;
}

export interface AppendRequest {
  streamId: string;
  expected: ExpectedVersion;
  events: readonly NewEvent[];
}

export interface AppendResult {
  streamId: string;
  /** The stream's version after the append. */
  version: number;
  /** Global position of the last event appended. */
  position: bigint;
}

export interface Snapshot<S> {
  streamId: string;
  /** The stream version the state was folded up to. */
  version: number;
  schemaVersion: number;
  state: S;
}
