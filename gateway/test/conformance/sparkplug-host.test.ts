import { decodeCommands, encodeNodeBirth, encodePayload, nodeTopic } from '@bitv/shared/sparkplug';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlledEventLog } from '../helpers/event-log.js';
import { connect, metricValue, type TestGateway, testGateway } from '../helpers/gateway.js';

/**
 * Our gateway as the Sparkplug primary host: it asks an edge node for a rebirth (NCMD
 * `Node Control/Rebirth` = true) when it lost track of its session. A raw edge node here sends
 * NBIRTH/NDATA and listens on its NCMD topic, as edge agents do.
 */
const group = 'site-a';
let t: TestGateway | undefined;
let clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.endAsync()));
  clients = [];
  await t?.close();
  t = undefined;
});

async function edgeNode(edge: string) {
  t ??= await testGateway(
    { allowAnonymous: true, primaryHostId: 'conformance-host', reorderTimeoutMs: 50 },
    { eventLog: new ControlledEventLog() },
  );
  const client = await connect(t.gw.mqttUrl, { clientId: edge, clean: true });
  clients.push(client);
  const ncmd = nodeTopic('NCMD', group, edge);
  const rebirths: boolean[] = [];
  const waiters: (() => void)[] = [];
  client.on('message', (topic, payload) => {
    if (topic !== ncmd) return;
    rebirths.push(decodeCommands(payload).rebirth);
    for (const w of waiters.splice(0)) w();
  });
  await client.subscribeAsync(ncmd, { qos: 1 });
  return {
    rebirths,
    /** Resolves once `n` NCMDs arrived. */
    ncmds: (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (rebirths.length >= n ? resolve() : waiters.push(check));
        check();
      }),
    birth: () =>
      client.publishAsync(
        nodeTopic('NBIRTH', group, edge),
        Buffer.from(encodeNodeBirth({ bdSeq: 0, agentVersion: 't', outboxDepth: 0, oldestUnsentMs: 0 })),
        { qos: 1 },
      ),
    data: (seq: number) =>
      client.publishAsync(
        nodeTopic('NDATA', group, edge),
        Buffer.from(encodePayload({ timestamp: Date.now(), seq, metrics: [] })),
        { qos: 1 },
      ),
  };
}

const rebirthsSent = (reason: string) =>
  metricValue(t!.registry, 'bv_gateway_rebirth_requests_total', { reason });

describe('Sparkplug primary host: rebirth requests', () => {
  it('[tck-id-operational-behavior-host-reordering-rebirth] a seq gap not filled in time gets NCMD Rebirth', async () => {
    const e = await edgeNode('edge-gap');
    await e.birth();
    await e.data(1);
    await e.data(3);
    await e.ncmds(1);
    expect(e.rebirths).toEqual([true]);
    expect(await rebirthsSent('seq_gap')).toBe(1);
    expect(await rebirthsSent('no_birth')).toBe(0);
  });

  it('[tck-id-operational-behavior-data-commands-ncmd-rebirth-verb] NDATA with no NBIRTH seen gets NCMD Rebirth', async () => {
    const e = await edgeNode('edge-unborn');
    await e.data(7);
    await e.ncmds(1);
    expect(e.rebirths).toEqual([true]);
    expect(await rebirthsSent('no_birth')).toBe(1);
  });

  it('[tck-id-operational-behavior-host-reordering-param] in-order messages, across the 255 -> 0 wrap, get no NCMD', async () => {
    const e = await edgeNode('edge-order');
    await e.birth();
    for (let seq = 1; seq <= 256; seq++) await e.data(seq & 255);
    // the marker: another edge node's unborn NDATA; its NCMD comes after every message above was seen
    const other = await edgeNode('edge-marker');
    await other.data(0);
    await other.ncmds(1);
    expect(e.rebirths).toEqual([]);
    expect(await rebirthsSent('seq_gap')).toBe(0);
  });

  it('[tck-id-operational-behavior-host-reordering-rebirth] after the requested NBIRTH, tracking starts again', async () => {
    const e = await edgeNode('edge-again');
    await e.data(5);
    await e.ncmds(1);
    await e.birth();
    await e.data(1);
    await e.data(2);
    await e.data(4);
    await e.ncmds(2);
    expect(e.rebirths).toEqual([true, true]);
    expect(await rebirthsSent('no_birth')).toBe(1);
    expect(await rebirthsSent('seq_gap')).toBe(1);
  });
});
