import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CloudEvent } from 'cloudevents';
import type { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { type BvEvent, deadLetterTopic, EventRegistry } from '../events/index.js';
import { createRegistry } from '../metrics/index.js';
import { eventually, uniqueName } from '../testing/index.js';
import {
  type ChildArgs,
  type ChildLogConfig,
  type ContractData,
  contractEvent,
  makeEvent,
} from './contract-events.js';
import { deadLetterAttributes } from './delivery.js';
import type { DeliveryContext, EventLog, Subscription } from './port.js';

/**
 * The one contract suite every event-log implementation passes, against the real server.
 * A target is one storage (a Kafka cluster, a database) shared by the suite; each test uses
 * fresh topics and groups, so tests never see each other's events.
 */
export interface EventLogTarget {
  /** A new log instance over the target's storage; the suite closes it. */
  open(deps: { registry: EventRegistry; metrics: Registry }): Promise<EventLog>;
  /** How a child process opens the same log (kill test). */
  child: ChildLogConfig;
  /** Frees the storage for another process (PGlite: one process at a time) ... */
  release?(): Promise<void>;
  /** ... and takes it back after that process died. */
  reacquire?(): Promise<void>;
  close(): Promise<void>;
}

interface Received {
  key: string;
  n: number;
  id: string;
  context: DeliveryContext;
}

const fixture = fileURLToPath(new URL('./contract-child.ts', import.meta.url));

export function describeEventLogContract(
  name: string,
  createTarget: () => Promise<EventLogTarget>,
  options: { skip?: boolean } = {},
): void {
  describe.skipIf(options.skip === true)(`event log contract: ${name}`, () => {
    let target: EventLogTarget;
    const open: EventLog[] = [];
    const subscriptions: Subscription[] = [];

    beforeAll(async () => {
      target = await createTarget();
    });
    afterAll(async () => {
      await target?.close();
    });
    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
      await Promise.all(open.splice(0).map((l) => l.close()));
    });

    /** A fresh topic with its own event type, a registry knowing it, and a log. */
    async function setup(prefix: string) {
      const topic = uniqueName(`contract.${prefix}`);
      const definition = contractEvent(topic);
      const registry = new EventRegistry([definition]);
      const metrics = createRegistry();
      const log = await target.open({ registry, metrics });
      open.push(log);
      return { topic, definition, registry, metrics, log, group: uniqueName(`group.${prefix}`) };
    }

    async function collect(
      log: EventLog,
      group: string,
      topic: string,
      extra: {
        fail?: (r: Received) => Promise<void> | void;
        maxAttempts?: number;
        retryDelayMs?: number;
      } = {},
    ) {
      const received: Received[] = [];
      const subscription = await log.subscribe({
        group,
        topics: [topic],
        maxAttempts: extra.maxAttempts,
        retryDelayMs: extra.retryDelayMs,
        handler: async (event, context) => {
          const data = event.data as ContractData;
          const r = { key: data.key, n: data.n, id: event.id, context };
          await extra.fail?.(r);
          received.push(r);
        },
      });
      subscriptions.push(subscription);
      return { received, subscription };
    }

    it('delivers published events with their attributes and delivery context', async () => {
      const { topic, definition, log, group } = await setup('basic');
      const events = [0, 1, 2].map((n) => makeEvent(definition, 'shelf-1', n));
      await log.publish(topic, events);
      const { received } = await collect(log, group, topic);
      await eventually(() => received.length >= 3, '3 events');
      expect(received.map((r) => r.n)).toEqual([0, 1, 2]);
      expect(received.map((r) => r.id)).toEqual(events.map((e) => e.id));
      const first = received[0];
      expect(first?.context.topic).toBe(topic);
      expect(first?.context.attempt).toBe(1);
      expect(typeof first?.context.offset).toBe('string');
      const offsets = received.map((r) => BigInt(r.context.offset));
      expect(offsets[1]).toBe((offsets[0] ?? 0n) + 1n);
    });

    it('keeps per-key order across 20 keys x 25 events published concurrently', async () => {
      const { topic, definition, log, group } = await setup('order');
      const keys = Array.from({ length: 20 }, (_, i) => `gw-${i}`);
      const perKey = 25;
      const { received } = await collect(log, group, topic);
      // Five publishers at once, each owning four keys: offsets must stay ordered per key.
      await Promise.all(
        [0, 1, 2, 3, 4].map(async (w) => {
          const mine = keys.filter((_, i) => i % 5 === w);
          for (let n = 0; n < perKey; n++)
            await log.publish(
              topic,
              mine.map((k) => makeEvent(definition, k, n)),
            );
        }),
      );
      await eventually(() => received.length >= keys.length * perKey, 'all 500 events', 30_000);
      for (const key of keys) {
        expect(received.filter((r) => r.key === key).map((r) => r.n)).toEqual(
          Array.from({ length: perKey }, (_, n) => n),
        );
      }
    });

    it('gives every event to each of two groups', async () => {
      const { topic, definition, log, group } = await setup('groups');
      const a = await collect(log, `${group}.a`, topic);
      const b = await collect(log, `${group}.b`, topic);
      const events = Array.from({ length: 12 }, (_, n) => makeEvent(definition, `k${n % 3}`, n));
      await log.publish(topic, events);
      await eventually(() => a.received.length >= 12 && b.received.length >= 12, 'both groups');
      const ids = events.map((e) => e.id).sort();
      expect(a.received.map((r) => r.id).sort()).toEqual(ids);
      expect(b.received.map((r) => r.id).sort()).toEqual(ids);
    });

    it('resumes a restarted consumer after its last commit: no committed event again, every new one', async () => {
      const { topic, definition, registry, log, group } = await setup('restart');
      const first = await collect(log, group, topic);
      await log.publish(
        topic,
        [0, 1, 2, 3, 4].map((n) => makeEvent(definition, 'k', n)),
      );
      await eventually(() => first.received.length >= 5, 'first 5');
      await first.subscription.close();
      await log.publish(
        topic,
        [5, 6, 7].map((n) => makeEvent(definition, 'k', n)),
      );
      const again = await target.open({ registry, metrics: createRegistry() });
      open.push(again);
      const second = await collect(again, group, topic);
      await eventually(() => second.received.some((r) => r.n === 7), 'event 7');
      // One key, one partition, in order: a redelivered 0..4 would come before 5.
      expect(second.received.map((r) => r.n)).toEqual([5, 6, 7]);
    });

    it('starts a new group with fromBeginning false after the events already there', async () => {
      const { topic, definition, log, group } = await setup('latest');
      await log.publish(
        topic,
        [0, 1].map((n) => makeEvent(definition, 'k', n)),
      );
      const received: number[] = [];
      const subscription = await log.subscribe({
        group,
        topics: [topic],
        fromBeginning: false,
        handler: async (event) => {
          received.push((event.data as ContractData).n);
        },
      });
      subscriptions.push(subscription);
      await log.publish(
        topic,
        [2, 3].map((n) => makeEvent(definition, 'k', n)),
      );
      await eventually(() => received.includes(3), 'event 3');
      expect(received).toEqual([2, 3]);
    });

    it('retries a failing handler and delivers the event once it succeeds', async () => {
      const { topic, definition, metrics, log, group } = await setup('retry');
      let failures = 0;
      const { received } = await collect(log, group, topic, {
        maxAttempts: 5,
        retryDelayMs: 10,
        fail: (r) => {
          if (r.n === 1 && r.context.attempt < 3) {
            failures++;
            throw new Error(`transient failure ${r.context.attempt}`);
          }
        },
      });
      await log.publish(
        topic,
        [0, 1, 2].map((n) => makeEvent(definition, 'k', n)),
      );
      await eventually(() => received.length >= 3, '3 events');
      expect(received.map((r) => [r.n, r.context.attempt])).toEqual([
        [0, 1],
        [1, 3],
        [2, 1],
      ]);
      expect(failures).toBe(2);
      expect(await metricValue(metrics, 'bv_event_log_handler_failures_total', { topic, group })).toBe(2);
      expect(await metricValue(metrics, 'bv_event_log_dead_letters_total', { topic, group })).toBe(0);
    });

    it('keeps an event whose retries a close cut short: the next consumer of the group gets it', async () => {
      const { topic, definition, registry, metrics, log, group } = await setup('cut');
      let attempts = 0;
      const first = await collect(log, group, topic, {
        maxAttempts: 10,
        retryDelayMs: 100,
        fail: () => {
          attempts++;
          throw new Error('not yet');
        },
      });
      const event = makeEvent(definition, 'k', 0);
      await log.publish(topic, event);
      await eventually(() => attempts >= 2, 'two failed attempts');
      await first.subscription.close();
      const again = await target.open({ registry, metrics: createRegistry() });
      open.push(again);
      const second = await collect(again, group, topic);
      await eventually(() => second.received.length >= 1, 'the event, delivered again');
      expect(second.received[0]?.id).toBe(event.id);
      expect(first.received).toEqual([]);
      expect(await metricValue(metrics, 'bv_event_log_dead_letters_total', { topic, group })).toBe(0);
    });

    it('dead-letters a poison event after maxAttempts while other partitions keep flowing', async () => {
      const { topic, definition, metrics, log, group } = await setup('poison');
      // A second wave of events is published only once the poison event has failed, and must be
      // delivered on other partitions while the poison event is still being retried.
      const wave = Array.from({ length: 8 }, (_, i) => makeEvent(definition, `wave-${i}`, 100 + i));
      const waveIds = new Set(wave.map((e) => e.id));
      let wavePublished: Promise<void> | undefined;
      let othersFlowedDuringPoison = false;
      const { received } = await collect(log, group, topic, {
        maxAttempts: 3,
        retryDelayMs: 20,
        fail: async (r) => {
          if (r.key !== 'poison') return;
          if (r.context.attempt === 1) wavePublished = log.publish(topic, wave);
          if (r.context.attempt === 2) {
            othersFlowedDuringPoison = await eventually(
              () => received.some((o) => waveIds.has(o.id) && o.context.partition !== r.context.partition),
              'another partition to progress while the poison event is retried',
              15_000,
            ).catch(() => false);
          }
          throw new Error(`poison ${r.n} cannot be handled`);
        },
      });
      const poison = makeEvent(definition, 'poison', 0);
      await log.publish(topic, poison);
      const others = Array.from({ length: 16 }, (_, i) => makeEvent(definition, `key-${i % 8}`, i));
      await log.publish(topic, others);

      const dead: BvEvent[] = [];
      const dlq = await log.subscribe({
        group: `${group}.dlq-reader`,
        topics: [deadLetterTopic(topic)],
        handler: async (event) => {
          dead.push(event);
        },
      });
      subscriptions.push(dlq);

      const expected = [...others, ...wave].map((e) => e.id).sort();
      await eventually(() => received.length >= expected.length, 'every other event', 30_000);
      await eventually(() => dead.length >= 1, 'the poison event on the dead-letter topic', 30_000);
      await wavePublished;
      expect(othersFlowedDuringPoison).toBe(true);
      expect(received.map((r) => r.id).sort()).toEqual(expected);
      expect(dead.map((e) => e.id)).toEqual([poison.id]);
      const attrs = dead[0] as unknown as Record<string, unknown>;
      expect(attrs[deadLetterAttributes.reason]).toMatch(/poison 0 cannot be handled/);
      expect(attrs[deadLetterAttributes.group]).toBe(group);
      expect(dead[0]?.data).toEqual({ key: 'poison', n: 0 });
      expect(await metricValue(metrics, 'bv_event_log_dead_letters_total', { topic, group })).toBe(1);
      expect(await metricValue(metrics, 'bv_event_log_handler_failures_total', { topic, group })).toBe(3);
    });

    it('refuses an event that fails its schema at publish, naming the problem, and writes nothing', async () => {
      const { topic, definition, log, group } = await setup('invalid');
      const good = makeEvent(definition, 'k', 1);
      const bad = good.cloneWith({ data: { key: 'k', n: -5 } }, false) as BvEvent;
      await expect(log.publish(topic, [good, bad])).rejects.toSatisfy(
        (e: unknown) =>
          e instanceof ValidationError && /event 1 of 2/.test(e.message) && /n:/.test(e.message),
      );
      const unknownType = new CloudEvent({
        source: 'bv://contract',
        type: 'bv.contract.unknown.v1',
        partitionkey: 'k',
        data: { key: 'k', n: 1 },
      }) as BvEvent;
      await expect(log.publish(topic, unknownType)).rejects.toThrow(
        /unknown event type bv\.contract\.unknown\.v1/,
      );
      await expect(log.publish(`${topic}.other`, good)).rejects.toThrow(ValidationError);

      const marker = makeEvent(definition, 'k', 2);
      await log.publish(topic, marker);
      const { received } = await collect(log, group, topic);
      await eventually(() => received.length >= 1, 'the marker');
      // `good` was in the refused batch: nothing of that batch was written.
      expect(received.map((r) => r.id)).toEqual([marker.id]);
    });

    it('redelivers an event whose consumer was killed between receive and commit', async () => {
      const { topic, definition, registry, log, group } = await setup('kill');
      const event = makeEvent(definition, 'shelf-9', 0);
      await log.publish(topic, event);
      await Promise.all(open.splice(0).map((l) => l.close()));
      await target.release?.();

      const args: ChildArgs = { log: target.child, topic, group };
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(args)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        const line = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`child did not receive the event: ${stderr}`)),
            30_000,
          );
          const lines = createInterface({ input: child.stdout });
          lines.on('line', (l) => {
            if (l.startsWith('received ')) {
              clearTimeout(timer);
              resolve(l);
            }
          });
          child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`child exited (${code}) before receiving: ${stderr}`));
          });
        });
        expect(line.split(' ')[1]).toBe(event.id);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }

      await target.reacquire?.();
      const again = await target.open({ registry, metrics: createRegistry() });
      open.push(again);
      const { received } = await collect(again, group, topic);
      await eventually(() => received.length >= 1, 'the redelivered event', 40_000);
      expect(received[0]?.id).toBe(event.id);
    });
  });
}

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}
