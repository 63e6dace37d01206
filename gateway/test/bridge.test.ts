import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import { type CommandRequested, commandRequestedV1, createEvent, topics } from '@bitv/shared/events';
import {
  commandResultMetrics,
  decodeCommands,
  decodeState,
  deviceTopic,
  encodeNodeDeath,
  encodePayload,
  encodeReadings,
  gapMetrics,
  nodeHealthMetrics,
  nodeTopic,
} from '@bitv/shared/sparkplug';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlledEventLog } from './helpers/event-log.js';
import {
  closed,
  collect,
  connect,
  grant,
  metricValue,
  type TestGateway,
  testGateway,
} from './helpers/gateway.js';
import { edgeNode } from './helpers/sparkplug.js';
import { type TokenIssuer, tokenIssuer } from './helpers/tokens.js';

const site = 'site-b';

describe('bridge into the event log', () => {
  let issuer: TokenIssuer;
  let t: TestGateway;
  const log = new ControlledEventLog();
  const gatewayClient = async (id: string, extra: object = {}) =>
    connect(t.gw.mqttUrl, { clientId: id, username: id, password: await issuer.gateway(id, site), ...extra });
  /** A command for an edge node of the site through bv.commands; it expires in a minute unless told. */
  const requestCommand = (
    edgeNodeId: string,
    data: Pick<CommandRequested, 'commandId' | 'command' | 'deviceId'> & { expiresAt?: string },
  ) =>
    log.publish(
      topics.commands,
      createEvent(commandRequestedV1, {
        source: '/test',
        key: edgeNodeId,
        data: {
          groupId: site,
          edgeNodeId,
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
          ...data,
        },
      }),
    );

  beforeAll(async () => {
    issuer = await tokenIssuer();
    t = await testGateway(
      { jwksUrl: issuer.jwksUrl, bridgeAckTimeoutMs: 1_500, maxPacketBytes: 64 * 1024 },
      { eventLog: log },
    );
  });
  afterAll(async () => {
    await t?.close();
    await issuer?.close();
  });

  it('sends the PUBACK only after the event log has the record', async () => {
    const client = await gatewayClient('gw-a');
    const node = edgeNode(site, 'gw-a');
    const m = node.ddata('shelf-1', 3);
    log.hold();
    let recordsAtAck = -1;
    const acked = client.publishAsync(m.topic, m.payload, { qos: 1 }).then(() => {
      recordsAtAck = log.of(topics.telemetry).length;
    });
    await eventually(() => log.heldCount > 0, 'the bridge to call the log');
    // the log has not answered: no PUBACK may have arrived
    expect(recordsAtAck).toBe(-1);
    expect(log.of(topics.telemetry)).toHaveLength(0);
    log.release();
    await acked;
    expect(recordsAtAck).toBe(1);
    const event = log.of(topics.telemetry)[0]!;
    expect(event.partitionkey).toBe('gw-a');
    expect(event.type).toBe('bv.telemetry.readings.v1');
    const data = event.data as { readings: { seq: number }[]; deviceId: string; edgeNodeId: string };
    expect(data.edgeNodeId).toBe('gw-a');
    expect(data.deviceId).toBe('shelf-1');
    expect(data.readings.map((r) => r.seq)).toEqual([m.firstSeq, m.firstSeq + 1, m.firstSeq + 2]);
    expect(await metricValue(t.registry, 'bv_gateway_bridge_readings_total')).toBeGreaterThanOrEqual(3);
    await client.endAsync();
  });

  it('sends PUBACKs in PUBLISH order even when a later message is durable first [MQTT-4.6.0-2]', async () => {
    const node = edgeNode(site, 'gw-acks');
    const client = await gatewayClient('gw-acks');
    log.hold(topics.deviceState);
    const order: string[] = [];
    const birth = node.dbirth('shelf-1');
    const data = node.ddata('shelf-1', 1);
    const both = Promise.all([
      client.publishAsync(birth.topic, birth.payload, { qos: 1 }).then(() => order.push('DBIRTH')),
      client.publishAsync(data.topic, data.payload, { qos: 1 }).then(() => order.push('DDATA')),
    ]);
    // the DDATA's record is in the log while the DBIRTH's is held: its PUBACK must still wait
    await eventually(
      () => log.heldCount > 0 && log.of(topics.telemetry).some((e) => e.partitionkey === 'gw-acks'),
      'DDATA durable, DBIRTH held',
    );
    expect(order).toEqual([]);
    log.release();
    await both;
    expect(order).toEqual(['DBIRTH', 'DDATA']);
    await client.endAsync();
  });

  it('bridges births and deaths as device-state events, keyed by edge node, in order', async () => {
    const node = edgeNode(site, 'gw-order');
    const client = await gatewayClient('gw-order');
    const before = log.of(topics.deviceState).length;
    await client.publishAsync(node.nbirth().topic, node.nbirth().payload, { qos: 1 });
    await client.publishAsync(node.dbirth('shelf-7').topic, node.dbirth('shelf-7').payload, { qos: 1 });
    const seqs: number[] = [];
    const sends = [];
    for (let i = 0; i < 20; i++) {
      const m = node.ddata('shelf-7', 2);
      seqs.push(m.firstSeq, m.firstSeq + 1);
      sends.push(client.publishAsync(m.topic, m.payload, { qos: 1 }));
    }
    await Promise.all(sends);
    const states = log.of(topics.deviceState).slice(before);
    expect(states.map((e) => (e.data as { kind: string }).kind)).toEqual(['NBIRTH', 'DBIRTH']);
    expect((states[1]!.data as { serialNumber: string }).serialNumber).toBe('shelf-7');
    const bridged = log
      .of(topics.telemetry)
      .filter((e) => e.partitionkey === 'gw-order')
      .flatMap((e) => (e.data as { readings: { seq: number }[] }).readings.map((r) => r.seq));
    expect(bridged).toEqual(seqs);
    await client.endAsync();
  });

  it('stops acknowledging while the log is down, says so in STATE, and resumes by itself', async () => {
    const node = edgeNode(site, 'gw-down');
    const watcher = await gatewayClient('gw-watch');
    const states: boolean[] = [];
    watcher.on('message', (topic, payload) => {
      if (topic === 'spBv1.0/STATE/bv-cloud') states.push(decodeState(payload).online);
    });
    expect(await grant(watcher, 'spBv1.0/STATE/bv-cloud')).toBe(1);
    await eventually(() => states.at(-1) === true, 'retained STATE online');

    log.down = true;
    const client = await gatewayClient('gw-down', { clean: false });
    const m = node.ddata('shelf-1', 1);
    let acked = false;
    client.publish(m.topic, m.payload, { qos: 1 }, (error) => {
      if (!error) acked = true;
    });
    // not durable within the ack timeout: the connection is closed without a PUBACK
    await closed(client);
    expect(acked).toBe(false);
    expect(await metricValue(t.registry, 'bv_gateway_bridge_ack_timeouts_total')).toBeGreaterThanOrEqual(1);
    expect(await metricValue(t.registry, 'bv_gateway_event_log_errors_total')).toBeGreaterThanOrEqual(1);
    await eventually(() => states.at(-1) === false, 'STATE offline while the log is down');
    expect(log.of(topics.telemetry).some((e) => e.partitionkey === 'gw-down')).toBe(false);

    log.down = false;
    await eventually(() => states.at(-1) === true, 'STATE online again', 15_000);
    // the device sends the message again after reconnecting; now it is taken and acknowledged
    const again = await gatewayClient('gw-down', { clean: false });
    await again.publishAsync(m.topic, m.payload, { qos: 1, dup: true } as never);
    expect(log.of(topics.telemetry).filter((e) => e.partitionkey === 'gw-down')).toHaveLength(1);
    await again.endAsync();
    await watcher.endAsync();
  });

  it('counts and drops malformed payloads without harming the client or others', async () => {
    const client = await gatewayClient('gw-bad');
    const other = await gatewayClient('gw-good');
    const snoop = await connect(t.gw.mqttUrl, {
      clientId: '',
      username: 'root',
      password: await issuer.user('root', 'admin'),
    });
    const seen = await collect(snoop, `spBv1.0/${site}/#`);
    const before = await metricValue(t.registry, 'bv_gateway_dropped_total', { reason: 'malformed_payload' });
    const bad = [
      Buffer.from('not protobuf at all \u00ff\u00fe'),
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      Buffer.alloc(0),
    ];
    for (const payload of bad) {
      await client.publishAsync(`spBv1.0/${site}/DDATA/gw-bad/shelf-1`, payload, { qos: 1 });
    }
    // a shelf's DBIRTH (it has device/bin_count) with a bin count out of range is not a valid birth;
    // one without device/bin_count is a generic device's (translate-generic.test.ts, #13 item 8)
    const badBirth = encodePayload({
      timestamp: Date.now(),
      seq: 1,
      metrics: [{ name: 'device/bin_count', type: 'UInt32', value: 999, timestamp: Date.now() }],
    });
    await client.publishAsync(`spBv1.0/${site}/DBIRTH/gw-bad/shelf-1`, Buffer.from(badBirth), { qos: 1 });
    expect(await metricValue(t.registry, 'bv_gateway_dropped_total', { reason: 'malformed_payload' })).toBe(
      before + 4,
    );
    expect(client.connected).toBe(true);
    const good = edgeNode(site, 'gw-good').ddata('shelf-2', 1);
    await other.publishAsync(good.topic, good.payload, { qos: 1 });
    await eventually(() => seen.messages.some((m) => m.topic === good.topic), 'the good message delivered');
    // dropped messages reach no subscriber
    expect(seen.messages.filter((m) => m.topic.includes('gw-bad'))).toHaveLength(0);
    expect(log.of(topics.telemetry).some((e) => e.partitionkey === 'gw-bad')).toBe(false);
    await Promise.all([client.endAsync(), other.endAsync(), snoop.endAsync()]);
  });

  it('closes a connection announcing an oversized packet, counts it, others unaffected', async () => {
    const other = await gatewayClient('gw-fine');
    const before = await metricValue(t.registry, 'bv_gateway_dropped_total', { reason: 'oversized_packet' });
    const big = await gatewayClient('gw-big');
    const gone = closed(big);
    big.publish(`spBv1.0/${site}/DDATA/gw-big/shelf-1`, Buffer.alloc(100 * 1024, 1), { qos: 1 });
    await gone;
    expect(await metricValue(t.registry, 'bv_gateway_dropped_total', { reason: 'oversized_packet' })).toBe(
      before + 1,
    );
    // a raw header announcing 200 MB is refused before anything is buffered
    const raw = new Socket();
    await new Promise<void>((r) => raw.connect(Number(new URL(t.gw.mqttUrl).port), '127.0.0.1', r));
    const rawClosed = new Promise<void>((r) => raw.once('close', () => r()));
    raw.on('error', () => undefined);
    raw.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x64]));
    await rawClosed;
    const m = edgeNode(site, 'gw-fine').ddata('shelf-1', 1);
    await other.publishAsync(m.topic, m.payload, { qos: 1 });
    expect(other.connected).toBe(true);
    await other.endAsync();
  });

  it('closes connections sending invalid topics or garbage, others unaffected', async () => {
    const other = await gatewayClient('gw-fine2');
    const garbage = new Socket();
    await new Promise<void>((r) => garbage.connect(Number(new URL(t.gw.mqttUrl).port), '127.0.0.1', r));
    const garbageClosed = new Promise<void>((r) => garbage.once('close', () => r()));
    garbage.on('error', () => undefined);
    garbage.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await garbageClosed;

    const bad = await gatewayClient('gw-topic');
    const gone = closed(bad);
    // a Sparkplug topic with a device level on a node message type is not a valid uplink topic
    bad.publish(`spBv1.0/${site}/NDATA/gw-topic/extra`, 'x', { qos: 1 });
    await gone;
    const m = edgeNode(site, 'gw-fine2').ddata('shelf-1', 1);
    await other.publishAsync(m.topic, m.payload, { qos: 1 });
    expect(await metricValue(t.registry, 'bv_gateway_client_errors_total')).toBeGreaterThanOrEqual(1);
    await other.endAsync();
  });

  it('sends commands from bv.commands down as DCMD; expired ones and ones nobody can receive back as results', async () => {
    const client = await gatewayClient('gw-cmd');
    const received: { topic: string; payload: Buffer }[] = [];
    client.on('message', (topic, payload) => received.push({ topic, payload }));
    await client.subscribeAsync(`spBv1.0/${site}/DCMD/gw-cmd/+`, { qos: 1 });
    const commandId = randomUUID();
    await requestCommand('gw-cmd', { commandId, deviceId: 'shelf-4', command: { action: 'tare', bin: 3 } });
    await eventually(() => received.length > 0, 'the DCMD');
    expect(received[0]!.topic).toBe(`spBv1.0/${site}/DCMD/gw-cmd/shelf-4`);
    const decoded = decodeCommands(received[0]!.payload);
    expect(decoded.commands).toEqual([
      expect.objectContaining({ id: commandId, action: { action: 'tare', bin: 3 } }),
    ]);

    const expiredId = randomUUID();
    await requestCommand('gw-cmd', {
      commandId: expiredId,
      command: { action: 'reboot' },
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const results = log.of(topics.commandResults).map((e) => e.data as { commandId: string; status: string });
    expect(results).toContainEqual(expect.objectContaining({ commandId: expiredId, status: 'expired' }));

    // an edge node with no subscription for its commands (not connected): failed at once, not lost,
    // even while an operator watches every Sparkplug topic of the site
    const watcher = await connect(t.gw.mqttUrl, {
      clientId: 'ops-watch',
      username: 'ops-watch',
      password: await issuer.user('ops-watch', 'operator'),
    });
    const watched: string[] = [];
    watcher.on('message', (topic) => watched.push(topic));
    await watcher.subscribeAsync(`spBv1.0/${site}/#`, { qos: 1 });
    const before = await metricValue(t.registry, 'bv_gateway_commands_total', { result: 'not_connected' });
    const strandedId = randomUUID();
    await requestCommand('gw-away', { commandId: strandedId, command: { action: 'rebirth' } });
    await eventually(
      () =>
        log.of(topics.commandResults).some((e) => (e.data as { commandId: string }).commandId === strandedId),
      'a result for the command nobody can receive',
    );
    const stranded = log
      .of(topics.commandResults)
      .find((e) => (e.data as { commandId: string }).commandId === strandedId);
    expect(stranded?.data).toMatchObject({ status: 'failed', reason: 'edge node gw-away is not connected' });
    expect(await metricValue(t.registry, 'bv_gateway_commands_total', { result: 'not_connected' })).toBe(
      before + 1,
    );
    expect(watched.filter((topic) => topic.includes('/gw-away'))).toEqual([]);
    await watcher.endAsync();
    await client.endAsync();
  });

  it('bridges command results, outbox health and the NDEATH will', async () => {
    const commandId = randomUUID();
    const client = await gatewayClient('gw-res', {
      will: {
        topic: nodeTopic('NDEATH', site, 'gw-res'),
        payload: Buffer.from(encodeNodeDeath(7)),
        qos: 1,
        retain: false,
      },
    });
    const results = encodeReadings([{ seq: 1, time: Date.now(), bins: [{ bin: 0, weightG: 5 }] }], {
      seq: 3,
      historical: false,
      extraMetrics: commandResultMetrics([
        { id: commandId, status: 'failed', reason: 'bin 9 does not exist' },
      ]),
    });
    await client.publishAsync(deviceTopic('DDATA', site, 'gw-res', 'shelf-2'), Buffer.from(results), {
      qos: 1,
    });
    const health = encodePayload({
      timestamp: Date.now(),
      seq: 4,
      metrics: nodeHealthMetrics({ outboxDepth: 12, oldestUnsentMs: 3400, droppedTotal: 0 }),
    });
    await client.publishAsync(nodeTopic('NDATA', site, 'gw-res'), Buffer.from(health), { qos: 1 });

    const result = log
      .of(topics.commandResults)
      .find((e) => (e.data as { commandId: string }).commandId === commandId);
    expect(result?.data).toMatchObject({
      edgeNodeId: 'gw-res',
      deviceId: 'shelf-2',
      status: 'failed',
      reason: 'bin 9 does not exist',
    });
    expect(result?.partitionkey).toBe('gw-res');
    expect(log.of(topics.telemetry).some((e) => e.partitionkey === 'gw-res')).toBe(true);
    const state = log.of(topics.deviceState).filter((e) => e.partitionkey === 'gw-res');
    expect(state.at(-1)?.data).toMatchObject({ kind: 'NDATA', queueDepth: 12, oldestUnsentMs: 3400 });

    // an ungraceful end: the broker publishes the NDEATH will, which is bridged too
    client.stream.destroy();
    await eventually(
      () =>
        log
          .of(topics.deviceState)
          .some((e) => e.partitionkey === 'gw-res' && (e.data as { kind: string }).kind === 'NDEATH'),
      'the NDEATH will bridged',
    );
    const death = log
      .of(topics.deviceState)
      .find((e) => e.partitionkey === 'gw-res' && (e.data as { kind: string }).kind === 'NDEATH');
    expect(death?.data).toMatchObject({ online: false, bdSeq: 7 });
  });

  it("bridges the agent's gap reports as telemetry gap events; a malformed one is skipped alone", async () => {
    const client = await gatewayClient('gw-gap');
    const gaps = encodePayload({
      timestamp: Date.now(),
      seq: 5,
      metrics: [
        ...nodeHealthMetrics({ outboxDepth: 100, oldestUnsentMs: 0, droppedTotal: 40 }),
        ...gapMetrics([
          { device: 'shelf-7', kind: 'dropped', reason: 'max_rows', fromSeq: 11, toSeq: 50, count: 40 },
          {
            device: 'shelf-8',
            kind: 'link',
            reason: 'frames never received',
            fromSeq: 3,
            toSeq: 4,
            count: 2,
          },
        ]),
      ],
    });
    await client.publishAsync(nodeTopic('NDATA', site, 'gw-gap'), Buffer.from(gaps), { qos: 1 });
    const reported = log
      .of(topics.telemetry)
      .filter((e) => e.partitionkey === 'gw-gap' && e.type === 'bv.telemetry.gap.v1');
    expect(reported.map((e) => e.data)).toEqual([
      {
        groupId: site,
        edgeNodeId: 'gw-gap',
        deviceId: 'shelf-7',
        kind: 'dropped',
        reason: 'max_rows',
        fromSeq: 11,
        toSeq: 50,
        count: 40,
      },
      {
        groupId: site,
        edgeNodeId: 'gw-gap',
        deviceId: 'shelf-8',
        kind: 'link',
        reason: 'frames never received',
        fromSeq: 3,
        toSeq: 4,
        count: 2,
      },
    ]);

    // a report cut short (no count): skipped and counted, the health in the same NDATA still bridged
    const before = await metricValue(t.registry, 'bv_gateway_dropped_total', { reason: 'gap_report' });
    const cut = gapMetrics([
      { device: 'shelf-9', kind: 'dropped', reason: 'x', fromSeq: 1, toSeq: 2, count: 2 },
    ]);
    const bad = encodePayload({
      timestamp: Date.now(),
      seq: 6,
      metrics: [
        ...nodeHealthMetrics({ outboxDepth: 7, oldestUnsentMs: 0, droppedTotal: 40 }),
        ...cut.filter((m) => m.name !== 'outbox/gap/count'),
      ],
    });
    await client.publishAsync(nodeTopic('NDATA', site, 'gw-gap'), Buffer.from(bad), { qos: 1 });
    expect(await metricValue(t.registry, 'bv_gateway_dropped_total', { reason: 'gap_report' })).toBe(
      before + 1,
    );
    const state = log.of(topics.deviceState).filter((e) => e.partitionkey === 'gw-gap');
    expect(state.at(-1)?.data).toMatchObject({ kind: 'NDATA', queueDepth: 7 });
    expect(
      log.of(topics.telemetry).filter((e) => e.partitionkey === 'gw-gap' && e.type === 'bv.telemetry.gap.v1'),
    ).toHaveLength(2);
    await client.endAsync();
  });
});
