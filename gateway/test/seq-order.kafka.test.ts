import type { EventLog } from '@bitv/shared/event-log';
import { topics } from '@bitv/shared/events';
import {
  decodePayload,
  deviceTopic,
  encodeDeviceBirth,
  encodeDeviceDeath,
  encodeNodeBirth,
  encodePayload,
  encodeReadings,
  nodeHealthMetrics,
  nodeTopic,
} from '@bitv/shared/sparkplug';
import { kafkaBrokers, redisUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TestGateway, testGateway } from './helpers/gateway.js';
import { endOffsets, kafkaEventLog, readRecords } from './helpers/kafka.js';
import { type TokenIssuer, tokenIssuer } from './helpers/tokens.js';

/**
 * #13 item 7: subscribers see an edge node's messages in the order it sent them (its Sparkplug
 * seq), whatever their type, and the event log holds each topic's records of the edge node in
 * that order too. One edge node publishes a burst of mixed NBIRTH/DBIRTH/DDATA/NDATA/DDEATH at
 * QoS 1 without waiting for PUBACKs; device state and telemetry go to different Kafka topics,
 * each acknowledged on its own.
 */

const site = 'site-seq';
const burst = 3_000;
const hasKafka = await serverAvailable('kafka');
const hasRedis = await serverAvailable('redis');

interface Sent {
  topic: string;
  payload: Buffer;
  /** Its place in the burst, which the seq (mod 256) stands for. */
  index: number;
  /** How its record is recognised in the event log. */
  record: { topic: string; id: string };
}

/** The burst: an NBIRTH (seq 0), then devices born, reporting, the node's health, devices dying. */
function mixedBurst(edge: string, count: number): Sent[] {
  const sent: Sent[] = [];
  let readingSeq = 0;
  let device = 0;
  const add = (topic: string, payload: Uint8Array, record: Sent['record']) =>
    sent.push({ topic, payload: Buffer.from(payload), index: sent.length, record });
  add(
    nodeTopic('NBIRTH', site, edge),
    encodeNodeBirth({ bdSeq: 1, agentVersion: 'test', outboxDepth: 0, oldestUnsentMs: 0 }),
    { topic: topics.deviceState, id: 'NBIRTH' },
  );
  while (sent.length < count) {
    const id = `shelf-${++device}`;
    const seq = () => sent.length % 256;
    add(
      deviceTopic('DBIRTH', site, edge, id),
      encodeDeviceBirth(
        { serialNumber: id, firmware: '1.0.0', binCount: 2, bins: [{ bin: 0, weightG: 0 }] },
        seq(),
      ),
      { topic: topics.deviceState, id: `DBIRTH ${id}` },
    );
    for (let i = 0; i < 3; i++) {
      const reading = ++readingSeq;
      add(
        deviceTopic('DDATA', site, edge, id),
        encodeReadings([{ seq: reading, time: Date.now(), bins: [{ bin: 0, weightG: reading }] }], {
          seq: seq(),
          historical: false,
        }),
        { topic: topics.telemetry, id: `reading ${reading}` },
      );
    }
    // the node's health: the outbox depth makes its device-state record recognisable
    const depth = sent.length;
    add(
      nodeTopic('NDATA', site, edge),
      encodePayload({
        timestamp: Date.now(),
        seq: seq(),
        metrics: nodeHealthMetrics({ outboxDepth: depth }),
      }),
      { topic: topics.deviceState, id: `NDATA ${depth}` },
    );
    add(deviceTopic('DDEATH', site, edge, id), encodeDeviceDeath(seq()), {
      topic: topics.deviceState,
      id: `DDEATH ${id}`,
    });
  }
  return sent;
}

