import { Random } from '@bitv/shared/random';
import { capability, type DecodedFrame, type ReadingsMessage } from '@bitv/shared/shelf-link';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../src/scenario/load.js';
import { shelfOptionsFrom } from '../src/shelf/defaults.js';
import { FirmwareHarness } from './harness.js';

function booted(options: ConstructorParameters<typeof FirmwareHarness>[0] = {}) {
  const h = new FirmwareHarness(options);
  h.firmware.powerOn();
  h.run(2000);
  return h;
}

const times = (frames: DecodedFrame[]) =>
  frames.filter((f) => f.message.type === 'readings').map((f) => (f.message as ReadingsMessage).deviceTimeMs);

/** The frames that answered the last request_hello: everything from its ACK on. */
function requestHello(h: FirmwareHarness): DecodedFrame[] {
  const from = h.frames.length;
  h.command({ op: 'request_hello' });
  return h.frames.slice(from);
}

const bootIdOf = (h: FirmwareHarness) => h.messages('hello').at(-1)!.bootId!;

// [SL-REPLAY-1..4], [SL-STORED-1..2] on the virtual clock.
describe('simulated shelf replay', () => {
  it('announces replay with a nonzero bootId that stays the same within a boot', () => {
    const h = booted();
    const hello = h.messages('hello')[0]!;
    expect(hello.capabilities & capability.replay).toBe(capability.replay);
    expect(hello.bootId).toBeGreaterThan(0);
    requestHello(h);
    expect(h.messages('hello').map((m) => m.bootId)).toEqual([hello.bootId, hello.bootId]);
    expect(h.firmware.snapshot().bootId).toBe(hello.bootId);
  });

  it('keeps every reading sent and replays them after request_hello: ACK, HELLO, HEARTBEAT, oldest first', () => {
    const h = booted();
    const sent = h.frames.filter((f) => f.message.type === 'readings');
    expect(sent.length).toBeGreaterThanOrEqual(17);
    expect(h.firmware.snapshot().keptReadings).toBe(sent.length);
    const answer = requestHello(h);
    expect(answer.slice(0, 3).map((f) => f.message.type)).toEqual(['ack', 'hello', 'heartbeat']);
    expect(answer[2]!.message).toEqual({ type: 'heartbeat', timeMs: h.firmware.deviceTimeMs });
    // The same payloads, as new frames: new sequence numbers following the HELLO's [SL-SEQ-1].
    const replayed = answer.slice(3);
    expect(replayed.map((f) => f.message)).toEqual(sent.map((f) => f.message));
    expect(replayed.map((f) => f.seq)).toEqual(replayed.map((_, i) => answer[2]!.seq + 1 + i));
    expect(replayed.every((f) => f.lost === 0)).toBe(true);
    // Then live readings carry on after the last kept one.
    h.run(500);
    const all = times(h.frames.slice(h.frames.indexOf(replayed[0]!)));
    expect(all.slice(1).map((t, i) => t - all[i]!)).toEqual(all.slice(1).map(() => 100));
  });

  it('STORED frees what it covers; a STORED for another boot is ignored', () => {
    const h = booted();
    const sent = times(h.frames);
    const bootId = bootIdOf(h);
    h.send({ type: 'stored', bootId: bootId === 1 ? 2 : 1, deviceTimeMs: sent.at(-1)! });
    expect(h.firmware.snapshot().keptReadings).toBe(sent.length);
    h.send({ type: 'stored', bootId, deviceTimeMs: sent[9]! });
    expect(h.firmware.snapshot().keptReadings).toBe(sent.length - 10);
    expect(times(requestHello(h))).toEqual(sent.slice(10));
    // Once everything is stored, a replay sends no readings at all.
    h.send({ type: 'stored', bootId, deviceTimeMs: h.lastReadings().deviceTimeMs });
    expect(h.firmware.snapshot().keptReadings).toBe(0);
    expect(times(requestHello(h))).toEqual([]);
  });

  it('a full store drops its oldest readings and counts them [SL-REPLAY-4]', () => {
    const h = booted({ replayCapacity: 5 });
    const sent = times(h.frames);
    expect(h.firmware.counters.replayEvicted).toBe(sent.length - 5);
    expect(times(requestHello(h))).toEqual(sent.slice(-5));
  });

  it('holds readings the link refuses and sends them later in order, none skipped', () => {
    const h = booted();
    const before = times(h.frames);
    h.accepting = false; // the host's port is closed
    h.run(3000);
    expect(h.firmware.counters.txDropped).toBeGreaterThan(0); // heartbeats are not kept
    h.accepting = true;
    h.run(150);
    const after = times(h.frames);
    expect(after.length).toBeGreaterThan(before.length + 29);
    expect(after.slice(1).map((t, i) => t - after[i]!)).toEqual(after.slice(1).map(() => 100));
    const readings = h.frames.filter((f) => f.message.type === 'readings');
    expect(readings.slice(1).every((f, i) => f.seq > readings[i]!.seq)).toBe(true);
  });

  it('a reboot forgets the kept readings and picks a new bootId', () => {
    const h = booted();
    const first = bootIdOf(h);
    h.command({ op: 'reboot' });
    h.run(1000);
    const second = bootIdOf(h);
    expect(second).not.toBe(first);
    expect(second).toBeGreaterThan(0);
    const sinceReboot = times(h.frames.slice(h.frames.findLastIndex((f) => f.message.type === 'hello')));
    expect(times(requestHello(h))).toEqual(sinceReboot);
    // A STORED for the previous boot frees nothing.
    h.send({ type: 'stored', bootId: first, deviceTimeMs: 1e9 });
    expect(h.firmware.snapshot().keptReadings).toBe(sinceReboot.length);
    h.firmware.powerOff();
    h.firmware.powerOn();
    h.run(1000);
    expect(bootIdOf(h)).not.toBe(second);
  });

  it('is on by default; a scenario shelf or the whole simulation turns it off', () => {
    const s = parseScenario({ shelves: [{ bins: 1, replay: false }, { bins: 1 }] });
    const r = new Random(1);
    expect(shelfOptionsFrom(s.shelves[0]!, 0, r, 'T', true).replay).toBe(false);
    expect(shelfOptionsFrom(s.shelves[1]!, 1, r, 'T', false).replay).toBe(false);
    expect(shelfOptionsFrom(s.shelves[1]!, 1, r, 'T').replay).toBe(true);
  });

  it('without replay: no capability, no bootId, no replay, STORED ignored', () => {
    const h = booted({ replay: false });
    const hello = h.messages('hello')[0]!;
    expect(hello.capabilities & capability.replay).toBe(0);
    expect('bootId' in hello).toBe(false);
    h.send({ type: 'stored', bootId: 1, deviceTimeMs: 1e9 });
    expect(requestHello(h).map((f) => f.message.type)).toEqual(['ack', 'hello']);
    h.accepting = false;
    h.run(1000);
    h.accepting = true;
    const n = times(h.frames).length;
    h.run(1000);
    // What the link refused is gone: device time jumps over the second the host did not read.
    const t = times(h.frames);
    expect(t[n]! - t[n - 1]!).toBeGreaterThan(900);
  });
});
