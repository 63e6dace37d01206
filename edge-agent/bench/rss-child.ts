// Child process of the RSS benchmark: opens an agent on an outbox already holding the queue,
// with the primary host offline (so nothing drains), and reports its resident set size.
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { startEdgeAgent } from '../src/agent.js';
import { loadEdgeConfig } from '../src/config.js';

const [dataDir, brokerUrl] = process.argv.slice(2) as [string, string];
const config = {
  ...loadEdgeConfig(undefined, {}),
  dataDir,
  brokerUrl,
  groupId: 'bench',
  edgeNodeId: `rss-${process.pid}`,
  primaryHostId: `nobody-${process.pid}`,
  waitForHost: true,
  opsPort: 0,
  logLevel: 'silent' as const,
};
const agent = await startEdgeAgent(config, {
  logger: silentLogger,
  registry: createRegistry({ defaultMetrics: true }),
});
await new Promise((r) => setTimeout(r, 3000));
const status = agent.status();
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 200));
const mem = process.memoryUsage();
const rss = mem.rss;
if (process.env.BV_BENCH_MEM_DETAIL) process.stderr.write(`${JSON.stringify(mem)}\n`);
process.stdout.write(`${JSON.stringify({ rss, depth: status.outbox.depth, state: status.uplink.state })}\n`);
await agent.close();
