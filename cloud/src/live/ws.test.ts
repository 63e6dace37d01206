import { Duplex } from 'node:stream';
import { setImmediate as turnEnd } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { turnCorker } from './ws.js';

/** A socket stand-in that records each write it is handed: how many chunks at once. */
function recordingSocket() {
  const calls: number[] = [];
  const socket = new Duplex({
    read() {},
    write(_chunk, _encoding, done) {
      calls.push(1);
      done();
    },
    writev(chunks, done) {
      calls.push(chunks.length);
      done();
    },
  });
  return { socket, calls };
}

describe('turnCorker', () => {
  it('sends what a socket got in one turn as one write, and nothing waits past the turn', async () => {
    const cork = turnCorker();
    const a = recordingSocket();
    const b = recordingSocket();
    for (const frame of ['one', 'two', 'three']) {
      cork(a.socket);
      a.socket.write(frame);
    }
    cork(b.socket);
    b.socket.write('alone');
    expect(a.calls).toEqual([]);
    await turnEnd();
    expect(a.calls).toEqual([3]);
    expect(b.calls).toEqual([1]);
    expect(a.socket.writableCorked).toBe(0);
    // The next turn is corked afresh.
    cork(a.socket);
    a.socket.write('four');
    await turnEnd();
    expect(a.calls).toEqual([3, 1]);
  });

  it('without it each frame is its own write (what the corker saves)', () => {
    const a = recordingSocket();
    for (const frame of ['one', 'two', 'three']) a.socket.write(frame);
    expect(a.calls).toEqual([1, 1, 1]);
  });
});
