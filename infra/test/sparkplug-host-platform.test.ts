import { provision } from '@bitv/edge-agent';
import {
  decodeCommands,
  decodeState,
  encodeNodeBirth,
  encodeNodeDeath,
  encodePayload,
  encodeState,
  type HostState,
  nodeTopic,
  stateTopic,
} from '@bitv/shared/sparkplug';
import { eventually, postgresUrl, serverAvailable, tempDir, uniqueName } from '@bitv/shared/testing';
import { type FaultProxy, startFaultProxy } from '@bitv/shared/testing/fault-proxy';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eAdmin } from './browser.js';
import { heal } from './chaos-harness.js';
import { type GatewayRig, startGatewayRig } from './gateway-rig.js';
import { type RunningPlatform, startPlatformProcess } from './platform-process.js';

/*
 * Issue #13, "the Sparkplug host checks also hold for our cloud as the primary host". The cloud
 * does not speak MQTT: the gateway is the primary host on its behalf, under the host id the cloud
 * hands out at provisioning (BV_PRIMARY_HOST_ID), online while the event log into the cloud takes
 * writes. The gateway's own conformance tests (gateway/test/conformance/sparkplug-host.test.ts,
 * gateway-only.test.ts) run it alone; here the same checks run on the platform as `npm start`
 * wires it, from a raw third-party edge node provisioned through the cloud's API.
 *
 * The platform runs on PostgreSQL (DATABASE_URL, a fresh database) behind a fault proxy: the
 * event log lives in that database, so a black hole there is the cloud becoming unreachable for
 * the host, which is what its STATE reports.
 */
const available = await serverAvailable('postgres');
const { email, password } = e2eAdmin;

interface EdgeCredential {
  groupId: string;
  edgeNodeId: string;
  credential: string;
  /** The host id the cloud handed out with the credential. */
  primaryHostId: string;
}

/** MQTT options of a third-party edge node: its credential, its NDEATH as the will. */
function edgeOptions(node: EdgeCredential): IClientOptions {
  return {
    clientId: node.edgeNodeId,
    username: node.edgeNodeId,
    password: node.credential,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    will: {
      topic: nodeTopic('NDEATH', node.groupId, node.edgeNodeId),
      payload: Buffer.from(encodeNodeDeath(0)),
      qos: 1,
      retain: false,
    },
  };
}

/** A raw edge node that records the NCMDs it is sent (Node Control/Rebirth values). */
async function rawEdgeNode(url: string, node: EdgeCredential) {
  const client = await connectAsync(url, edgeOptions(node));
  const ncmd = nodeTopic('NCMD', node.groupId, node.edgeNodeId);
  const rebirths: boolean[] = [];
  client.on('message', (topic, payload) => {
    if (topic === ncmd) rebirths.push(decodeCommands(payload).rebirth);
  });
  await client.subscribeAsync(ncmd, { qos: 1 });
  return {
    client,
    rebirths,
    birth: () =>
      client.publishAsync(
        nodeTopic('NBIRTH', node.groupId, node.edgeNodeId),
        Buffer.from(encodeNodeBirth({ bdSeq: 0, agentVersion: 'raw', outboxDepth: 0, oldestUnsentMs: 0 })),
        { qos: 1 },
      ),
    data: (seq: number) =>
      client.publishAsync(
        nodeTopic('NDATA', node.groupId, node.edgeNodeId),
        Buffer.from(encodePayload({ timestamp: Date.now(), seq, metrics: [] })),
        { qos: 1 },
      ),
  };
}

interface StateMessage {
  /** null: a payload that is not a STATE (empty or foreign) reached the subscriber. */
  state: HostState | null;
  retain: boolean;
  qos: number;
}

/** Every STATE message a subscription receives, decoded, with its retain flag and QoS. */
async function watchState(url: string, options: IClientOptions, hostId: string) {
  const client = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options });
  const seen: StateMessage[] = [];
  client.on('message', (topic, payload, packet) => {
    if (topic !== stateTopic(hostId)) return;
    let state: HostState | null = null;
    try {
      state = decodeState(payload);
    } catch {
      // kept as null: the checks below fail on it
    }
    seen.push({ state, retain: packet.retain, qos: packet.qos });
  });
  await client.subscribeAsync(stateTopic(hostId), { qos: 1 });
  return { client, seen, states: () => seen.map((m) => m.state) };
}

