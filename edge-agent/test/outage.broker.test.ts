import { execFileSync } from 'node:child_process';
import { encodeState, stateTopic } from '@bitv/shared/sparkplug';
import { eventually, tempDir } from '@bitv/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, TestBroker } from './harness/broker.js';
import { startPtyPair } from './harness/pty.js';
import { TestShelf } from './harness/shelf.js';
import { TestSubscriber } from './harness/subscriber.js';
import { startTestAgent, testConfig } from './helpers.js';

function hasMosquitto(): boolean {
  try {
    execFileSync('mosquitto', ['-h'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // `mosquitto -h` exits 3 after printing its help: it exists.
    return (
      (error as { status?: number }).status !== undefined && (error as { code?: string }).code !== 'ENOENT'
    );
  }
}

/** Outages with our own broker on a free port (stopped and restarted; never the machine's). */
describe.skipIf(!hasMosquitto())('edge agent through broker and host outages', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(overrides: Parameters<typeof testConfig>[2] = {}) {
    const dir = await tempDir('bv-edge-outage-');
    cleanups.push(dir.remove);
    const broker = new TestBroker(await freePort());
    await broker.start();
    cleanups.push(() => broker.stop());
    const pty = await startPtyPair(dir.path, 'shelf');
    cleanups.push(pty.stop);
    const shelf = new TestShelf('OUT01', 3, pty.devicePath);
    await shelf.open();
    cleanups.push(() => shelf.close());
    const config = testConfig(dir.path, broker.url, {
      serialPorts: [pty.hostPath],
      waitForHost: true,
      ...overrides,
    });
    const sub = new TestSubscriber(broker.url, config.groupId);
    await sub.start();
    cleanups.push(() => sub.close());
    const hostOnline = (online: boolean) =>
      sub.publish(stateTopic(config.primaryHostId), encodeState({ online, timestamp: Date.now() }), true);
    await hostOnline(true);
    const started = await startTestAgent(config);
    cleanups.push(() => started.agent.close());
    await eventually(() => started.agent.status().links[0]?.devices.length === 1, 'shelf identified');
    return { broker, shelf, sub, config, hostOnline, ...started, device: 'shelf-OUT01' };
  }

  it('stores through a broker outage and forwards the backlog historical, nothing missing', async () => {
    const { broker, shelf, sub, agent, hostOnline, device } = await setup();
    shelf.stream(10);
    await eventually(() => sub.count(device) >= 50, 'live readings');
    await broker.stop();
    const producedAtStop = shelf.produced.length;
    await eventually(() => agent.status().outbox.depth >= 150, 'readings stored during the outage', 20_000);
    await broker.start();
    // A restarted broker has no retained STATE: the host announces itself again.
    await eventually(
      () => agent.status().uplink.state === 'waiting-for-host',
      'agent back, waiting for host',
      20_000,
    );
    await sub.resubscribed();
    await hostOnline(true);
    await new Promise((r) => setTimeout(r, 500));
    shelf.stopStreaming();
    const total = shelf.produced.length;
    await eventually(() => sub.count(device) === total, `all ${total} readings delivered`, 30_000);
    const got = sub.readings.get(device)!;
    expect([...got.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Readings produced while the broker was down went up as historical.
    const outage = [...got.values()].filter((r) => {
      const n = r.reading.bins[0]!.weightG;
      return n >= producedAtStop + 5 && n < producedAtStop + 100;
    });
    expect(outage.length).toBeGreaterThan(50);
    expect(outage.every((r) => r.historical)).toBe(true);
    expect(got.get(total)!.historical).toBe(false); // live data flowed alongside
    expect(sub.gaps).toEqual([]);
    expect(agent.status().uplink.sessions).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('stops publishing while the primary host is offline and forwards the backlog on its return', async () => {
    const { shelf, sub, agent, hostOnline, device } = await setup();
    shelf.stream(10);
    await eventually(() => sub.count(device) >= 20, 'live readings');
    await hostOnline(false);
    await eventually(
      () => sub.messages.some((m) => m.type === 'NDEATH'),
      'NDEATH when the host goes offline',
    );
    const deliveredBefore = sub.count(device);
    await eventually(() => agent.status().outbox.depth >= 100, 'stored while the host is offline', 20_000);
    expect(sub.count(device)).toBeLessThanOrEqual(deliveredBefore + 16 * 500); // only what was in flight
    await hostOnline(true);
    await new Promise((r) => setTimeout(r, 300));
    shelf.stopStreaming();
    await eventually(() => sub.count(device) === shelf.produced.length, 'backlog delivered', 30_000);
    const hist = [...sub.readings.get(device)!.values()].filter((r) => r.historical).length;
    expect(hist).toBeGreaterThanOrEqual(100);
  }, 90_000);

  it('drops the oldest when the outbox is full and says how many in a gap event and a metric', async () => {
    const { shelf, sub, agent, hostOnline, metric, device } = await setup({ outboxMaxRows: 50 });
    await hostOnline(false);
    await eventually(
      () => sub.messages.some((m) => m.type === 'NDEATH'),
      'session ended for the offline host',
    );
    await eventually(() => agent.status().uplink.sessions === 2, 'waiting for the host in a new session');
    for (let i = 0; i < 130; i++) shelf.emitReading();
    await eventually(() => agent.status().outbox.droppedTotal === 80, '80 dropped', 20_000);
    expect(agent.status().outbox.depth).toBe(50);
    expect(await metric('bv_edge_outbox_dropped_total')).toBe(80);
    await hostOnline(true);
    await eventually(
      () => sub.count(device) === 50 && sub.gaps.length > 0,
      'survivors and gap event',
      20_000,
    );
    const dropped = sub.gaps.filter((g) => g.kind === 'dropped' && g.device === device);
    expect(dropped.reduce((n, g) => n + g.count, 0)).toBe(80);
    expect(Math.min(...dropped.map((g) => g.fromSeq))).toBe(1);
    expect(Math.max(...dropped.map((g) => g.toSeq))).toBe(80);
    // The newest 50 survived, in order, with their original seqs.
    expect([...sub.readings.get(device)!.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 81),
    );
  }, 60_000);
});
