import { loadConfig } from '@bitv/shared';
import {
  capability,
  commandOpcode,
  type DecodedFrame,
  encodeFrame,
  encodeRawFrame,
  type HelloMessage,
  messageType,
  type ReadingsMessage,
  SERIAL_NUMBER_PATTERN,
} from '@bitv/shared/shelf-link';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShelfLinkClient } from '../src/client.js';
import { hilConfig } from '../src/config.js';
import { type HilTarget, hilTarget } from '../src/target.js';
import { noise, replayAfterHello, settledWeightG } from './helpers.js';

// The promises of docs/shelf-link.md, checked against a real controller (HIL_PORT) or, by
// default, the simulator on a socat pseudo-terminal. See docs/hil.md.
const config = loadConfig(hilConfig, process.env);

describe(`shelf link HIL (${config.port ?? 'simulator on a pty'})`, () => {
  let target: HilTarget;
  let client: ShelfLinkClient;
  let hello: HelloMessage;

  beforeAll(async () => {
    target = await hilTarget(config);
    client = await target.open();
  });
  afterAll(async () => {
    await client?.close();
    await target?.close();
  });

  it('says HELLO after request_hello on a freshly opened port [SL-HELLO-3]', async () => {
    hello = await client.hello();
    expect(hello.protocolVersion).toBeGreaterThanOrEqual(1);
    expect(hello.serialNumber).toMatch(SERIAL_NUMBER_PATTERN);
    expect(hello.binCount).toBeGreaterThanOrEqual(Math.max(config.tareBin, config.calibrateBin) + 1);
    expect(hello.sampleRateMilliHz).toBeGreaterThan(0);
    if (target.shelf) expect(hello.serialNumber).toBe(target.shelf.serialNumber);
  });

  it('streams READINGS with consecutive sequence numbers at the configured rate [SL-READ-3]', async () => {
    // Readings sampled after the frame with sequence `after` (the first one straddles the change).
    const check = async (milliHz: number, after: number) => {
      const newer = (seq: number) => ((seq - after) & 0xffff) > 0 && ((seq - after) & 0xffff) < 0x8000;
      await client.next((f) => f.message.type === 'readings' && newer(f.seq), 5000, 'readings');
      const frames = await client.readings(12, 5000);
      const interval = 1_000_000 / milliHz;
      for (let i = 1; i < frames.length; i++) {
        const [a, b] = [frames[i - 1]!, frames[i]!];
        const [ra, rb] = [a.message as ReadingsMessage, b.message as ReadingsMessage];
        // Readings are not the only frames (heartbeats, events), so the sequence may skip the
        // numbers of those, but it always increases and nothing is lost [SL-SEQ-1], [SL-RX-3].
        expect(b.lost).toBe(0);
        expect((b.seq - a.seq) & 0xffff).toBeGreaterThanOrEqual(1);
        expect((b.seq - a.seq) & 0xffff).toBeLessThan(5);
        expect(rb.weightsDg).toHaveLength(hello.binCount);
        const trace = frames.map((f) => `${f.seq}@${(f.message as ReadingsMessage).deviceTimeMs}`).join(' ');
        expect(
          Math.abs(rb.deviceTimeMs - ra.deviceTimeMs - interval),
          `${interval} ms: ${trace}`,
        ).toBeLessThanOrEqual(Math.max(2, interval * 0.1));
      }
    };
    const ackSeq = async (command: Parameters<ShelfLinkClient['command']>[0]) => {
      const answer = await client.command(command);
      expect(answer).toMatchObject({ type: 'ack' });
      return client.frames.find((f) => f.message === answer)!.seq;
    };
    await check(hello.sampleRateMilliHz, client.frames.at(-1)?.seq ?? 0);
    const faster = hello.sampleRateMilliHz === 20_000 ? 25_000 : 20_000;
    await check(faster, await ackSeq({ op: 'set_sample_rate', milliHz: faster }));
    await ackSeq({ op: 'set_sample_rate', milliHz: hello.sampleRateMilliHz });
  });

  it('sends HEARTBEAT at least every second of device time [SL-HEART-1]', async () => {
    const a = await client.nextMessage('heartbeat', 3000);
    const b = await client.nextMessage('heartbeat', 3000);
    expect(b.timeMs - a.timeMs).toBeGreaterThan(0);
    expect(b.timeMs - a.timeMs).toBeLessThanOrEqual(1100);
  });

  it('answers every command within its timeout [SL-CMD-2]', async () => {
    const last = hello.binCount - 1;
    for (const command of [
      { op: 'set_led', bin: last, color: 0x00ff00, blink: 'fast' },
      { op: 'set_led', bin: 255, color: 0, blink: 'off' },
      { op: 'identify', seconds: 1 },
      { op: 'identify', seconds: 0 },
      { op: 'set_sample_rate', milliHz: hello.sampleRateMilliHz },
      { op: 'request_hello' },
    ] as const) {
      const answer = await client.command(command);
      expect(answer, command.op).toMatchObject({ type: 'ack', opcode: commandOpcode[command.op] });
    }
  });

  it('sets the pick-to-light LED the host asked for', async () => {
    expect(await client.command({ op: 'set_led', bin: 0, color: 0xff8800, blink: 'slow' })).toMatchObject({
      type: 'ack',
    });
    // Only a simulator lets the suite look at the LED itself.
    if (target.shelf) expect(target.shelf.led(0)).toEqual({ color: 0xff8800, blink: 'slow' });
    await client.command({ op: 'set_led', bin: 0, color: 0, blink: 'off' });
    if (target.shelf) expect(target.shelf.led(0)).toEqual({ color: 0, blink: 'off' });
  });

  it('NACKs invalid commands with the reason the spec gives [SL-CMD-3], [SL-CMD-4]', async () => {
    const n = hello.binCount;
    const cases = [
      [{ op: 'tare', bin: n }, 'invalid_bin'],
      [{ op: 'set_led', bin: n, color: 0xffffff, blink: 'steady' }, 'invalid_bin'],
      [{ op: 'calibrate', bin: 255, knownWeightDg: 1000 }, 'invalid_bin'],
      [{ op: 'calibrate', bin: 0, knownWeightDg: 0 }, 'invalid_argument'],
      [{ op: 'set_sample_rate', milliHz: 0 }, 'invalid_argument'],
    ] as const;
    for (const [command, reason] of cases) {
      expect(await client.command(command), JSON.stringify(command)).toMatchObject({ type: 'nack', reason });
    }
    const seq = client.nextSeq();
    const answer = client.next(
      (f) => f.message.type === 'nack' && f.message.commandSeq === seq,
      client.timeoutFor('request_hello'),
      'NACK of an unknown opcode',
    );
    client.sendRaw(encodeRawFrame({ type: messageType.command, seq, payload: Uint8Array.of(0x5a, 1, 2) }));
    expect((await answer).message).toEqual({
      type: 'nack',
      commandSeq: seq,
      opcode: 0x5a,
      reason: 'unknown_opcode',
    });
  });

  it('keeps answering after garbage and a cut frame from the host [SL-RX-1]', async () => {
    client.sendRaw(noise(4096, 7));
    const cut = encodeFrame({ type: 'command', command: { op: 'identify', seconds: 3 } }, client.nextSeq());
    client.sendRaw(cut.subarray(0, cut.length - 3));
    expect(await client.command({ op: 'request_hello' })).toMatchObject({ type: 'ack' });
    expect(await client.command({ op: 'identify', seconds: 0 })).toMatchObject({ type: 'ack' });
  });

  it.runIf(target_isSimulator())('recovers from line noise and cut frames towards the host', async () => {
    const before = client.decoder.badFramesTotal;
    target.shelf!.injectGarbage(300);
    target.shelf!.cutFrame();
    const after = await client.readings(5, 5000);
    expect(after.every((f) => (f.message as ReadingsMessage).weightsDg.length === hello.binCount)).toBe(true);
    expect(client.decoder.badFramesTotal).toBeGreaterThan(before);
  });

  it('tare zeroes the bin [SL-CMD-1]', async () => {
    const bin = config.tareBin;
    expect(await client.command({ op: 'tare', bin })).toMatchObject({
      type: 'ack',
      opcode: commandOpcode.tare,
    });
    expect(Math.abs(await settledWeightG(client, bin))).toBeLessThanOrEqual(config.toleranceG);
  });

  it('calibrate makes the bin read the known weight, and can be restored [SL-CMD-1]', async () => {
    const bin = config.calibrateBin;
    const w = await settledWeightG(client, bin);
    if (w < 50)
      throw new Error(`bin ${bin} carries ${w.toFixed(1)} g; put at least 50 g on it (docs/hil.md)`);
    const tolerance = (g: number) => config.toleranceG + g * 0.005;
    const known = Math.round(w * 1.1);
    expect(await client.command({ op: 'calibrate', bin, knownWeightDg: known * 10 })).toMatchObject({
      type: 'ack',
    });
    expect(Math.abs((await settledWeightG(client, bin)) - known)).toBeLessThanOrEqual(tolerance(known));
    // Put the old calibration back (a real shelf keeps it in EEPROM).
    expect(await client.command({ op: 'calibrate', bin, knownWeightDg: Math.round(w * 10) })).toMatchObject({
      type: 'ack',
    });
    expect(Math.abs((await settledWeightG(client, bin)) - w)).toBeLessThanOrEqual(tolerance(w));
  });

  it.runIf(target_isSimulator())('a pick changes the reported weight by the items taken', async () => {
    const bin = config.calibrateBin;
    const before = await settledWeightG(client, bin);
    const unit = target.shelf!.snapshot().bins[bin]!.unitWeightG;
    expect(target.shelf!.pick(bin, 1, 300)).toBe(1);
    // Wait out the hand on the shelf and the settling, then read again.
    await client.readings(10, 5000);
    const after = await settledWeightG(client, bin);
    expect(Math.abs(before - after - unit)).toBeLessThanOrEqual(config.toleranceG * 2 + unit * 0.01);
  });

  it('reboots on command and says HELLO again with bootReason command', async () => {
    const next = client.nextMessage('hello', 5000);
    expect(await client.command({ op: 'reboot' })).toMatchObject({ type: 'ack' });
    expect(await next).toMatchObject({ serialNumber: hello.serialNumber, bootReason: 'command' });
  });

  it('replay: keeps readings until STORED, sends them again after request_hello, also across a closed port [SL-REPLAY-1..3]', async (ctx) => {
    const current = await client.hello();
    if ((current.capabilities & capability.replay) === 0) {
      ctx.skip(); // a controller without the capability: nothing to check
      return;
    }
    const bootId = current.bootId!;
    const interval = 1_000_000 / current.sampleRateMilliHz;
    const time = (f: DecodedFrame) => (f.message as ReadingsMessage).deviceTimeMs;
    const [mark] = await client.readings(1, 5000);
    const storedUpTo = time(mark!);
    client.send({ type: 'stored', bootId, deviceTimeMs: storedUpTo });
    const seenBeforeClose = (await client.readings(3, 5000)).map(time);
    // The host goes away for a while (an agent restarting): the controller keeps sampling.
    await client.close();
    await new Promise((r) => setTimeout(r, 1500));
    client = await target.open();
    const replay = await replayAfterHello(client, 10_000);
    expect(replay.hello.bootId).toBe(bootId);
    expect(replay.heartbeat).toBeDefined();
    const times = replay.readings.map(time);
    const trace = times.join(' ');
    // Oldest first, from the first reading after the stored one, none skipped, up to the clock the
    // HEARTBEAT after the HELLO gave: including what was sampled while the port was closed.
    expect(Math.abs(times[0]! - storedUpTo - interval), trace).toBeLessThanOrEqual(
      Math.max(2, interval * 0.1),
    );
    for (let i = 1; i < times.length; i++)
      expect(Math.abs(times[i]! - times[i - 1]! - interval), trace).toBeLessThanOrEqual(
        Math.max(2, interval * 0.1),
      );
    for (const t of seenBeforeClose) expect(times).toContain(t);
    expect(times.at(-1)! - seenBeforeClose.at(-1)!).toBeGreaterThan(1000); // the closed second and more
    // After a STORED, what it covers is not sent again [SL-STORED-1].
    const last = times.at(-1)!;
    client.send({ type: 'stored', bootId, deviceTimeMs: last });
    const next = await replayAfterHello(client, 10_000);
    expect(next.hello.bootId).toBe(bootId);
    expect(next.heartbeat).toBeDefined();
    expect(next.readings.map(time).filter((t) => t <= last)).toEqual([]);
  });

  it('recovers after the port is unplugged and plugged back in', async (ctx) => {
    if (!target.powerCycle) {
      ctx.skip(); // a real device without HIL_REPLUG_COMMAND: nobody to pull the cable
      return;
    }
    await target.powerCycle(async () => {
      await client.closed; // the host sees its port vanish
      expect(client.isOpen).toBe(false);
    });
    client = await target.open();
    const again = await client.hello();
    expect(again.serialNumber).toBe(hello.serialNumber);
    const frames = await client.readings(3, 5000);
    expect(frames).toHaveLength(3);
  });
});

/** Decided before the suite starts, so `runIf` can use it. */
function target_isSimulator(): boolean {
  return !config.port;
}