/** How a device-state or telemetry record of the burst is named in `Sent.record.id`. */
function recordId(topic: string, value: string): string[] {
  const parsed = JSON.parse(value) as Record<string, unknown>;
  // a log record is a CloudEvent; a live copy (bv/<site>/...) is its data alone
  const data = (parsed.data as Record<string, unknown> | undefined) ?? parsed;
  if (topic === topics.telemetry) {
    return ((data.readings as { seq: number }[] | undefined) ?? []).map((r) => `reading ${r.seq}`);
  }
  const kind = data.kind as string;
  if (kind === 'NBIRTH') return ['NBIRTH'];
  if (kind === 'NDATA') return [`NDATA ${data.queueDepth}`];
  return [`${kind} ${data.deviceId}`];
}

/**
 * Messages received out of order: one whose place in the burst (its seq, unwrapped modulo 256
 * against the highest seen so far) is below a place already seen.
 */
function reordered(seqs: readonly number[]): { reordered: number; maxBehind: number } {
  let highest = -1;
  let count = 0;
  let maxBehind = 0;
  for (const seq of seqs) {
    // the unwrapped place closest to the highest seen: within 128 either way
    const base = highest < 0 ? 0 : highest - 127;
    const place = base + ((((seq - base) % 256) + 256) % 256);
    if (place < highest) {
      count++;
      maxBehind = Math.max(maxBehind, highest - place);
    } else highest = place;
  }
  return { reordered: count, maxBehind };
}

/** Places in the burst, in the order `ids` came, for one log topic. */
function places(sent: readonly Sent[], logTopic: string, ids: readonly string[]): number[] {
  const byId = new Map(sent.filter((s) => s.record.topic === logTopic).map((s) => [s.record.id, s.index]));
  return ids.map((id) => byId.get(id) ?? -1);
}

function inOrder(list: readonly number[]): { reordered: number; maxBehind: number } {
  let highest = -1;
  let count = 0;
  let maxBehind = 0;
  for (const p of list) {
    if (p < highest) {
      count++;
      maxBehind = Math.max(maxBehind, highest - p);
    } else highest = p;
  }
  return { reordered: count, maxBehind };
}

/**
 * Publishes the burst from `publisher` while `subscriber` watches the site; returns the seqs in
 * the order the subscriber got them, and the log's records of the edge node per topic.
 */
async function run(label: string, publisher: MqttClient, subscriber: MqttClient, edge: string) {
  const brokers = kafkaBrokers();
  const from = {
    [topics.deviceState]: await endOffsets(brokers, topics.deviceState),
    [topics.telemetry]: await endOffsets(brokers, topics.telemetry),
  };
  const sent = mixedBurst(edge, burst);
  const got: number[] = [];
  /** The live copies (`bv/<site>/state|telemetry/<edge>/...`), named as the log's records. */
  const live: string[] = [];
  const liveExpected = sent.length;
  let all: () => void = () => undefined;
  const complete = new Promise<void>((resolve) => {
    all = resolve;
  });
  subscriber.on('message', (topic, payload) => {
    const levels = topic.split('/');
    if (levels[0] === 'spBv1.0' && levels[3] === edge) got.push(decodePayload(payload).seq ?? -1);
    else if (levels[0] === 'bv' && levels[3] === edge) {
      live.push(
        ...recordId(levels[2] === 'telemetry' ? topics.telemetry : topics.deviceState, payload.toString()),
      );
    } else return;
    if (got.length === sent.length && live.length >= liveExpected) all();
  });
  await subscriber.subscribeAsync([`spBv1.0/${site}/#`, `bv/${site}/#`], { qos: 1 });
  // all at once, as an agent draining its outbox does: mqtt.js keeps them in order on the wire
  await Promise.all(sent.map((s) => publisher.publishAsync(s.topic, s.payload, { qos: 1 })));
  await complete;

  const expected = (logTopic: string) => sent.filter((s) => s.record.topic === logTopic).length;
  const log: Record<string, number[]> = {};
  for (const logTopic of [topics.deviceState, topics.telemetry]) {
    const ids: string[] = [];
    const records = await readRecords(
      brokers,
      logTopic,
      (key) => key === edge,
      (records) => {
        ids.length = 0;
        for (const r of records) ids.push(...recordId(logTopic, r.value));
        return ids.length >= expected(logTopic);
      },
      { from: from[logTopic] },
    );
    log[logTopic] = places(sent, logTopic, ids);
    // keyed by the edge node on both topics: one partition each, so Kafka keeps their order
    expect(new Set(records.map((r) => r.partition)).size).toBe(1);
  }
  const mqttOrder = reordered(got);
  // one sequence: the live copies of both kinds in the order the edge node sent their messages
  const byId = new Map(sent.map((s) => [s.record.id, s.index]));
  const liveOrder = inOrder(live.map((id) => byId.get(id) ?? -1));
  const stateOrder = inOrder(log[topics.deviceState]!);
  const telemetryOrder = inOrder(log[topics.telemetry]!);
  console.log(
    `seq order (${label}): ${sent.length} sent, ${got.length} delivered, ${mqttOrder.reordered} reordered ` +
      `(max ${mqttOrder.maxBehind} behind); live copies: ${live.length} delivered, ${liveOrder.reordered} reordered ` +
      `(max ${liveOrder.maxBehind} behind); log ${topics.deviceState}: ${log[topics.deviceState]!.length} records, ` +
      `${stateOrder.reordered} reordered; ${topics.telemetry}: ${log[topics.telemetry]!.length} records, ` +
      `${telemetryOrder.reordered} reordered`,
  );
  expect(got).toHaveLength(sent.length);
  expect(mqttOrder.reordered).toBe(0);
  expect(live).toHaveLength(liveExpected);
  expect(liveOrder.reordered).toBe(0);
  expect(log[topics.deviceState]).toHaveLength(expected(topics.deviceState));
  expect(log[topics.telemetry]).toHaveLength(expected(topics.telemetry));
  expect(stateOrder.reordered).toBe(0);
  expect(telemetryOrder.reordered).toBe(0);
}

