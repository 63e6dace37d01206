import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';

/**
 * In-process wake-ups between the store and its followers (outbox relay, projection runner) that
 * share one database handle: a commit that wrote outbox rows or events calls them at once, so they
 * need not poll fast. Keyed by the Kysely instance, so code that holds only the Kysely handle (a
 * module's own tables over the same database) reaches the same followers. Other processes are
 * reached by NOTIFY on PostgreSQL (listen.ts) and, as a fallback, by polling.
 */
export type NudgeKind = 'outbox' | 'events';

type Handle = Database | Kysely<unknown>;

const listeners = new WeakMap<object, Map<NudgeKind, Set<() => void>>>();

const keyOf = (handle: Handle): object => ('kysely' in handle ? handle.kysely : handle);

export function onNudge(handle: Handle, kind: NudgeKind, listener: () => void): () => void {
  const key = keyOf(handle);
  let kinds = listeners.get(key);
  if (!kinds) {
    kinds = new Map();
    listeners.set(key, kinds);
  }
  let set = kinds.get(kind);
  if (!set) {
    set = new Set();
    kinds.set(kind, set);
  }
  set.add(listener);
  return () => set.delete(listener);
}

export function nudge(handle: Handle, kind: NudgeKind): void {
  for (const listener of listeners.get(keyOf(handle))?.get(kind) ?? []) listener();
}
