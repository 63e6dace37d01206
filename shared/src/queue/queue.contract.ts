import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log/index.js';
import { createRegistry } from '../metrics/index.js';
import { eventually, uniqueName } from '../testing/temp.js';
import type { Delivery, Queue } from './port.js';

export interface QueueUnderTest {
  queue: Queue;
  /** Severs the implementation's connection as a crash would (a no-op where there is none). */
  cut(): Promise<void>;
  dispose(): Promise<void>;
}

export interface QueueFactory {
  /**
   * A queue whose handler failures come back after `failureDelayMs` and whose abandoned
   * deliveries (consumer gone without settling) come back within `abandonMs`.
   */
  open(options: { failureDelayMs: number; abandonMs: number }): Promise<QueueUnderTest>;
}

export const quietLogger = () => createLogger('queue-test', { level: 'silent' });
export const testRegistry = () => createRegistry();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What every implementation of the queue port must do the same way. */
export function describeQueueContract(name: string, factory: QueueFactory): void {
  describe(`queue contract: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });
    const setup = async () => {
      const under = await factory.open({ failureDelayMs: 100, abandonMs: 1_500 });
      const q = uniqueName('bvq').replaceAll('_', '-');
      cleanups.push(async () => {
        await under.queue.remove(q).catch(() => undefined); // best effort: the queue may be gone
        await under.dispose();
      });
      return { ...under, q };
    };
    const collect = () => {
      const got: Delivery[] = [];
      return { got, handler: async (d: Delivery) => void got.push(d) };
    };

    it('delivers a published message once acked, then the queue is empty', async () => {
      const { queue, q } = await setup();
      await queue.declare(q, { maxAttempts: 3 });
      await queue.publish(q, { hello: 'world', n: 1 }, { id: 'm1', key: 'endpoint-1' });
      const got: Delivery[] = [];
      const sub = await queue.consume(q, async (d) => {
        got.push(d);
        await d.ack();
      });
      await eventually(() => got.length === 1, 'the delivery');
      await sleep(300);
      await sub.close();
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({
        id: 'm1',
        queue: q,
        payload: { hello: 'world', n: 1 },
        key: 'endpoint-1',
        attempt: 1,
      });
      expect(await queue.depth(q)).toBe(0);
      expect(await queue.deadLetters(q)).toEqual([]);
    });

    it('holds a delayed publish back until its delay has passed', async () => {
      const { queue, q } = await setup();
      const { got, handler } = collect();
      const sub = await queue.consume(q, async (d) => {
        await handler(d);
        await d.ack();
      });
      const sent = Date.now();
      await queue.publish(q, 'later', { delayMs: 800 });
      await eventually(() => got.length === 1, 'the delayed delivery', 10_000);
      expect(Date.now() - sent).toBeGreaterThanOrEqual(700);
      await sub.close();
    });

    it('retries after the requested delay as the next attempt, then dead-letters after the last', async () => {
      const { queue, q } = await setup();
      await queue.declare(q, { maxAttempts: 3 });
      const seen: { attempt: number; at: number }[] = [];
      const sub = await queue.consume(q, async (d) => {
        seen.push({ attempt: d.attempt, at: Date.now() });
        await d.retry(400, `failed attempt ${d.attempt}`);
      });
      await queue.publish(q, { order: 7 }, { id: 'r1' });
      await eventually(async () => (await queue.deadLetters(q)).length === 1, 'the dead letter', 15_000);
      await sub.close();
      expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
      for (let i = 1; i < seen.length; i++) {
        expect((seen[i]?.at ?? 0) - (seen[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(300);
      }
      const dead = await queue.deadLetters(q);
      expect(dead).toEqual([expect.objectContaining({ id: 'r1', payload: { order: 7 }, attempts: 3 })]);
      expect(dead[0]?.reason).toMatch(/failed attempt 3/);
      // Browsing leaves it there.
      expect(await queue.deadLetters(q)).toHaveLength(1);
    });

    it('re-drives dead letters back to the queue as a first attempt', async () => {
      const { queue, q } = await setup();
      await queue.publish(q, 'a', { id: 'a' });
      await queue.publish(q, 'b', { id: 'b' });
      const first = await queue.consume(q, (d) => d.deadLetter(`refused ${d.id}`));
      await eventually(async () => (await queue.deadLetters(q)).length === 2, 'two dead letters');
      await first.close();
      expect((await queue.deadLetters(q)).map((d) => d.reason).sort()).toEqual(['refused a', 'refused b']);

      // Letters just browsed are back in the queue a moment after the browsing channel closed
      // (RabbitMQ's quorum queues): a re-drive that found none yet moved none, so it is asked again.
      await eventually(async () => (await queue.redrive(q, ['b'])) === 1, 'b re-driven');
      const { got, handler } = collect();
      const sub = await queue.consume(q, async (d) => {
        await handler(d);
        await d.ack();
      });
      await eventually(() => got.length === 1, 'the re-driven message');
      expect(got[0]).toMatchObject({ id: 'b', payload: 'b', attempt: 1 });
      expect((await queue.deadLetters(q)).map((d) => d.id)).toEqual(['a']);
      await eventually(async () => (await queue.redrive(q)) === 1, 'the rest re-driven');
      await eventually(() => got.length === 2, 'the second re-driven message');
      await sub.close();
    });

    it('retries a delivery whose handler throws, instead of losing it', async () => {
      const { queue, q } = await setup();
      const attempts: number[] = [];
      const sub = await queue.consume(q, async (d) => {
        attempts.push(d.attempt);
        if (d.attempt === 1) throw new Error('boom');
        await d.ack();
      });
      await queue.publish(q, 'x');
      await eventually(() => attempts.length === 2, 'the retry after a throw');
      await sub.close();
      expect(attempts).toEqual([1, 2]);
    });

    it('refuses a second settlement of one delivery', async () => {
      const { queue, q } = await setup();
      const errors: unknown[] = [];
      const sub = await queue.consume(q, async (d) => {
        await d.ack();
        await d.retry(10).catch((e: unknown) => errors.push(e));
      });
      await queue.publish(q, 'once');
      await eventually(() => errors.length === 1, 'the refused second settlement');
      await sub.close();
      expect(String(errors[0])).toMatch(/already settled/);
    });

    it('keeps no more than prefetch deliveries in flight, and delivers all of them', async () => {
      const { queue, q } = await setup();
      for (let i = 0; i < 12; i++) await queue.publish(q, i);
      let inFlight = 0;
      let most = 0;
      const done: number[] = [];
      const sub = await queue.consume(
        q,
        async (d) => {
          inFlight++;
          most = Math.max(most, inFlight);
          await sleep(30);
          inFlight--;
          done.push(d.payload as number);
          await d.ack();
        },
        { prefetch: 3 },
      );
      await eventually(() => done.length === 12, 'all twelve', 15_000);
      await sub.close();
      expect(most).toBeLessThanOrEqual(3);
      expect(most).toBeGreaterThan(1);
      expect(done.sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    });

    it('redelivers, never loses, a message whose connection is killed mid-delivery', async () => {
      const { queue, q, cut } = await setup();
      await queue.declare(q);
      const deliveries: Delivery[] = [];
      const acked: string[] = [];
      let release: () => void = () => undefined;
      const hung = new Promise<void>((r) => {
        release = r;
      });
      const sub = await queue.consume(
        q,
        async (d) => {
          deliveries.push(d);
          if (deliveries.length === 1) {
            // The consumer dies with this delivery unsettled.
            await cut();
            await hung;
            return;
          }
          await d.ack();
          acked.push(d.payload as string);
        },
        { prefetch: 4 },
      );
      await queue.publish(q, 'precious', { id: 'p1' });
      await eventually(() => acked.length === 1, 'the redelivery after the cut', 20_000);
      expect(deliveries[1]).toMatchObject({ id: 'p1', payload: 'precious' });
      expect(deliveries[1]?.redelivered || (deliveries[1]?.attempt ?? 0) > 1).toBe(true);
      // The first handler now finishes late; its settlement must not resurrect or drop anything.
      await deliveries[0]?.ack().catch(() => undefined); // stale: may be refused, either is fine
      release();
      await sleep(500);
      await sub.close();
      expect(acked).toEqual(['precious']);
      expect(await queue.depth(q)).toBe(0);
      expect(await queue.deadLetters(q)).toEqual([]);
    });

    it('refuses a queue name that is not a plain name', async () => {
      const { queue } = await setup();
      await expect(queue.publish("x'; DROP TABLE y;--", 1)).rejects.toThrow(/invalid queue name/);
    });
  });
}
