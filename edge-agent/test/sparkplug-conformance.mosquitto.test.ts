import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { encodeCommands, encodeState, stateTopic } from '@bitv/shared/sparkplug';
import { eventually, serverAvailable, tempDir } from '@bitv/shared/testing';
import { connect, type MqttClient } from 'mqtt';
import { get } from 'sparkplug-payload';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeAgentHandle } from '../src/agent.js';
import type { EdgeConfig } from '../src/config.js';
import { DeviceDirectory } from '../src/devices.js';
import { agentMetrics } from '../src/metrics.js';
import { CommandStore, Outbox } from '../src/outbox/index.js';
import { Uplink } from '../src/uplink/uplink.js';
import { freePort } from './harness/broker.js';
import { TestShelf } from './harness/shelf.js';
import { startTestAgent, testConfig } from './helpers.js';

/**
 * Sparkplug B 3.0 conformance of the edge agent as an edge node, one test per statement, named by
 * its TCK id. The agent runs against a private, verbose Mosquitto: its log shows what the agent
 * sent (QoS and retain of each PUBLISH, DISCONNECT or a dropped connection), and a subscriber
 * records what the host would see. The scenario: births, 300 readings one per DDATA (seq wraps
 * past 255), periodic health NDATA, a device command and one for an unknown device (results in
 * DDATA and NDATA), readings of a shelf that grew two bins, an NCMD rebirth, then a graceful stop.
 */

const tahu = get('spBv1.0')!;
type Decoded = ReturnType<typeof tahu.decodePayload>;

interface Recorded {
  topic: string;
  type: string;
  device: string | undefined;
  qos: number;
  retain: boolean;
  p: Decoded;
}

/**
 * A private Mosquitto with -v: every PUBLISH, CONNECT will and DISCONNECT it handles is in `log`.
 *
 * Without an in-flight window (max_inflight_messages 0) it passes messages on in the order it
 * received them. With its default window of 20, a recorder slow to acknowledge (a loaded machine)
 * has the agent's QoS 1 DDATA queued behind the window while a QoS 0 NDATA goes straight out:
 * MQTT orders messages per topic and QoS only [MQTT-4.6.0-6], so the recorder saw an NDATA seq
 * "jump" (57 -> 67, nine DDATA still queued) though the agent sent them in order. Shown with a
 * subscriber that holds its PUBACKs: the QoS 0 message arrives 21st of 32 with the window, in its
 * place without it.
 */
