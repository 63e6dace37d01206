import { afterAll, describe, expect, it } from 'vitest';
import { EventRegistry } from '../events/index.js';
import { createRegistry } from '../metrics/index.js';
import { eventually, privateKafka, serverAvailable, tempDir, uniqueName } from '../testing/index.js';
import { contractEvent, makeEvent } from './contract-events.js';
import { createEventLog } from './create.js';
import { consumersHealth, type EventLog } from './port.js';

const CYCLES = 3;

/**
 * Kafka stopped and started under running consumers (issue #18, defects 1 and 5), on a private
 * broker (never the shared one). A kafkajs consumer that crashes on an outage ("Failed to find
 * group coordinator" is not retriable) used to stay dead: after every cycle here both consumers
 * must be back and deliver again, each crash counted, and health must say so in between; and
 * soon after the broker is back (it took ~30 s).
 * The shared Kafka being reachable (CI) is taken as the sign that kafka.sh can run one here too.
 */
describe.skipIf(!(await serverAvailable('kafka')))('kafka consumers through broker restarts', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }, 60_000);

  it(`every consumer comes back after ${CYCLES} stops and starts, health telling the truth`, {
    timeout: 600_000,
  }, async () => {
    const dir = await tempDir('bv-kafka-outage-');
    cleanups.push(dir.remove);
    const kafka = await privateKafka(`${dir.path}/kafka`);
    cleanups.push(() => kafka.stop());
    const topic = uniqueName('outage');
    const definition = contractEvent(topic);
    const metrics = createRegistry();
    const log: EventLog = await createEventLog({
      kafka: {
        brokers: kafka.brokers,
        clientId: 'outage-test',
        partitions: 2,
        // Session, heartbeat and retry settings are the production defaults: their recovery time is measured.
        requestTimeoutMs: 5_000,
        connectionTimeoutMs: 1_000,
        sendTimeoutMs: 10_000,
        joinTimeoutMs: 30_000,
      },
      registry: new EventRegistry([definition]),
      metrics,
    });
    cleanups.push(() => log.close());
    // Two consumers, as the gateway has (command downlink, credential revocations).
    const seen = new Map<string, Set<number>>();
    for (const name of ['downlink', 'revocations']) {
      const got = new Set<number>();
      seen.set(name, got);
      await log.subscribe({
        group: uniqueName(name),
        topics: [topic],
        fromBeginning: false,
        handler: async (event) => void got.add((event.data as { n: number }).n),
      });
    }
    const healthy = async () => {
      try {
        await log.ping();
      } catch {
        return false; // the broker is down: unhealthy whatever the consumers say
      }
      return consumersHealth(log.consumers()).ok;
    };
    const deliveredToAll = (n: number) => [...seen.values()].every((got) => got.has(n));
    const publish = (n: number) =>
      eventually(
        () => log.publish(topic, makeEvent(definition, 'k', n)).then(() => true),
        `publish ${n}`,
        120_000,
        500,
      );

    const recoveries: number[] = [];
    await publish(0);
    await eventually(() => deliveredToAll(0), 'first event to both consumers', 60_000);
    expect(await healthy()).toBe(true);
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      await kafka.stop();
      expect(await healthy()).toBe(false);
      // Give the consumers the time to notice and crash (not asserted: kafkajs may ride it out).
      await eventually(() => log.consumers().every((c) => c.state === 'restarting'), 'crash', 20_000).catch(
        () => undefined,
      );
      // A crashed consumer says since when it is down (the fleet page shows it).
      for (const c of log.consumers().filter((x) => x.state === 'restarting')) {
        expect(Date.parse(c.since ?? '')).toBeGreaterThan(Date.now() - 60_000);
      }
      expect(await healthy()).toBe(false);
      await kafka.start();
      const back = Date.now();
      await publish(cycle);
      await eventually(() => deliveredToAll(cycle), `cycle ${cycle}: both consumers deliver again`, 120_000);
      recoveries.push((Date.now() - back) / 1000);
      await eventually(healthy, `cycle ${cycle}: healthy again`, 60_000);
    }
    const restarts = log.consumers().reduce((n, c) => n + c.restarts, 0);
    const text = await metrics.getSingleMetricAsString('bv_event_log_consumer_restarts_total');
    const counted = [...text.matchAll(/^bv_event_log_consumer_restarts_total\{[^}]*\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    expect(counted).toBe(restarts);
    // Defect 5: a crashed consumer's replacement waits for the old member's session to expire
    // (10 s now, 30 s before). Generous bound: twice the session timeout would still fail the old one.
    expect(Math.max(...recoveries)).toBeLessThan(20);
    console.info(
      `kafka outage test: ${CYCLES} restarts of the broker, ${restarts} consumer restarts, ` +
        `delivering again ${recoveries.map((s) => `${s.toFixed(1)} s`).join(', ')} after the broker was back`,
    );
  });
});
