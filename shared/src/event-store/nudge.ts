import type { Database } from '../db/index.js';

/**
 * In-process wake-ups between the store and its followers (outbox relay, projection runner) that
 * share a `Database` handle: a commit that wrote outbox rows or events calls them at once, so they
 * need not poll fast. Other processes are reached by NOTIFY on PostgreSQL (see notify.ts) and,
 * as a fallback, by polling.
 */
export type NudgeKind = 'outbox' | 'events';

const listeners = new WeakMap<Database, Map<NudgeKind, Set<() => void>>>();

export function onNudge(database: Database, kind: NudgeKind, listener: () => void): () => void {
  let kinds = listeners.get(database);
  if (!kinds) {
    kinds = new Map();
    listeners.set(database, kinds);
  }
  let set = kinds.get(kind);
  if (!set) {
    set = new Set();
    kinds.set(kind, set);
  }
  set.add(listener);
  return () => set.delete(listener);
}

export function nudge(database: Database, kind: NudgeKind): void {
  for (const listener of listeners.get(database)?.get(kind) ?? []) listener();
}
