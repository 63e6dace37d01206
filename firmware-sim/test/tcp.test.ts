import { Socket } from 'node:net';
import { type DecodedFrame, encodeFrame, FrameDecoder } from '@bitv/shared/shelf-link';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulation, startSimulation } from '../src/index.js';

async function connect(url: string) {
  const { hostname, port } = new URL(url);
  const socket = new Socket();
  const decoder = new FrameDecoder();
  const frames: DecodedFrame[] = [];
  let closed = false;
  socket.on('data', (chunk) => frames.push(...decoder.push(chunk)));
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => undefined); // followed by 'close', which the test asserts
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(Number(port), hostname, () => resolve());
  });
  return { socket, frames, isClosed: () => closed };
}

describe('simulated shelves over TCP', () => {
  let sim: Simulation;
  beforeAll(async () => {
    sim = await startSimulation({ transport: 'tcp', shelves: 1, bins: 3, speed: 5, controlPort: null });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('serves the shelf link on a stable tcp:// address, across unplug and replug', async () => {
    const shelf = sim.shelves[0]!;
    expect(shelf.path).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const a = await connect(shelf.path);
    a.socket.write(encodeFrame({ type: 'command', command: { op: 'request_hello' } }, 0));
    await eventually(() => a.frames.some((f) => f.message.type === 'hello'), 'HELLO over TCP');
    await eventually(() => a.frames.filter((f) => f.message.type === 'readings').length >= 3, 'readings');
    await shelf.unplug();
    await eventually(() => a.isClosed(), 'the connection to close on unplug');
    await shelf.replug();
    const b = await connect(shelf.path);
    try {
      // After replug the controller boots: its boot HELLO (or the answer to a request) arrives.
      b.socket.write(encodeFrame({ type: 'command', command: { op: 'request_hello' } }, 0));
      await eventually(() => b.frames.some((f) => f.message.type === 'hello'), 'HELLO after replug');
    } finally {
      b.socket.destroy();
    }
  });
});
