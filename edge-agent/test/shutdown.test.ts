import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { capability, encodeFrame } from '@bitv/shared/shelf-link';
import { eventually, freePort, tempDir } from '@bitv/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentProcess } from './harness/agent-process.js';
import { configEnv, startTestAgent, testConfig } from './helpers.js';

/**
 * SIGTERM while a shelf link is open but the shelf says nothing (issue #18, defect 2): the agent
 * must close every link both ways and exit 0. Before, `socket.end()` only half-closed the TCP
 * link: the process stayed up, and the shelf's next HELLO reached the closed outbox (exit 1).
 */
const hello = () =>
  encodeFrame(
    {
      type: 'hello',
      protocolVersion: 1,
      firmwareVersion: '1.5.0',
      serialNumber: 'S-SILENT',
      binCount: 2,
      capabilities: capability.led,
      sampleRateMilliHz: 10_000,
      bootReason: 'power_on',
    },
    0,
  );

/** A shelf on TCP that accepts the agent and never speaks first. Half-open allowed, like a serial-to-TCP bridge: the agent's FIN alone does not close the shelf's side. */
async function silentShelf(cleanups: (() => Promise<void>)[]) {
  const shelves: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    shelves.push(socket);
    socket.resume(); // read (and drop) the agent's requests, so its FIN is seen
    socket.on('error', () => undefined); // the agent going away is what these tests cause
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of shelves) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as { port: number };
  return { path: `tcp://127.0.0.1:${port}`, shelves };
}

describe('edge agent shutdown with a silent shelf', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('close() closes the link both ways: what the shelf sends later reaches nothing', async () => {
    const dir = await tempDir('bv-edge-shutdown-');
    cleanups.push(dir.remove);
    const shelf = await silentShelf(cleanups);
    const config = testConfig(dir.path, `mqtt://127.0.0.1:${await freePort()}`, {
      serialPorts: [shelf.path],
      opsPort: -1,
    });
    const { agent } = await startTestAgent(config);
    const socket = await eventually(() => shelf.shelves[0], 'the agent to open the shelf link');
    await eventually(() => agent.status().links[0]?.up, 'the link to be up');
    const closed = once(socket, 'close');
    await agent.close();
    // Half-closed, the agent would still read this HELLO and store it into its closed outbox
    // ("The database connection is not open", an uncaught error). Closed, the write is refused.
    // (vitest fails the run on that error.) Closed, the HELLO reaches nobody.
    socket.end(hello());
    await closed;
  });

  it('SIGTERM: the agent process stops cleanly and exits 0', async () => {
    const dir = await tempDir('bv-edge-shutdown-');
    cleanups.push(dir.remove);
    const shelf = await silentShelf(cleanups);
    // No broker answers there: the agent keeps its readings and retries, as offline in an aisle.
    const config = testConfig(dir.path, `mqtt://127.0.0.1:${await freePort()}`, {
      serialPorts: [shelf.path],
      opsPort: -1,
      logLevel: 'info',
    });
    const agent = new AgentProcess(configEnv(config));
    cleanups.push(() => agent.kill());
    agent.start();
    const socket = await eventually(() => shelf.shelves[0], 'the agent to open the shelf link', 30_000);
    await eventually(() => agent.log.includes('shelf link open'), 'the link to be up', 30_000);
    const ended = once(socket, 'end');
    const stopped = agent.kill('SIGTERM');
    await ended;
    if (socket.writable) socket.write(hello()); // the shelf speaks while the agent stops
    await stopped;
    expect(agent.exit, agent.log).toEqual({ code: 0, signal: null });
    expect(agent.log).toContain('edge agent stopped');
    expect(agent.log).not.toContain('database connection is not open');
  });
});
