import { CloudEvent } from 'cloudevents';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { contractEvent, makeEvent } from '../event-log/contract-events.js';
import { createEventLog } from '../event-log/create.js';
import type { EventLog } from '../event-log/port.js';
import { type BvEvent, EventRegistry } from '../events/index.js';
import { createRegistry } from '../metrics/index.js';
import { eventually, uniqueName } from '../testing/index.js';
import type { EventStoreTarget } from './contract.js';
import { type OutboxRelay, startOutboxRelay } from './relay.js';
import { createEventStore } from './store.js';

/** An event log that records what it is given, and fails on demand. */
export class RecordingLog implements Pick<EventLog, 'publish'> {
  readonly published: Array<{ topic: string; key: string; n: number; id: string }> = [];
  /** Called before each publish; throw to fail it. */
  before: (topic: string, events: readonly BvEvent[]) => void = () => undefined;
  /** Called after the events are recorded; throw to fail after the fact (a crash before the mark). */
  after: (topic: string, events: readonly BvEvent[]) => void = () => undefined;

  async publish(topic: string, events: BvEvent | readonly BvEvent[]): Promise<void> {
    const list = (Array.isArray(events) ? events : [events]) as readonly BvEvent[];
    this.before(topic, list);
    for (const e of list) {
      const data = e.data as { key: string; n: number };
      if (typeof data?.n !== 'number') throw new ValidationError(`event ${e.id} has no n`);
      this.published.push({ topic, key: e.partitionkey, n: data.n, id: e.id });
    }
    this.after(topic, list);
  }

  /** The order each key's events were first published in (duplicates after the first dropped). */
  firstSeen(): Record<string, number[]> {
    const seen = new Set<string>();
    const out: Record<string, number[]> = {};
    for (const p of this.published) {
      if (seen.has(p.id)) continue;
      seen.add(p.id);
      out[p.key] = [...(out[p.key] ?? []), p.n];
    }
    return out;
  }
}

const fast = { pollIntervalMs: 60_000, retryInitialDelayMs: 20, retryMaxDelayMs: 200, leaseMs: 2_000 };