describe.skipIf(!hasKafka)('an edge node’s messages in seq order through the gateway', () => {
  let issuer: TokenIssuer;
  let log: EventLog;
  const opened: TestGateway[] = [];
  const clients: MqttClient[] = [];
  const prefix = `${uniqueName('bvseq')}:`;

  beforeAll(async () => {
    issuer = await tokenIssuer();
    log = await kafkaEventLog(kafkaBrokers());
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync()));
    for (const g of opened) await g.close();
    await log?.close();
    await issuer?.close();
    if (hasRedis) {
      const redis = new Redis(redisUrl());
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });

  const gateway = async (config: object) => {
    const g = await testGateway({ jwksUrl: issuer.jwksUrl, liveTopics: true, ...config }, { eventLog: log });
    opened.push(g);
    return g;
  };
  const edgeClient = async (g: TestGateway, edge: string) => {
    const c = await connect(g.gw.mqttUrl, {
      clientId: edge,
      username: edge,
      password: await issuer.gateway(edge, site),
    });
    clients.push(c);
    return c;
  };
  const operator = async (g: TestGateway) => {
    const c = await connect(g.gw.mqttUrl, {
      clientId: '',
      username: 'op',
      password: await issuer.user('op', 'operator'),
    });
    clients.push(c);
    return c;
  };

  it('one gateway on Kafka: 0 reordered for a subscriber and in the log', { timeout: 120_000 }, async () => {
    const g = await gateway({});
    const edge = uniqueName('gw');
    await run('one gateway, Kafka', await edgeClient(g, edge), await operator(g), edge);
  });

  it.skipIf(!hasRedis)(
    'two gateway nodes on Redis: 0 reordered for a subscriber on the other node',
    { timeout: 120_000 },
    async () => {
      const config = { redisUrl: redisUrl(), redisPrefix: prefix };
      const a = await gateway({ ...config, nodeId: 'seq-a' });
      const b = await gateway({ ...config, nodeId: 'seq-b' });
      const edge = uniqueName('gw');
      await run('two nodes on Redis, Kafka', await edgeClient(a, edge), await operator(b), edge);
    },
  );
});