async function verboseBroker(): Promise<{ url: string; log: string[]; process: ChildProcess }> {
  const port = await freePort();
  const log: string[] = [];
  const dir = await tempDir('bv-edge-mosquitto-');
  const config = join(dir.path, 'mosquitto.conf');
  await writeFile(config, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 0\n`);
  const child = spawn('mosquitto', ['-v', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.once('exit', () => void dir.remove());
  for (const stream of [child.stdout!, child.stderr!])
    stream.on('data', (chunk: Buffer) => log.push(...chunk.toString().split('\n')));
  await eventually(() => log.some((l) => l.includes('running')), 'mosquitto running');
  return { url: `mqtt://127.0.0.1:${port}`, log, process: child };
}

const covered = new Set<string>();
/** A test of one Sparkplug statement; the TCK id is its name's first word. */
function statement(id: string, text: string, fn: () => void | Promise<void>): void {
  it(`[${id}] ${text}`, async () => {
    await fn();
    covered.add(id);
  }, 30_000);
}

afterAll(() => console.log(`Sparkplug edge-node statements covered: ${covered.size}`));

describe.skipIf(!(await serverAvailable('mosquitto')))('Sparkplug B edge node conformance', () => {
  let dir: { path: string; remove(): Promise<void> };
  let broker: ChildProcess;
  let brokerLog: string[] = [];
  let url: string;
  let shelf: TestShelf;
  let config: EdgeConfig;
  let agent: EdgeAgentHandle;
  let sub: MqttClient;
  const recorded: Recorded[] = [];
  const marker = `bv-test/${randomUUID()}`;
  let markerSeen = false;
  const device = 'shelf-CONF01';

  const ofType = (type: string) => recorded.filter((r) => r.type === type);
  const names = (r: Recorded) => (r.p.metrics ?? []).map((m) => m.name ?? '');
  const seq = (r: Recorded) => (r.p.seq === undefined || r.p.seq === null ? undefined : Number(r.p.seq));
  const bdSeqOf = (r: Recorded) => Number(r.p.metrics?.find((m) => m.name === 'bdSeq')?.value);
  /** Mosquitto's -v lines for PUBLISHes received from the agent: `(d0, q1, r0, m3, 'topic', ...`. */
  const received = () =>
    brokerLog
      .map((l) => /Received PUBLISH from (\S+) \(d\d, q(\d), r(\d), m\d+, '([^']+)'/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && m[1] === config.edgeNodeId)
      .map((m) => ({ qos: Number(m[2]), retain: m[3] === '1', topic: m[4]! }));

  beforeAll(async () => {
    dir = await tempDir('bv-edge-conformance-');
    const b = await verboseBroker();
    broker = b.process;
    url = b.url;
    b.log.length = 0;
    brokerLog = b.log;

    shelf = new TestShelf('CONF01', 4);
    await shelf.open();
    config = testConfig(dir.path, url, {
      serialPorts: [shelf.hostPath],
      maxReadingsPerMessage: 1,
      healthIntervalMs: 100,
    });
    sub = connect(url, { clean: true });
    await new Promise<void>((resolve) => sub.once('connect', () => resolve()));
    sub.on('message', (topic, bytes, packet) => {
      if (topic === marker) {
        markerSeen = true;
        return;
      }
      const parts = topic.split('/');
      if (parts[2] === 'NCMD' || parts[2] === 'DCMD') return; // the host's (this test's) messages
      recorded.push({
        topic,
        type: parts[2]!,
        device: parts[4],
        qos: packet.qos,
        retain: packet.retain,
        p: tahu.decodePayload(new Uint8Array(bytes)),
      });
    });
    await sub.subscribeAsync([`spBv1.0/${config.groupId}/#`, marker], { qos: 1 });

    agent = (await startTestAgent(config)).agent;
    await eventually(() => ofType('DBIRTH').length > 0, 'DBIRTH');
    for (let i = 0; i < 300; i++) shelf.emitReading();
    const dcmd = `spBv1.0/${config.groupId}/DCMD/${config.edgeNodeId}`;
    const cmd = (id: string, action: object) =>
      encodeCommands({ commands: [{ id, action: action as never }] });
    await sub.publishAsync(`${dcmd}/${device}`, Buffer.from(cmd(randomUUID(), { action: 'tare', bin: 1 })), {
      qos: 1,
    });
    // No such device: the result goes up in an NDATA.
    await sub.publishAsync(`${dcmd}/shelf-NOPE`, Buffer.from(cmd(randomUUID(), { action: 'reboot' })), {
      qos: 1,
    });
    const readingsSeen = () => ofType('DDATA').filter((r) => names(r).includes('reading/seq')).length;
    await eventually(() => readingsSeen() >= 300, '300 readings', 20_000);
    // The shelf now reports six bins: its DDATA would carry bin/04 and bin/05, which its DBIRTH lacks.
    Object.assign(shelf, { bins: 6 });
    for (let i = 0; i < 3; i++) shelf.emitReading();
    await eventually(() => readingsSeen() >= 303, '303 readings');
    const births = ofType('NBIRTH').length;
    await sub.publishAsync(
      `spBv1.0/${config.groupId}/NCMD/${config.edgeNodeId}`,
      Buffer.from(encodeCommands({ rebirth: true })),
      { qos: 1 },
    );
    await eventually(() => ofType('NBIRTH').length > births, 'rebirth');
    await eventually(
      () => recorded.filter((r) => r.type === 'NDATA' && names(r).includes('command/id')).length > 0,
      'node command result',
    );
    await eventually(
      () => recorded.filter((r) => r.type === 'DDATA' && names(r).includes('command/id')).length > 0,
      'device command result',
    );
    const periodic = recorded.length;
    await eventually(
      () =>
        recorded.slice(periodic).some((r) => r.type === 'NDATA' && names(r).includes('outbox/dropped_total')),
      'a periodic health NDATA',
    );

    // Graceful stop; once the broker has dropped the agent's connection (and published its will if
    // it had to), a marker published after that reaches the subscriber after any NDEATH.
    await agent.close();
    await eventually(
      () =>
        brokerLog.some((l) =>
          new RegExp(`Client ${config.edgeNodeId} (disconnected|closed its connection)`).test(l),
        ),
      'broker saw the agent go',
    );
    await sub.publishAsync(marker, 'done', { qos: 1 });
    await eventually(() => markerSeen, 'marker');
  }, 60_000);

  afterAll(async () => {
    await sub?.endAsync(true);
    await shelf?.close();
    broker?.kill('SIGTERM');
    await dir?.remove();
  });

  statement(
    'tck-id-operational-behavior-data-publish-nbirth',
    'every NDATA metric (health, gap reports, command results) was declared by the NBIRTH before it',
    () => {
      let declared: Set<string> | undefined;
      let checked = 0;
      for (const r of recorded) {
        if (r.type === 'NBIRTH') declared = new Set(names(r));
        if (r.type !== 'NDATA') continue;
        expect(declared, 'NDATA before any NBIRTH').toBeDefined();
        for (const name of names(r))
          expect(declared!.has(name), `NDATA metric ${name} not in the NBIRTH`).toBe(true);
        checked++;
      }
      expect(checked).toBeGreaterThan(1);
    },
  );

  statement(
    'tck-id-operational-behavior-data-publish-dbirth',
    'every DDATA metric (readings, command results, lights, new bins) was declared by the DBIRTH before it',
    () => {
      const declared = new Map<string, Set<string>>();
      let checked = 0;
      for (const r of recorded) {
        if (r.type === 'DBIRTH') declared.set(r.device!, new Set(names(r)));
        if (r.type !== 'DDATA') continue;
        const d = declared.get(r.device!);
        expect(d, 'DDATA before its DBIRTH').toBeDefined();
        for (const name of names(r))
          expect(d!.has(name), `DDATA metric ${name} not in the DBIRTH`).toBe(true);
        checked++;
      }
      expect(checked).toBeGreaterThan(300);
      // The shelf's new bins were declared by a DBIRTH of their own before their readings.
      const grown = recorded.findIndex((r) => r.type === 'DDATA' && names(r).includes('bin/05/weight_g'));
      expect(grown).toBeGreaterThan(0);
    },
  );

  statement(
    'tck-id-operational-behavior-data-publish-nbirth-values',
    'NBIRTH metrics carry a value or is_null (no value)',
    () => {
      for (const r of ofType('NBIRTH'))
        for (const m of r.p.metrics ?? [])
          expect(m.value !== undefined || m.isNull === true, String(m.name)).toBe(true);
    },
  );

  statement(
    'tck-id-operational-behavior-data-publish-dbirth-values',
    'DBIRTH metrics carry a value or is_null (no value)',
    () => {
      for (const r of ofType('DBIRTH'))
        for (const m of r.p.metrics ?? [])
          expect(m.value !== undefined || m.isNull === true, String(m.name)).toBe(true);
    },
  );

  statement('tck-id-payloads-metric-datatype-req', 'every NBIRTH and DBIRTH metric has a datatype', () => {
    for (const r of [...ofType('NBIRTH'), ...ofType('DBIRTH')])
      for (const m of r.p.metrics ?? []) expect(m.type, String(m.name)).toBeTruthy();
  });

  statement(
    'tck-id-payloads-name-birth-data-requirement',
    'every metric of NBIRTH, DBIRTH, NDATA and DDATA has a timestamp',
    () => {
      for (const r of recorded.filter((r) => ['NBIRTH', 'DBIRTH', 'NDATA', 'DDATA'].includes(r.type)))
        for (const m of r.p.metrics ?? []) expect(m.timestamp, `${r.type} ${m.name}`).toBeDefined();
    },
  );

  statement('tck-id-payloads-name-requirement', 'every metric has a name (no aliases)', () => {
    for (const r of recorded) for (const m of r.p.metrics ?? []) expect(m.name, r.topic).toBeTruthy();
  });

  statement('tck-id-payloads-sequence-num-zero-nbirth', 'every NBIRTH has seq 0', () => {
    expect(ofType('NBIRTH').length).toBeGreaterThanOrEqual(2);
    for (const r of ofType('NBIRTH')) expect(seq(r)).toBe(0);
  });

  statement(
    'tck-id-payloads-sequence-num-always-included',
    'every message but NDEATH has a seq in 0..255',
    () => {
      for (const r of recorded.filter((r) => r.type !== 'NDEATH')) {
        expect(seq(r), r.topic).toBeGreaterThanOrEqual(0);
        expect(seq(r), r.topic).toBeLessThanOrEqual(255);
      }
    },
  );

  statement(
    'tck-id-payloads-sequence-num-incrementing',
    'after the NBIRTH each message has the previous seq plus one, 255 wrapping to 0',
    () => {
      let last: number | undefined;
      let wraps = 0;
      for (const r of recorded) {
        if (r.type === 'NDEATH') continue;
        const s = seq(r)!;
        if (r.type !== 'NBIRTH') {
          expect(s, `${r.type} after ${last}`).toBe(((last ?? -1) + 1) % 256);
          if (s === 0) wraps++;
        }
        last = s;
      }
      expect(wraps).toBeGreaterThanOrEqual(1);
    },
  );

  statement(
    'tck-id-message-flow-device-birth-publish-nbirth-wait',
    'the first DBIRTH comes after the NBIRTH',
    () => {
      expect(recorded.findIndex((r) => r.type === 'NBIRTH')).toBe(0);
      expect(recorded.findIndex((r) => r.type === 'DBIRTH')).toBeGreaterThan(0);
    },
  );

  statement('tck-id-payloads-dbirth-order', "no DDATA of a device before that device's DBIRTH", () => {
    const firstBirth = recorded.findIndex((r) => r.type === 'DBIRTH' && r.device === device);
    const firstData = recorded.findIndex((r) => r.type === 'DDATA' && r.device === device);
    expect(firstBirth).toBeGreaterThan(0);
    expect(firstData).toBeGreaterThan(firstBirth);
  });

  statement('tck-id-payloads-nbirth-qos', 'NBIRTH is published at QoS 0, not retained', () => {
    const nbirths = received().filter((p) => p.topic.includes('/NBIRTH/'));
    expect(nbirths.length).toBeGreaterThanOrEqual(2);
    for (const p of nbirths) expect(p).toMatchObject({ qos: 0, retain: false });
  });

  statement('tck-id-payloads-dbirth-qos', 'DBIRTH is published at QoS 0, not retained', () => {
    const dbirths = received().filter((p) => p.topic.includes('/DBIRTH/'));
    expect(dbirths.length).toBeGreaterThanOrEqual(2);
    for (const p of dbirths) expect(p).toMatchObject({ qos: 0, retain: false });
  });

  statement(
    'tck-id-message-flow-edge-node-birth-publish-will-message-qos',
    'the CONNECT carries the NDEATH as will, QoS 1, not retained',
    () => {
      const connects = brokerLog.flatMap((l, i) =>
        l.includes(`as ${config.edgeNodeId} `) ? [brokerLog[i + 1] ?? ''] : [],
      );
      expect(connects.length).toBeGreaterThan(0);
      for (const l of connects) expect(l).toMatch(/Will message specified .*\(r0, q1\)/);
    },
  );

  statement(
    'tck-id-operational-behavior-data-commands-rebirth-name',
    "the NBIRTH has 'Node Control/Rebirth', Boolean, false",
    () => {
      for (const r of ofType('NBIRTH'))
        expect(r.p.metrics?.find((m) => m.name === 'Node Control/Rebirth')).toMatchObject({
          type: 'Boolean',
          value: false,
        });
    },
  );

  statement(
    'tck-id-operational-behavior-data-commands-rebirth-action-2',
    'an NCMD rebirth is answered by an NBIRTH and then the DBIRTH of every device',
    () => {
      const second = recorded.findIndex((r, i) => i > 0 && r.type === 'NBIRTH');
      expect(second).toBeGreaterThan(0);
      expect(recorded[second + 1]).toMatchObject({ type: 'DBIRTH', device });
    },
  );

  statement(
    'tck-id-operational-behavior-data-commands-rebirth-action-3',
    'the NBIRTH of a rebirth carries the bdSeq of the connection (and of its will)',
    () => {
      const bdSeqs = ofType('NBIRTH').map(bdSeqOf);
      expect(new Set(bdSeqs).size).toBe(1);
    },
  );

  statement(
    'tck-id-operational-behavior-edge-node-intentional-disconnect-ndeath',
    'a graceful stop publishes one NDEATH, the agent’s own, with the bdSeq of the NBIRTH',
    () => {
      const deaths = ofType('NDEATH');
      expect(deaths).toHaveLength(1);
      expect(bdSeqOf(deaths[0]!)).toBe(bdSeqOf(ofType('NBIRTH')[0]!));
      // The agent published it (QoS 1): it is not the broker's will.
      expect(received().filter((p) => p.topic.includes('/NDEATH/'))).toEqual([
        { qos: 1, retain: false, topic: `spBv1.0/${config.groupId}/NDEATH/${config.edgeNodeId}` },
      ]);
    },
  );

  statement(
    'tck-id-operational-behavior-edge-node-intentional-disconnect-packet',
    'after its NDEATH the agent sends MQTT DISCONNECT, so the broker discards the will [MQTT-3.14.4-3]',
    () => {
      expect(brokerLog.some((l) => l.includes(`Received DISCONNECT from ${config.edgeNodeId}`))).toBe(true);
      expect(brokerLog.some((l) => l.includes(`Client ${config.edgeNodeId} closed its connection`))).toBe(
        false,
      );
    },
  );

  statement('tck-id-topics-ndeath-payload', 'the NDEATH carries only the bdSeq metric', () => {
    for (const r of ofType('NDEATH')) expect(names(r)).toEqual(['bdSeq']);
  });

  statement('tck-id-topics-ndeath-seq', 'the NDEATH has no seq', () => {
    for (const r of ofType('NDEATH')) expect(seq(r)).toBeUndefined();
  });
});

describe.skipIf(!(await serverAvailable('mosquitto')))(
  'Sparkplug B edge node conformance: primary host offline',
  () => {
    let dir: { path: string; remove(): Promise<void> };
    let broker: Awaited<ReturnType<typeof verboseBroker>>;
    let config: EdgeConfig;
    let agent: EdgeAgentHandle;
    let sub: MqttClient;
    const seen: { type: string; bdSeq?: number }[] = [];
    let births = 0;

    beforeAll(async () => {
      dir = await tempDir('bv-edge-conformance-host-');
      broker = await verboseBroker();
      config = testConfig(dir.path, broker.url, { waitForHost: true });
      sub = connect(broker.url, { clean: true });
      await new Promise<void>((resolve) => sub.once('connect', () => resolve()));
      sub.on('message', (topic, bytes) => {
        const type = topic.split('/')[2]!;
        const p = tahu.decodePayload(new Uint8Array(bytes));
        const bdSeq = p.metrics?.find((m) => m.name === 'bdSeq')?.value;
        seen.push({ type, ...(bdSeq === undefined ? {} : { bdSeq: Number(bdSeq) }) });
      });
      await sub.subscribeAsync(`spBv1.0/${config.groupId}/#`, { qos: 1 });
      const state = (online: boolean, timestamp: number) =>
        sub.publishAsync(stateTopic(config.primaryHostId), encodeState({ online, timestamp }), {
          qos: 1,
          retain: true,
        });
      agent = (await startTestAgent(config)).agent;
      await eventually(() => agent.status().uplink.state === 'waiting-for-host', 'waiting for the host');
      births = seen.filter((m) => m.type === 'NBIRTH').length;
      const t0 = Date.now();
      await state(true, t0);
      await eventually(() => seen.some((m) => m.type === 'NBIRTH'), 'NBIRTH');
      await state(false, t0 + 1);
      await eventually(
        () => agent.status().uplink.sessions >= 2 && agent.status().uplink.state === 'waiting-for-host',
        'next session waits',
      );
      await state(true, t0 + 2);
      await eventually(
        () => seen.filter((m) => m.type === 'NBIRTH').length === 2,
        'NBIRTH of the next session',
      );
      await agent.close();
    }, 60_000);

    afterAll(async () => {
      await sub?.publishAsync(stateTopic(config.primaryHostId), Buffer.alloc(0), { qos: 1, retain: true });
      await sub?.endAsync(true);
      broker?.process.kill('SIGTERM');
      await dir?.remove();
    });

    statement(
      'tck-id-message-flow-edge-node-birth-publish-phid-wait',
      'no NBIRTH before the primary host is online',
      () => {
        expect(births).toBe(0);
      },
    );

    statement(
      'tck-id-operational-behavior-edge-node-termination-host-offline',
      'the host going offline ends the session with one NDEATH (the agent’s, bdSeq of the NBIRTH) and DISCONNECT',
      () => {
        const first = seen.findIndex((m) => m.type === 'NBIRTH');
        const second = seen.findIndex((m, i) => i > first && m.type === 'NBIRTH');
        const deaths = seen.slice(first, second).filter((m) => m.type === 'NDEATH');
        expect(deaths).toEqual([{ type: 'NDEATH', bdSeq: seen[first]!.bdSeq }]);
        const ended = broker.log.filter((l) =>
          new RegExp(`(Received DISCONNECT from|Client) ${config.edgeNodeId}( closed its connection|$)`).test(
            l,
          ),
        );
        expect(ended[0]).toContain(`Received DISCONNECT from ${config.edgeNodeId}`);
      },
    );

    statement(
      'tck-id-operational-behavior-edge-node-termination-host-offline-reconnect',
      'the next session connects at once, with the next bdSeq, and births when the host is back',
      () => {
        const nbirths = seen.filter((m) => m.type === 'NBIRTH');
        expect(nbirths).toHaveLength(2);
        expect(nbirths[1]!.bdSeq).toBe((nbirths[0]!.bdSeq! + 1) % 256);
      },
    );
  },
);

describe.skipIf(!(await serverAvailable('mosquitto')))(
  'Sparkplug B edge node conformance: a live metric the birth lacks',
  () => {
    statement(
      'tck-id-operational-behavior-data-publish-dbirth',
      'a live metric first reported after the DBIRTH (a Firmata pin) is born in a new DBIRTH, once, before its DDATA',
      async () => {
        const dir = await tempDir('bv-edge-conformance-live-');
        const broker = await verboseBroker();
        const config = testConfig(dir.path, broker.url);
        const outbox = Outbox.open({
          path: join(dir.path, 'outbox.db'),
          durability: 'normal',
          policy: 'drop-oldest',
          maxRows: 1000,
          maxBytes: 10_000_000,
          maxAgeMs: 3_600_000,
        });
        const devices = new DeviceDirectory(outbox);
        const sub = connect(broker.url, { clean: true });
        const seen: { type: string; names: string[] }[] = [];
        try {
          await new Promise<void>((resolve) => sub.once('connect', () => resolve()));
          sub.on('message', (topic, bytes) =>
            seen.push({
              type: topic.split('/')[2]!,
              names: (tahu.decodePayload(new Uint8Array(bytes)).metrics ?? []).map((m) => m.name ?? ''),
            }),
          );
          await sub.subscribeAsync(`spBv1.0/${config.groupId}/#`, { qos: 1 });
          const uplink = new Uplink(
            {
              brokerUrl: broker.url,
              groupId: config.groupId,
              edgeNodeId: config.edgeNodeId,
              primaryHostId: undefined,
              clientId: config.edgeNodeId,
              keepaliveSeconds: 30,
              connectTimeoutMs: 5000,
              maxInFlight: 10,
              maxReadingsPerMessage: 10,
              reconnectInitialDelayMs: 100,
              reconnectMaxDelayMs: 1000,
              healthIntervalMs: 60_000,
              agentVersion: 'test',
              credentials: () => ({}),
            },
            {
              outbox,
              commands: new CommandStore(outbox.db),
              devices,
              logger: silentLogger,
              metrics: agentMetrics(createRegistry()),
              onCommand: () => undefined,
            },
          );
          devices.online({ name: 'board-1', serialNumber: 'B1', firmware: 'f', binCount: 0 });
          uplink.start();
          await eventually(() => seen.some((m) => m.type === 'DBIRTH'), 'DBIRTH');
          const door = [{ name: 'door/open', type: 'Boolean' as const, value: true, timestamp: Date.now() }];
          devices.setMetrics('board-1', door);
          uplink.publishLive('board-1', door);
          await eventually(() => seen.some((m) => m.type === 'DDATA'), 'DDATA');
          await uplink.close();
          const births = seen.filter((m) => m.type === 'DBIRTH');
          expect(births).toHaveLength(2);
          expect(births[0]!.names).not.toContain('door/open');
          expect(births[1]!.names.filter((n) => n === 'door/open')).toHaveLength(1);
          expect(seen.findIndex((m) => m.type === 'DDATA')).toBeGreaterThan(seen.lastIndexOf(births[1]!));
        } finally {
          await sub.endAsync(true);
          outbox.close();
          broker.process.kill('SIGTERM');
          await dir.remove();
        }
      },
    );
  },
);
