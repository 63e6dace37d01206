/**
 * A bounded map with expiry: the least recently read entry goes first when full, an expired one
 * when read. Values are kept as JSON text so that a caller who mutates what it got back cannot
 * change what the next caller gets, and so both cache implementations return the same shapes
 * (a `Date` comes back as a string from either).
 */
export class Lru {
  private readonly entries = new Map<string, { text: string; expiresAt: number }>();

  constructor(private readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now = Date.now()): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    // re-inserted so Map order stays least recently read first
    this.entries.set(key, entry);
    return entry.text;
  }

  set(key: string, text: string, ttlMs: number, now = Date.now()): void {
    this.entries.delete(key);
    this.entries.set(key, { text, expiresAt: now + ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
