import type { EventLog } from '@bitv/shared/event-log';
import { topics } from '@bitv/shared/events';
import { kafkaBrokers, serverAvailable, tempDir, uniqueName } from '@bitv/shared/testing';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, metricValue, type TestGateway, testGateway } from './helpers/gateway.js';
import { endOffsets, kafkaEventLog, privateKafka, readRecords } from './helpers/kafka.js';
import { edgeNode } from './helpers/sparkplug.js';
import { type TokenIssuer, tokenIssuer } from './helpers/tokens.js';

const site = 'site-k';
const hasKafka = await serverAvailable('kafka');

describe.skipIf(!hasKafka)('bridge on real Kafka', () => {
  let issuer: TokenIssuer;
  let log: EventLog;
  let t: TestGateway;
  const brokers = kafkaBrokers();

  beforeAll(async () => {
    issuer = await tokenIssuer();
    log = await kafkaEventLog(brokers);
    t = await testGateway({ jwksUrl: issuer.jwksUrl, liveTopics: false }, { eventLog: log });
  });
  afterAll(async () => {
    await t?.close();
    await log?.close();
    await issuer?.close();
  });

  it('sends the PUBACK only once the record is in Kafka', async () => {
    const edge = uniqueName('gw');
    const client = await connect(t.gw.mqttUrl, {
      clientId: edge,
      username: edge,
      password: await issuer.gateway(edge, site),
    });
    const before = await endOffsets(brokers, topics.telemetry);
    const node = edgeNode(site, edge);
    const sent: number[] = [];
    for (let i = 0; i < 5; i++) {
      const m = node.ddata('shelf-1', 4);
      await client.publishAsync(m.topic, m.payload, { qos: 1 });
      sent.push(m.firstSeq);
      // at the PUBACK the record is already committed: the high watermark has moved past it
      const after = await endOffsets(brokers, topics.telemetry);
      const grown = [...after].reduce(
        (n, [p, high]) => n + Number(BigInt(high) - BigInt(before.get(p) ?? '0')),
        0,
      );
      expect(grown).toBeGreaterThanOrEqual(i + 1);
    }
    // and reading back gives exactly what was acknowledged, in order, keyed by the edge node
    const records = await readRecords(
      brokers,
      topics.telemetry,
      (key) => key === edge,
      (r) => r.length >= 5,
      { from: before },
    );
    expect(records).toHaveLength(5);
    expect(new Set(records.map((r) => r.partition)).size).toBe(1);
    expect(records[0]!.headers.ce_type).toBe('bv.telemetry.readings.v1');
    const firsts = records.map(
      (r) => (JSON.parse(r.value) as { readings: { seq: number }[] }).readings[0]!.seq,
    );
    expect(firsts).toEqual(sent);
    await client.endAsync();
  });
});

describe.skipIf(!hasKafka)('Kafka stopped mid-stream and restarted', () => {
  let issuer: TokenIssuer;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let kafka: Awaited<ReturnType<typeof privateKafka>>;
  let log: EventLog;
  let t: TestGateway;

  beforeAll(async () => {
    issuer = await tokenIssuer();
    dir = await tempDir('bv-gw-kafka-');
    kafka = await privateKafka(dir.path);
    log = await kafkaEventLog(kafka.brokers);
    t = await testGateway(
      { jwksUrl: issuer.jwksUrl, liveTopics: false, bridgeAckTimeoutMs: 4_000 },
      { eventLog: log },
    );
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await log?.close();
    await kafka?.stop().catch(() => undefined); // best effort: the folder goes away next
    await dir?.remove();
    await issuer?.close();
  }, 120_000);

  it('loses nothing, and acknowledges nothing Kafka did not take', async () => {
    const edge = 'gw-outage';
    const node = edgeNode(site, edge);
    // a device like the edge agent: persistent session, resends unacknowledged messages on reconnect
    const client: MqttClient = await connect(t.gw.mqttUrl, {
      clientId: edge,
      username: edge,
      password: await issuer.gateway(edge, site),
      clean: false,
      reconnectPeriod: 300,
    });
    const total = 60;
    const acked = new Set<number>();
    const messages = Array.from({ length: total }, () => node.ddata('shelf-1', 1));
    const all = messages.map(
      (m) =>
        new Promise<void>((resolve) => {
          const send = () =>
            client.publish(m.topic, m.payload, { qos: 1 }, (error) => {
              if (error) return setTimeout(send, 200);
              acked.add(m.firstSeq);
              resolve();
            });
          send();
        }),
    );
    // stop Kafka once a third is through
    while (acked.size < total / 3) await new Promise((r) => setTimeout(r, 20));
    await kafka.stop();
    // a PUBACK for a record Kafka took just before it stopped may still be on its way
    await new Promise((r) => setTimeout(r, 1_000));
    const ackedAtStop = acked.size;
    await new Promise((r) => setTimeout(r, 3_000));
    const ackedDuringOutage = acked.size - ackedAtStop;
    await kafka.start();
    await Promise.all(all);

    // nothing was acknowledged while Kafka was stopped (beyond what was in flight when it stopped)
    expect(ackedDuringOutage).toBe(0);
    expect(await metricValue(t.registry, 'bv_gateway_event_log_errors_total')).toBeGreaterThan(0);
    // every message is in Kafka (some maybe twice: consumers de-duplicate on seq)
    const wanted = new Set(messages.map((m) => m.firstSeq));
    const seen = new Set<number>();
    await readRecords(
      kafka.brokers,
      topics.telemetry,
      (key) => key === edge,
      (records) => {
        for (const r of records.splice(0)) {
          for (const reading of (JSON.parse(r.value) as { readings: { seq: number }[] }).readings) {
            seen.add(reading.seq);
          }
        }
        return [...wanted].every((s) => seen.has(s));
      },
      { timeoutMs: 60_000 },
    );
    expect([...wanted].filter((s) => !seen.has(s))).toEqual([]);
    await client.endAsync();
  }, 240_000);
});
