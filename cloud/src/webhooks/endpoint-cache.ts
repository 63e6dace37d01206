import { Batcher } from './batcher.js';
import type { Endpoint, WebhookStore } from './store.js';

/**
 * The endpoints the consumer sends to, read at most once a `maxAgeMs` each: reading the
 * endpoint with every delivery was a statement per batch of deliveries. A change made in this
 * process is seen at once (`forget`); one made in another cloud process within `maxAgeMs`. Reads
 * of several endpoints at once share one query.
 */
export class EndpointCache {
  private readonly entries = new Map<string, { endpoint: Endpoint | undefined; readAt: number }>();
  private readonly reads: Batcher<string, Endpoint | undefined>;

  constructor(
    store: WebhookStore,
    private readonly maxAgeMs: number,
  ) {
    this.reads = new Batcher(async (ids) => {
      const found = await store.endpointsByIds([...new Set(ids)]);
      return ids.map((id) => found.get(id));
    });
  }

  /** The endpoint, or undefined when it is gone (deleted). */
  async get(id: string): Promise<Endpoint | undefined> {
    const entry = this.entries.get(id);
    if (entry && Date.now() - entry.readAt < this.maxAgeMs) return entry.endpoint;
    const endpoint = await this.reads.add(id);
    // Bounded by the endpoints there are; one gone is dropped instead of remembered.
    if (endpoint) this.entries.set(id, { endpoint, readAt: Date.now() });
    else this.entries.delete(id);
    return endpoint;
  }

  /** Changes this process made to the endpoint (its settings, failing or healthy, disabled). */
  update(id: string, change: Partial<Endpoint>): void {
    const entry = this.entries.get(id);
    if (entry?.endpoint) entry.endpoint = { ...entry.endpoint, ...change };
  }

  forget(id: string): void {
    this.entries.delete(id);
  }
}
