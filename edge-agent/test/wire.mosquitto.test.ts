import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encodeCommands, encodePayload, encodeState, stateTopic } from '@bitv/shared/sparkplug';
import { eventually, mosquittoUrl, serverAvailable, tempDir } from '@bitv/shared/testing';
import { connect } from 'mqtt';
import { get } from 'sparkplug-payload';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeAgentHandle } from '../src/agent.js';
import type { EdgeConfig } from '../src/config.js';
import { type PtyPair, startPtyPair } from './harness/pty.js';
import { TestShelf } from './harness/shelf.js';
import { TestSubscriber } from './harness/subscriber.js';
import { startTestAgent, testConfig } from './helpers.js';

const tahu = get('spBv1.0')!;

describe.skipIf(!(await serverAvailable('mosquitto')))('edge agent against Mosquitto', () => {
  let dir: { path: string; remove(): Promise<void> };
  let pty: PtyPair;
  let shelf: TestShelf;
  let sub: TestSubscriber;
  let config: EdgeConfig;
  let agent: EdgeAgentHandle;
  let metric: (name: string) => Promise<number>;
  const raw: { topic: string; bytes: Buffer }[] = [];
  let rawClient: ReturnType<typeof connect>;
  const device = 'shelf-WIRE01';

  beforeAll(async () => {
    dir = await tempDir('bv-edge-wire-');
    pty = await startPtyPair(dir.path, 'shelf');
    shelf = new TestShelf('WIRE01', 4, pty.devicePath);
    await shelf.open();
    config = testConfig(dir.path, mosquittoUrl(), {
      serialPorts: [pty.hostPath],
      waitForHost: true,
      maxReadingsPerMessage: 1, // one message per reading: 300 readings wrap seq past 255
    });
    sub = new TestSubscriber(mosquittoUrl(), config.groupId);
    await sub.start();
    rawClient = connect(mosquittoUrl(), { clean: true });
    await new Promise<void>((resolve) => rawClient.once('connect', () => resolve()));
    rawClient.on('message', (topic, bytes) => raw.push({ topic, bytes }));
    await rawClient.subscribeAsync(`spBv1.0/${config.groupId}/#`, { qos: 1 });
    const started = await startTestAgent(config);
    agent = started.agent;
    metric = started.metric;
  });

  afterAll(async () => {
    await agent?.close();
    // Clear the retained STATE on the shared broker.
    await sub?.publish(stateTopic(config.primaryHostId), Buffer.alloc(0), true);
    await sub?.close();
    await rawClient?.endAsync(true);
    await shelf?.close();
    await pty?.stop();
    await dir?.remove();
  });

  it('waits for the primary host, then births and streams every reading in order', async () => {
    for (let i = 0; i < 5; i++) shelf.emitReading();
    await eventually(() => agent.status().uplink.state === 'waiting-for-host', 'waiting for host');
    await eventually(() => agent.status().outbox.depth === 5, '5 readings stored while the host is offline');
    expect(sub.messages.filter((m) => m.type === 'NBIRTH')).toHaveLength(0);
    await sub.publish(
      stateTopic(config.primaryHostId),
      encodeState({ online: true, timestamp: Date.now() }),
      true,
    );
    shelf.stream(5);
    await eventually(() => shelf.produced.length >= 300, 'shelf produced 300', 20_000);
    shelf.stopStreaming();
    await eventually(() => sub.count(device) === shelf.produced.length, 'all readings delivered', 20_000);
    const got = [...sub.readings.get(device)!.values()].map((r) => r.reading).sort((a, b) => a.seq - b.seq);
    expect(got.map((r) => r.seq)).toEqual(got.map((_, i) => i + 1));
    got.forEach((r, n) => {
      expect(r.bins).toEqual(shelf.produced[n]!.weightsDg.map((dg, bin) => ({ bin, weightG: dg / 10 })));
      expect(r.temperatureC).toBe(21.5);
    });
    // Readings keep the shelf's own timing (device clock, anchored once): same spacing.
    for (const i of [1, 50, 200, 299]) {
      expect(Date.parse(got[i]!.time) - Date.parse(got[i - 1]!.time)).toBe(
        shelf.produced[i]!.deviceTimeMs - shelf.produced[i - 1]!.deviceTimeMs,
      );
    }
    // The first 5 were stored while the host was offline: they go up historical.
    const bySeq = sub.readings.get(device)!;
    expect([1, 2, 3, 4, 5].map((seq) => bySeq.get(seq)!.historical)).toEqual([true, true, true, true, true]);
    expect(bySeq.get(got.length)!.historical).toBe(false);
    expect(sub.seqErrors).toEqual([]);
  }, 60_000);

  it('publishes a wire format that Tahu decodes to the Sparkplug rules', () => {
    const ours = raw.filter((r) => r.topic.includes(`/${config.edgeNodeId}`));
    const decoded = ours.map((r) => ({ topic: r.topic, p: tahu.decodePayload(new Uint8Array(r.bytes)) }));
    const nbirth = decoded.find((d) => d.topic === `spBv1.0/${config.groupId}/NBIRTH/${config.edgeNodeId}`)!;
    expect(Number(nbirth.p.seq)).toBe(0);
    const bdSeq = nbirth.p.metrics!.find((m) => m.name === 'bdSeq')!;
    expect(bdSeq.type).toBe('UInt64');
    expect(nbirth.p.metrics!.find((m) => m.name === 'Node Control/Rebirth')).toMatchObject({
      type: 'Boolean',
      value: false,
    });
    const dbirthIndex = decoded.findIndex(
      (d) => d.topic === `spBv1.0/${config.groupId}/DBIRTH/${config.edgeNodeId}/${device}`,
    );
    const firstData = decoded.findIndex((d) => d.topic.includes('/DDATA/'));
    expect(dbirthIndex).toBeGreaterThan(0);
    expect(firstData).toBeGreaterThan(dbirthIndex);
    const dbirth = decoded[dbirthIndex]!.p;
    expect(dbirth.metrics!.map((m) => m.name)).toEqual(
      expect.arrayContaining([
        'device/serial',
        'device/firmware',
        'device/bin_count',
        'bin/00/weight_g',
        'bin/03/weight_g',
        'temperature_c',
      ]),
    );
    // seq: 0 on NBIRTH, then +1 per message, 255 -> 0.
    const seqs = decoded
      .filter((d) => !d.topic.includes('/NCMD/') && !d.topic.includes('/DCMD/'))
      .map((d) => Number(d.p.seq));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1]! + 1) % 256);
    expect(seqs.filter((s) => s === 255).length).toBeGreaterThan(0);
    expect(seqs.indexOf(0, 1)).toBeGreaterThan(seqs.indexOf(255));
    // Every DDATA metric carries a timestamp and a known name.
    for (const d of decoded.filter((x) => x.topic.includes('/DDATA/'))) {
      for (const m of d.p.metrics!) {
        expect(m.timestamp).toBeDefined();
        expect(m.name).toMatch(
          /^(reading\/seq|bin\/\d{2,3}\/weight_g|temperature_c|command\/(id|status|reason))$/,
        );
      }
    }
  });

  it('runs commands once, answers NACKs and timeouts, refuses bad input and keeps running', async () => {
    const dcmd = `spBv1.0/${config.groupId}/DCMD/${config.edgeNodeId}/${device}`;
    const ncmd = `spBv1.0/${config.groupId}/NCMD/${config.edgeNodeId}`;
    const tare = randomUUID();
    const bad = randomUUID();
    const expired = randomUUID();
    const unknownDevice = randomUUID();
    const cmd = (id: string, action: object, expiresAt = Date.now() + 60_000) =>
      encodeCommands({ commands: [{ id, action: action as never, expiresAt }] });
    await sub.publish(dcmd, cmd(tare, { action: 'tare', bin: 1 }));
    await sub.publish(dcmd, cmd(tare, { action: 'tare', bin: 1 })); // redelivered: not run twice
    await sub.publish(dcmd, cmd(bad, { action: 'tare', bin: 9 }));
    await sub.publish(dcmd, cmd(expired, { action: 'reboot' }, Date.now() - 1000));
    await sub.publish(
      `spBv1.0/${config.groupId}/DCMD/${config.edgeNodeId}/shelf-NOPE`,
      cmd(unknownDevice, { action: 'reboot' }),
    );
    // Malformed: not protobuf; an unknown metric; an oversized payload; a command/json too large.
    await sub.publish(dcmd, Buffer.from('definitely not sparkplug'));
    await sub.publish(dcmd, encodePayload({ metrics: [{ name: 'weird/metric', type: 'Int32', value: 1 }] }));
    await sub.publish(dcmd, Buffer.alloc(config.maxCommandPayloadBytes + 1, 1));
    const huge = randomUUID();
    await sub.publish(
      dcmd,
      encodePayload({
        metrics: [
          { name: 'command/id', type: 'String', value: huge },
          {
            name: 'command/json',
            type: 'String',
            value: JSON.stringify({ action: 'tare', bin: 1, x: 'y'.repeat(5000) }),
          },
        ],
      }),
    );
    const status = (id: string) => sub.results.find((r) => r.id === id);
    await eventually(
      () => status(tare) && status(bad) && status(expired) && status(unknownDevice) && status(huge),
      'results',
      15_000,
    );
    expect(status(tare)!.status).toBe('done');
    expect(status(bad)).toMatchObject({ status: 'failed', reason: 'NACK invalid_bin' });
    expect(status(expired)!.status).toBe('expired');
    expect(status(unknownDevice)).toMatchObject({ status: 'failed', reason: 'device not linked' });
    expect(status(huge)).toMatchObject({ status: 'failed' });
    expect(
      shelf.commands.filter((c) => c.type === 'command' && c.command.op === 'tare' && c.command.bin === 1),
    ).toHaveLength(1);
    expect(sub.results.filter((r) => r.id === tare).length).toBeGreaterThanOrEqual(1);
    expect(await metric('bv_edge_commands_rejected_total')).toBeGreaterThanOrEqual(2);
    expect(await metric('bv_edge_unknown_metrics_total')).toBe(1);
    // Rebirth on request: a new NBIRTH (seq 0) in the same session.
    const births = sub.messages.filter((m) => m.type === 'NBIRTH').length;
    await sub.publish(ncmd, encodeCommands({ rebirth: true }));
    await eventually(() => sub.messages.filter((m) => m.type === 'NBIRTH').length === births + 1, 'rebirth');
    // Garbage on the serial line: counted, readings keep flowing.
    const before = shelf.produced.length;
    shelf.writeRaw(Uint8Array.from([1, 2, 3, 0, 0xff, 0xfe, 9, 9, 9, 0, 5]));
    for (let i = 0; i < 20; i++) shelf.emitReading();
    await eventually(() => sub.count(device) === before + 20, 'readings after garbage');
    expect(await metric('bv_edge_serial_bad_frames_total')).toBeGreaterThan(0);
    expect(sub.gaps).toEqual([]);
  }, 60_000);

  it('serves /healthz, /metrics and `bitv-edge status` from the running agent', async () => {
    const health = (await (await fetch(`${agent.opsUrl}/healthz`)).json()) as {
      ok: boolean;
      checks: { uplink: { state: string } };
    };
    expect(health).toMatchObject({ ok: true, checks: { uplink: { state: 'online' } } });
    const metrics = await (await fetch(`${agent.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/bv_edge_readings_published_total\{historical="false"\} \d+/);
    const port = new URL(agent.opsUrl!).port;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [fileURLToPath(new URL('../bin/bitv-edge.mjs', import.meta.url)), 'status'],
      {
        env: { ...process.env, BV_EDGE_OPS_PORT: port, BV_EDGE_DATA_DIR: config.dataDir },
      },
    );
    expect(stdout).toMatch(/uplink: online/);
    expect(stdout).toMatch(/queue depth: \d+/);
    expect(stdout).toMatch(new RegExp(`serial:${pty.hostPath}: up ${device}`));
  }, 30_000);

  it('ends with an NDEATH whose bdSeq matches the NBIRTH', async () => {
    await agent.close();
    await eventually(() => sub.bdSeqs.some((b) => b.type === 'NDEATH'), 'NDEATH');
    const births = sub.bdSeqs.filter((b) => b.type === 'NBIRTH').map((b) => b.bdSeq);
    const death = sub.bdSeqs.find((b) => b.type === 'NDEATH')!.bdSeq;
    expect(new Set(births)).toEqual(new Set([death]));
  });
});
