import { join } from 'node:path';
import { type EdgeAgentHandle, loadEdgeConfig, startEdgeAgent } from '@bitv/edge-agent';
import { gatewayDefaults } from '@bitv/gateway';
import { openDatabase } from '@bitv/shared/db';
import { UnavailableError } from '@bitv/shared/errors';
import {
  type ConsumerStatus,
  createEventLog,
  type EventLog,
  type SubscribeOptions,
  type Subscription,
} from '@bitv/shared/event-log';
import { type BvEvent, platformEvents, type TelemetryReadings, topics } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { eventually, tempDir, uniqueName } from '@bitv/shared/testing';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startRigGateway, startRigSimulation } from './gateway-rig.js';

/**
 * The event log as Kafka behaves in an outage and just after it: pings fail, publishes wait (the
 * producer retries inside its timeout); then pings answer again while the waiting publishes are
 * still to be acknowledged, so the gateway reports the host online before it acknowledges what
 * was published during the outage.
 */
class OutageLog implements EventLog {
  readonly kind: EventLog['kind'];
  #pingsFail = false;
  #holding = false;
  readonly #held: (() => void)[] = [];

  constructor(private readonly inner: EventLog) {
    this.kind = inner.kind;
  }

  /** The outage starts: pings fail, publishes wait. */
  begin(): void {
    this.#pingsFail = true;
    this.#holding = true;
  }

  /** The log answers pings again; publishes still wait. */
  answerPings(): void {
    this.#pingsFail = false;
  }

  /** The publishes that waited complete. */
  release(): void {
    this.#holding = false;
    for (const r of this.#held.splice(0)) r();
  }

  async publish(topic: string, events: BvEvent | readonly BvEvent[]): Promise<void> {
    while (this.#holding) await new Promise<void>((r) => this.#held.push(r));
    await this.inner.publish(topic, events);
  }

  subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribe(options);
  }

  async ping(): Promise<void> {
    if (this.#pingsFail) throw new UnavailableError('event log unreachable (test outage)');
    await this.inner.ping();
  }

  consumers(): ConsumerStatus[] {
    return this.inner.consumers();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A late NDEATH acknowledgement must not end a session that is already back online (issue #18,
 * defect 3). The agent ends its session with an NDEATH when the primary host goes offline; after
 * an event-log outage the gateway reports the host online first and acknowledges that NDEATH
 * later. The agent used to go online in the old session at once and drop it at the
 * acknowledgement: a second NBIRTH, and every message in flight sent again.
 */
describe('edge agent -> gateway through an event-log outage', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  }, 60_000);

  it('keeps the session it births after the outage: one NBIRTH, duplicates within the window', {
    timeout: 120_000,
  }, async () => {
    const dir = await tempDir('bv-host-outage-');
    cleanups.push(dir.remove);
    const database = await openDatabase({ dataDir: join(dir.path, 'db') });
    cleanups.push(() => database.close());
    const registry = createRegistry();
    const inner = await createEventLog({ database, registry: platformEvents(), metrics: registry });
    const log = new OutageLog(inner);
    cleanups.push(() => log.close());
    const gateway = await startRigGateway(log, registry, cleanups);
    const simulation = await startRigSimulation({ shelves: 1, bins: 2, seed: 5 }, cleanups);

    // What reached the log: every reading by seq, with its copies.
    const copies = new Map<number, number>();
    const sub = await inner.subscribe({
      group: uniqueName('outage-check'),
      topics: [topics.telemetry],
      handler: async (event) => {
        if (event.type !== 'bv.telemetry.readings.v1') return;
        for (const r of (event.data as TelemetryReadings).readings)
          copies.set(r.seq, (copies.get(r.seq) ?? 0) + 1);
      },
    });
    cleanups.push(() => sub.close());

    const groupId = 'demo-site';
    const config = {
      ...loadEdgeConfig(undefined, {}),
      groupId,
      edgeNodeId: uniqueName('gw-outage'),
      primaryHostId: gatewayDefaults.primaryHostId,
      waitForHost: true,
      brokerUrl: gateway.mqttUrl,
      dataDir: join(dir.path, 'edge'),
      serialPorts: [simulation.shelves[0]!.path],
      opsPort: -1,
      reconnectInitialDelayMs: 100,
      reconnectMaxDelayMs: 1_000,
      logLevel: 'silent' as const,
    };
    // What the broker carried: NBIRTHs of this edge node and the host's STATE, in order.
    const watcher = await connectAsync(gateway.mqttUrl, {
      clientId: uniqueName('watcher'),
      reconnectPeriod: 0,
    });
    cleanups.push(() => watcher.endAsync(true));
    const seen: string[] = [];
    watcher.on('message', (topic, payload) => {
      if (topic.includes('/NBIRTH/')) seen.push('NBIRTH');
      else if (topic.startsWith('spBv1.0/STATE/'))
        seen.push((JSON.parse(payload.toString()) as { online: boolean }).online ? 'online' : 'offline');
    });
    await watcher.subscribeAsync([`spBv1.0/${groupId}/NBIRTH/${config.edgeNodeId}`, 'spBv1.0/STATE/#']);

    const agent: EdgeAgentHandle = await startEdgeAgent(config, {
      logger: silentLogger,
      registry: createRegistry(),
    });
    cleanups.push(() => agent.close());
    await eventually(() => copies.size >= 20, 'readings flowing through the gateway', 30_000);
    const sessionsBefore = agent.status().uplink.sessions;

    log.begin();
    // The gateway's health check finds the log down: host offline, and the agent's NDEATH waits.
    await eventually(
      () => agent.status().uplink.state === 'waiting-for-host',
      'the agent waiting for the host',
      30_000,
    );
    const birthsBefore = seen.filter((s) => s === 'NBIRTH').length;
    const inFlight = agent.status().uplink.inFlight;
    log.answerPings();
    await eventually(
      () => seen.at(-1) === 'online' || seen.includes('NBIRTH', seen.lastIndexOf('offline')),
      'host online again',
      30_000,
    );
    log.release();

    await eventually(
      () => agent.status().uplink.state === 'online' && agent.status().outbox.depth === 0,
      'the backlog delivered',
      60_000,
    );
    const sampled = simulation.shelves[0]!.snapshot().counters.readingsSent;
    await eventually(() => copies.size >= sampled, 'every sampled reading in the log', 60_000);
    const births = seen.filter((s) => s === 'NBIRTH').length - birthsBefore;
    const duplicates = [...copies.values()].reduce((n, c) => n + c - 1, 0);
    console.info(
      `host outage: ${births} NBIRTH after it, ${agent.status().uplink.sessions - sessionsBefore} new session(s), ` +
        `${duplicates} duplicate readings (${inFlight} messages in flight at the outage)`,
    );
    expect(births).toBe(1);
    expect(agent.status().uplink.sessions).toBe(sessionsBefore + 1);
    expect(duplicates).toBeLessThanOrEqual(inFlight * config.maxReadingsPerMessage);
  });
});
