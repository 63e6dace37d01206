// Child process of the throughput benchmark: bundled like the agent and started with the node flags
// of the systemd unit, so ingest and drain are measured the way the gateway runs them (V8 flags that
// save memory can cost CPU). Prints one JSON line.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { DeviceDirectory } from '../src/devices.js';
import { agentMetrics } from '../src/metrics.js';
import { CommandStore, type Durability, Outbox } from '../src/outbox/index.js';
import { Uplink } from '../src/uplink/uplink.js';
import { sampleReadings } from './common.js';

async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

function openOutbox(dir: string, durability: Durability): Outbox {
  return Outbox.open({
    path: join(dir, 'outbox.db'),
    durability,
    policy: 'drop-oldest',
    maxRows: 10_000_000,
    maxBytes: 10_000_000_000,
    maxAgeMs: 86_400_000,
  });
}

/** Readings per second through `append` in batches (one transaction each). */
async function ingest(durability: Durability, total: number, batch: number): Promise<number> {
  const dir = await tempDir('bv-edge-bench-');
  const outbox = openOutbox(dir.path, durability);
  const readings = sampleReadings(batch);
  const t0 = performance.now();
  for (let i = 0; i < total; i += batch) outbox.append(`shelf-${i % 4}`, readings);
  const seconds = (performance.now() - t0) / 1000;
  outbox.close();
  await dir.remove();
  return total / seconds;
}

/** Backlog drain to the broker at `brokerUrl` while live readings keep arriving at 100 Hz. */
async function drain(
  brokerUrl: string,
  backlog: number,
): Promise<{ rate: number; live: number; seconds: number }> {
  const dir = await tempDir('bv-edge-bench-');
  const outbox = openOutbox(dir.path, 'normal');
  const chunk = sampleReadings(1000);
  for (let i = 0; i < backlog; i += 1000) outbox.append(`shelf-${(i / 1000) % 4}`, chunk);
  const registry = createRegistry();
  const metrics = agentMetrics(registry);
  const devices = new DeviceDirectory(outbox);
  for (let d = 0; d < 4; d++)
    devices.online({ name: `shelf-${d}`, serialNumber: String(d), firmware: 'bench', binCount: 8 });
  const uplink = new Uplink(
    {
      brokerUrl,
      groupId: 'bench',
      edgeNodeId: 'drain',
      primaryHostId: undefined,
      clientId: `bench-${process.pid}`,
      keepaliveSeconds: 30,
      connectTimeoutMs: 5000,
      maxInFlight: 16,
      maxReadingsPerMessage: 500,
      reconnectInitialDelayMs: 100,
      reconnectMaxDelayMs: 1000,
      healthIntervalMs: 10_000,
      agentVersion: 'bench',
      credentials: () => ({}),
    },
    {
      outbox,
      commands: new CommandStore(outbox.db),
      devices,
      logger: silentLogger,
      metrics,
      onCommand: () => undefined,
    },
  );
  let live = 0;
  const liveTimer = setInterval(() => {
    outbox.append('shelf-0', sampleReadings(1));
    live++;
    uplink.notify();
  }, 10);
  const t0 = performance.now();
  uplink.start();
  const deadline = Date.now() + 120_000;
  while (outbox.stats().depth > 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(liveTimer);
  const published = (await registry.getSingleMetric('bv_edge_readings_published_total')!.get()).values.reduce(
    (n, v) => n + v.value,
    0,
  );
  await uplink.close();
  outbox.close();
  await dir.remove();
  return { rate: published / seconds, live, seconds };
}

const [brokerUrl] = process.argv.slice(2) as [string];
const normal = await ingest('normal', 500_000, 500);
const full = await ingest('full', 50_000, 500);
const drained = await drain(brokerUrl, 200_000);
process.stdout.write(`${JSON.stringify({ normal, full, drain: drained })}\n`);
