/**
 * Versioned event types. An event is stored with its type's current schema version; when the
 * shape changes, the new code registers an upcaster from the old version, and reading runs the
 * chain (v1 -> v2 -> v3), so deciders and projections only ever see the newest shape. Stored
 * events are never rewritten.
 */
export interface Upcaster {
  type: string;
  /** The schema version this upcaster reads; it returns version `fromVersion + 1`. */
  fromVersion: number;
  upcast(data: unknown): unknown;
}

export class Upcasters {
  private readonly chains = new Map<string, Upcaster[]>();

  constructor(upcasters: readonly Upcaster[] = []) {
    const byType = new Map<string, Upcaster[]>();
    for (const u of upcasters) {
      if (!Number.isInteger(u.fromVersion) || u.fromVersion < 1)
        throw new Error(`upcaster of ${u.type}: fromVersion must be an integer >= 1`);
      byType.set(u.type, [...(byType.get(u.type) ?? []), u]);
    }
    for (const [type, list] of byType) {
      const sorted = [...list].sort((a, b) => a.fromVersion - b.fromVersion);
      // A hole in the chain would leave events of that version unreadable: refuse at start.
      sorted.forEach((u, i) => {
        const first = sorted[0]?.fromVersion ?? 1;
        if (u.fromVersion !== first + i)
          throw new Error(`upcasters of ${type} must form a chain without gaps or duplicates`);
      });
      this.chains.set(type, sorted);
    }
  }

  /** The version new events of `type` are written with. */
  current(type: string): number {
    const chain = this.chains.get(type);
    const last = chain?.[chain.length - 1];
    return last ? last.fromVersion + 1 : 1;
  }

  /** Brings data stored at `version` to the current shape of its type. */
  upcast(type: string, version: number, data: unknown): unknown {
    const chain = this.chains.get(type);
    if (!chain) return data;
    let value = data;
    let at = version;
    for (const u of chain) {
      if (u.fromVersion < at) continue;
      if (u.fromVersion !== at) throw new Error(`event type ${type}: no upcaster from schema version ${at}`);
      value = u.upcast(value);
      at += 1;
    }
    return value;
  }
}