/** The retained STATE a new subscriber receives within `withinMs`, or undefined when there is none. */
async function retainedState(
  url: string,
  options: IClientOptions,
  hostId: string,
  withinMs = 10_000,
): Promise<StateMessage | undefined> {
  const w = await watchState(url, options, hostId);
  try {
    await eventually(() => w.seen.length > 0, 'a retained STATE', withinMs).catch(() => undefined);
    return w.seen[0];
  } finally {
    await w.client.endAsync(true);
  }
}

describe.skipIf(!available)(
  'Sparkplug primary host checks on the platform (npm start, the cloud as host)',
  () => {
    let platform: RunningPlatform;
    let proxy: FaultProxy;
    let removeRunDir: (() => Promise<void>) | undefined;
    let dropDatabase: (() => Promise<void>) | undefined;
    const clients: MqttClient[] = [];
    let token = '';

    beforeAll(async () => {
      const dir = await tempDir('bv-sparkplug-host-');
      removeRunDir = dir.remove;
      // A database of its own, so the platform's tables meet nobody else's in `test`.
      const name = uniqueName('bv_host')
        .replace(/[^a-z0-9_]/gi, '_')
        .toLowerCase();
      const base = new URL(postgresUrl());
      const admin = new pg.Client({ connectionString: base.href, connectionTimeoutMillis: 5_000 });
      await admin.connect();
      await admin.query(`CREATE DATABASE "${name}"`);
      await admin.end();
      dropDatabase = async () => {
        const c = new pg.Client({ connectionString: base.href, connectionTimeoutMillis: 5_000 });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await c.end();
      };
      proxy = await startFaultProxy({
        upstream: { host: base.hostname, port: Number(base.port || 5432) },
        name: 'postgres',
      });
      const url = new URL(base.href);
      url.host = `127.0.0.1:${proxy.port}`;
      url.pathname = `/${name}`;
      platform = await startPlatformProcess(dir.path, {
        DATABASE_URL: url.href,
        BV_ADMIN_EMAIL: email,
        BV_ADMIN_PASSWORD: password,
        BV_DEMO_SHELVES: '1',
        BV_DEMO_BINS: '2',
        BV_DEMO_SHOPPER: 'false',
        BV_BANK_PORT: '-1',
        BV_REST_PAY_PORT: '-1',
      });
      const login = await fetch(`${platform.info.dashboardUrl}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      expect(login.status).toBe(200);
      token = ((await login.json()) as { accessToken: string }).accessToken;
    }, 180_000);

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      const code = await platform?.stop();
      await proxy?.close();
      await dropDatabase?.().catch((error: unknown) =>
        console.warn(`database not dropped: ${String(error)}`),
      );
      await removeRunDir?.();
      expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
    }, 60_000);

    /** A third-party edge node claims its credential from the cloud, as any gateway does. */
    async function provisionEdgeNode(): Promise<EdgeCredential> {
      const response = await fetch(`${platform.info.dashboardUrl}/api/v1/claim-tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ siteId: 'demo-site', count: 1 }),
      });
      expect(response.status).toBe(201);
      const { tokens } = (await response.json()) as { tokens: { token: string }[] };
      return provision({ claimToken: tokens[0]!.token, cloudUrl: platform.info.dashboardUrl });
    }

    /** One series of the platform's /metrics (the gateway's counters are in the same registry). */
    async function metric(name: string, labels: Record<string, string>): Promise<number> {
      const text = await (await fetch(`${platform.info.dashboardUrl}/metrics`)).text();
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`)) continue;
        const parts = line.slice(name.length + 1, line.lastIndexOf('}')).split(',');
        if (wanted.every((w) => parts.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return 0;
    }
    const rebirths = (reason: string) => metric('bv_gateway_rebirth_requests_total', { reason });

    it('[tck-id-operational-behavior-host-reordering-rebirth] a seq gap not filled in time gets NCMD Rebirth', async () => {
      const e = await rawEdgeNode(platform.info.mqttUrl, await provisionEdgeNode());
      clients.push(e.client);
      const before = await rebirths('seq_gap');
      await e.birth();
      await e.data(1);
      await e.data(3);
      // the reordering timeout (BV_GATEWAY_REORDER_TIMEOUT_MS, 2 s) passes with seq 2 missing
      await eventually(() => e.rebirths.length > 0, 'an NCMD after the seq gap', 30_000);
      expect(e.rebirths).toEqual([true]);
      expect(await rebirths('seq_gap')).toBeGreaterThan(before);
    });

    it('[tck-id-operational-behavior-data-commands-ncmd-rebirth-verb] NDATA with no NBIRTH gets NCMD Rebirth', async () => {
      const e = await rawEdgeNode(platform.info.mqttUrl, await provisionEdgeNode());
      clients.push(e.client);
      const before = await rebirths('no_birth');
      await e.data(4);
      await eventually(() => e.rebirths.length > 0, 'an NCMD after NDATA without NBIRTH', 30_000);
      expect(e.rebirths).toEqual([true]);
      expect(await rebirths('no_birth')).toBeGreaterThan(before);
    });

    it('[tck-id-host-topic-phid-birth-payload] [tck-id-host-topic-phid-birth-qos] [tck-id-host-topic-phid-birth-retain] the STATE on the host id the cloud hands out: retained, QoS 1, {online:true,timestamp}', async () => {
      const node = await provisionEdgeNode();
      expect(node.primaryHostId, 'the host id the cloud gives gateways').toBe('bv-cloud');
      const message = await retainedState(platform.info.mqttUrl, edgeOptions(node), node.primaryHostId);
      expect(message, `a retained STATE on ${stateTopic(node.primaryHostId)}`).toMatchObject({
        state: { online: true },
        retain: true,
        qos: 1,
      });
      expect(message!.state!.timestamp).toBeGreaterThan(Date.now() - 10 * 60_000);
      expect(message!.state!.timestamp).toBeLessThanOrEqual(Date.now());
    });

    it('[tck-id-host-topic-phid-birth-topic] only the host publishes its STATE: the ACL refuses an edge credential, and clients without one (issue #13 item 9)', async () => {
      const node = await provisionEdgeNode();
      const before = await retainedState(platform.info.mqttUrl, edgeOptions(node), node.primaryHostId);
      expect(before?.state).toMatchObject({ online: true });

      // MQTT 3.1.1 cannot refuse one PUBLISH: the gateway closes the connection [MQTT-3.3.5-2]
      const denied = { action: 'publish', principal: 'gateway' };
      const deniedBefore = await metric('bv_gateway_acl_denials_total', denied);
      const intruder = await connectAsync(platform.info.mqttUrl, edgeOptions(node));
      const closed = new Promise<boolean>((resolve) => {
        intruder.once('close', () => resolve(true));
        setTimeout(() => resolve(false), 10_000).unref();
      });
      intruder.publish(
        stateTopic(node.primaryHostId),
        encodeState({ online: false, timestamp: Date.now() + 60_000 }),
        { qos: 1, retain: true },
      );
      expect(await closed, 'the connection closed for the refused PUBLISH').toBe(true);
      await intruder.endAsync(true);
      expect(await metric('bv_gateway_acl_denials_total', denied)).toBe(deniedBefore + 1);
      // no credential at all: refused at CONNECT (authentication is on in `npm start`)
      await expect(
        connectAsync(platform.info.mqttUrl, { clientId: uniqueName('anon'), reconnectPeriod: 0 }),
      ).rejects.toThrow(/not authorized/i);

      const after = await retainedState(platform.info.mqttUrl, edgeOptions(node), node.primaryHostId);
      expect(after?.state, 'the retained STATE untouched').toEqual(before?.state);
    });

    it('[tck-id-host-topic-phid-death-payload] STATE goes offline while the event log into the cloud is unreachable, online again after', {
      timeout: 120_000,
    }, async () => {
      const node = await provisionEdgeNode();
      const w = await watchState(platform.info.mqttUrl, edgeOptions(node), node.primaryHostId);
      clients.push(w.client);
      await eventually(() => w.states().at(-1)?.online === true, 'STATE online before the outage', 10_000);

      // The database (and the event log in it) black-holed: connections dropped after 1 s.
      proxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 1_000 } });
      try {
        await eventually(() => w.states().at(-1)?.online === false, 'STATE offline in the outage', 60_000);
      } catch (error) {
        throw new Error(`${String(error)}\n--- platform output ---\n${platform.output().slice(-4_000)}`);
      } finally {
        await heal(proxy, 'timeout_upstream');
      }
      await eventually(() => w.states().at(-1)?.online === true, 'STATE online after the outage', 60_000);
      // the platform lived through it
      expect((await fetch(`${platform.info.dashboardUrl}/healthz`)).status).toBe(200);

      const [online, offline, back] = w.states().slice(-3);
      expect([online?.online, offline?.online, back?.online]).toEqual([true, false, true]);
      // each change carries the time it happened, so edge nodes can order them
      expect(offline!.timestamp).toBeGreaterThan(online!.timestamp);
      expect(back!.timestamp).toBeGreaterThan(offline!.timestamp);
      expect(w.states().filter((s) => s === null)).toEqual([]);
      expect(w.seen.every((m) => m.qos === 1)).toBe(true);
    });
  },
);

/*
 * Anonymous mode (BV_GATEWAY_ALLOW_ANONYMOUS, development only) cannot be turned on in `npm
 * start`, so this check runs on the cloud and an anonymous gateway on one event log, as the
 * gateway rig wires them (infra/test/gateway-rig.ts): any client may publish there.
 */
describe('Sparkplug primary host STATE in anonymous mode', () => {
  let rig: GatewayRig;
  let hostId = '';
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    rig = await startGatewayRig('bv-sparkplug-host-anon-');
    const node = await provision({
      claimToken: await rig.cloud.createClaimToken({ siteId: 'demo-site' }),
      cloudUrl: rig.cloud.url,
    });
    hostId = node.primaryHostId;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await rig?.close();
  }, 60_000);

  it('[tck-id-host-topic-phid-birth-payload] a STATE cleared or overwritten by another client is re-asserted by the host (issue #13 item 9)', async () => {
    const url = rig.gateway.mqttUrl;
    const before = await retainedState(url, { clientId: uniqueName('first') }, hostId);
    expect(before?.state).toMatchObject({ online: true });
    const live = await watchState(url, { clientId: uniqueName('live') }, hostId);
    clients.push(live.client);
    await eventually(() => live.seen.length > 0, 'the live watcher has the retained STATE', 10_000);
    /** The host's own STATE is the retained one again (the re-assertion is asynchronous). */
    const reasserted = (what: string) =>
      eventually(
        async () => {
          const now = await retainedState(url, { clientId: uniqueName('check') }, hostId, 1_000);
          return JSON.stringify(now?.state) === JSON.stringify(before?.state);
        },
        what,
        15_000,
      );

    const other = await connectAsync(url, { clientId: uniqueName('other'), reconnectPeriod: 0 });
    clients.push(other);
    // cleared: an empty retained message deletes the retained STATE [MQTT-3.3.1-10]
    await other.publishAsync(stateTopic(hostId), Buffer.alloc(0), { qos: 1, retain: true });
    await reasserted('the STATE re-asserted after a clear');
    // overwritten with a newer "offline"
    await other.publishAsync(
      stateTopic(hostId),
      encodeState({ online: false, timestamp: Date.now() + 60_000 }),
      { qos: 1, retain: true },
    );
    await reasserted('the STATE re-asserted after an overwrite');
    // a live subscriber never heard anything but the host's own word
    expect(live.seen.length).toBeGreaterThan(1);
    expect(live.states().every((s) => JSON.stringify(s) === JSON.stringify(before?.state))).toBe(true);
  });
});