export function describeOutboxContract(
  name: string,
  target: EventStoreTarget,
  options: { skip?: boolean } = {},
): void {
  describe.skipIf(options.skip === true)(`outbox contract: ${name}`, () => {
    const cleanup: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanup.splice(0).reverse()) await c();
    });

    async function setup() {
      const opened = await target.open();
      cleanup.push(() => opened.close());
      const store = await createEventStore(opened.database);
      const topic = uniqueName('outbox');
      const definition = contractEvent(topic);
      const metrics = createRegistry();
      const relays: OutboxRelay[] = [];
      const relay = async (
        log: Pick<EventLog, 'publish'>,
        extra: Partial<Parameters<typeof startOutboxRelay>[0]> = {},
      ) => {
        const r = await startOutboxRelay({
          database: opened.database,
          eventLog: log,
          metrics,
          ...fast,
          ...extra,
        });
        relays.push(r);
        cleanup.push(() => r.close());
        return r;
      };
      const commit = (key: string, ns: number[]) =>
        store.transaction(async (tx) => {
          await tx.append(
            `${topic}-${key}`,
            'any',
            ns.map((n) => ({ type: 'thing.happened', data: { n } })),
          );
          await tx.publish(
            topic,
            ns.map((n) => makeEvent(definition, key, n)),
          );
        });
      return { opened, store, topic, definition, metrics, relay, commit };
    }

    it('publishes committed rows, in order per key, promptly after the commit, and marks them delivered', async () => {
      const { relay, commit, topic, metrics } = await setup();
      const log = new RecordingLog();
      const r = await relay(log);
      for (let i = 0; i < 5; i++) {
        await commit('a', [i * 2, i * 2 + 1]);
        await commit('b', [i]);
      }
      // The poll is a minute: only the commit's wake-up delivers within the time allowed.
      await eventually(() => log.published.length === 15, 'all 15 published', 20_000);
      expect(log.firstSeen()).toEqual({ a: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], b: [0, 1, 2, 3, 4] });
      expect(log.published.every((p) => p.topic === topic)).toBe(true);
      await eventually(async () => (await r.pending()) === 0, 'nothing pending');
      expect((await metrics.getSingleMetric('bv_outbox_published_total')?.get())?.values[0]?.value).toBe(15);
    });

    it('publishes nothing of a transaction that rolled back', async () => {
      const { store, relay, definition, topic } = await setup();
      const log = new RecordingLog();
      const r = await relay(log);
      await expect(
        store.transaction(async (tx) => {
          await tx.publish(topic, makeEvent(definition, 'k', 1));
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await r.flush()).toBe(0);
      expect(log.published).toEqual([]);
    });

    it('retries a failing publish with backoff, keeping the key in order, and counts the failures', async () => {
      const { relay, commit, metrics } = await setup();
      const log = new RecordingLog();
      let failures = 3;
      log.before = () => {
        if (failures-- > 0) throw new Error('broker away');
      };
      await relay(log);
      await commit('k', [1, 2]);
      await commit('k', [3]);
      await eventually(() => log.published.length >= 3, 'published after retries', 20_000);
      expect(log.firstSeen()).toEqual({ k: [1, 2, 3] });
      const failed = await metrics.getSingleMetric('bv_outbox_publish_failures_total')?.get();
      expect(failed?.values.reduce((n, v) => n + v.value, 0)).toBeGreaterThanOrEqual(3);
    });

    it('resends what a relay published but could not mark before it died (at least once)', async () => {
      const { relay, commit } = await setup();
      const before = new RecordingLog();
      // The first relay "dies" right after the log took the events: the mark never happens.
      before.after = () => {
        throw new Error('killed before marking');
      };
      const first = await relay(before);
      await commit('k', [1, 2, 3]);
      await first.flush();
      await first.close();
      expect(before.firstSeen()).toEqual({ k: [1, 2, 3] });
      const after = new RecordingLog();
      const second = await relay(after);
      await eventually(
        async () => {
          await second.flush();
          return after.published.length >= 3;
        },
        'resent',
        20_000,
      );
      expect(after.published.map((p) => p.n)).toEqual([1, 2, 3]);
      expect(await second.pending()).toBe(0);
    });

    it('lets only one relay publish at a time; another takes over when its lease expires', async () => {
      const { relay, commit } = await setup();
      const [logA, logB] = [new RecordingLog(), new RecordingLog()];
      const a = await relay(logA, { leaseMs: 1_000 });
      await a.flush();
      const b = await relay(logB, { leaseMs: 1_000 });
      await commit('k', [1]);
      expect(await b.flush()).toBe(0);
      // `a` stops renewing without giving its lease back (a crash): `b` waits for it to expire.
      await a.close();
      await commit('k', [2]);
      await eventually(
        async () => {
          await b.flush();
          return logB.published.length > 0 || logA.published.length > 1;
        },
        'takeover',
        20_000,
      );
      const all = [...logA.published, ...logB.published].map((p) => p.n).sort();
      expect(new Set(all)).toEqual(new Set([1, 2]));
    });

    it('sets aside a row the event log refuses as invalid, counts it, and delivers the rest', async () => {
      const { relay, store, topic, definition, metrics } = await setup();
      const log = new RecordingLog();
      // Well-formed for the outbox, refused by the log (the recording log wants `n`).
      const bad = new CloudEvent(
        { ...makeEvent(definition, 'k', 1).toJSON(), data: { key: 'k' } },
        false,
      ) as BvEvent;
      await store.transaction((tx) =>
        tx.publish(topic, [makeEvent(definition, 'k', 0), bad, makeEvent(definition, 'k', 2)]),
      );
      const r = await relay(log);
      await eventually(() => log.firstSeen().k?.length === 2, 'the valid two', 20_000);
      expect(log.firstSeen()).toEqual({ k: [0, 2] });
      expect(await r.pending()).toBe(0);
      expect((await metrics.getSingleMetric('bv_outbox_dropped_total')?.get())?.values[0]?.value).toBe(1);
    });

    it('delivers to the real event log (the database log in the same database)', async () => {
      const { opened, relay, commit, topic, definition } = await setup();
      const log = await createEventLog({
        database: opened.database,
        registry: new EventRegistry([definition]),
        metrics: createRegistry(),
        databaseLog: { pollIntervalMs: 50, retentionIntervalMs: 0 },
      });
      cleanup.push(() => log.close());
      const got: number[] = [];
      await log.subscribe({
        group: uniqueName('g'),
        topics: [topic],
        handler: async (e) => {
          got.push((e.data as { n: number }).n);
        },
      });
      await relay(log, opened.url ? { listenUrl: opened.url } : {});
      await commit('k', [1, 2, 3]);
      await eventually(() => got.length >= 3, 'consumed from the event log', 30_000);
      expect(got.slice(0, 3)).toEqual([1, 2, 3]);
    });
  });
}
