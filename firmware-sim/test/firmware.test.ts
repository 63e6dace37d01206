import { binFlag, capability, commandOpcode, encodeRawFrame, messageType } from '@bitv/shared/shelf-link';
import { describe, expect, it } from 'vitest';
import { FirmwareHarness } from './harness.js';

const grams = (dg: number) => dg / 10;

function booted(seed?: number) {
  const h = new FirmwareHarness({}, seed);
  h.firmware.powerOn();
  h.run(2000);
  return h;
}

describe('simulated shelf firmware', () => {
  it('says HELLO first after power-on, then readings at the configured rate', () => {
    const h = booted();
    expect(h.frames[0]).toMatchObject({
      seq: 0,
      message: {
        type: 'hello',
        serialNumber: 'T0001',
        binCount: 3,
        sampleRateMilliHz: 10_000,
        bootReason: 'power_on',
      },
    });
    const readings = h.messages('readings');
    expect(readings.length).toBeGreaterThanOrEqual(16);
    const steps = readings.slice(1).map((r, i) => r.deviceTimeMs - readings[i]!.deviceTimeMs);
    expect(new Set(steps)).toEqual(new Set([100]));
    // Sequence numbers increase by one with nothing lost [SL-SEQ-1].
    expect(h.frames.map((f) => f.seq)).toEqual(h.frames.map((_, i) => i));
    expect(h.decoder.stats.lostFrames).toBe(0);
    expect(h.messages('heartbeat').length).toBeGreaterThanOrEqual(1);
  });

  it('reports net weights near the true load, stable when nothing moves', () => {
    const h = booted();
    const r = h.lastReadings();
    const expected = [2500, 1400, 3000];
    r.weightsDg.forEach((w, i) => {
      // Factory calibration is within ~0.5 %, zero within a few grams.
      expect(Math.abs(grams(w) - expected[i]!)).toBeLessThan(expected[i]! * 0.01 + 3);
    });
    expect(r.binFlags.every((f) => (f & binFlag.stable) !== 0)).toBe(true);
    expect(r.temperatureCentiC).toBeGreaterThan(2000);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = booted(11);
    const b = booted(11);
    const c = booted(12);
    const bytes = (h: FirmwareHarness) => Buffer.concat(h.out).toString('hex');
    expect(bytes(a)).toBe(bytes(b));
    expect(bytes(a)).not.toBe(bytes(c));
  });

  it('a pick lowers the weight by the items taken, after settling', () => {
    const h = booted();
    const before = grams(h.lastReadings().weightsDg[0]!);
    h.firmware.bins[0]!.cell.change(h.scheduler.now(), -2, 600);
    h.run(300);
    // While the hand rests on the shelf the reading is not stable.
    expect(h.lastReadings().binFlags[0]! & binFlag.stable).toBe(0);
    h.run(2000);
    const after = h.lastReadings();
    expect(after.binFlags[0]! & binFlag.stable).toBe(binFlag.stable);
    expect(grams(after.weightsDg[0]!) - before).toBeCloseTo(-500, -1);
  });

  it('tare zeroes a bin and calibrate sets its gain', () => {
    const h = booted();
    const tare = h.command({ op: 'tare', bin: 1 });
    h.run(500);
    expect(h.answerTo(tare)).toEqual({ type: 'ack', commandSeq: tare, opcode: commandOpcode.tare });
    h.run(1000);
    expect(Math.abs(grams(h.lastReadings().weightsDg[1]!))).toBeLessThan(1.5);
    // Put 10 items (350 g) back on, then tell the firmware it is 400 g: readings scale by 400/350.
    h.firmware.bins[1]!.cell.change(h.scheduler.now(), 10, 0);
    h.run(2000);
    expect(grams(h.lastReadings().weightsDg[1]!)).toBeCloseTo(350, -1);
    const cal = h.command({ op: 'calibrate', bin: 1, knownWeightDg: 4000 });
    h.run(1000);
    expect(h.answerTo(cal)).toMatchObject({ type: 'ack' });
    h.run(1000);
    expect(grams(h.lastReadings().weightsDg[1]!)).toBeCloseTo(400, -1);
  });

  it('NACKs invalid commands with a reason', () => {
    const h = booted();
    const cases = [
      [h.command({ op: 'tare', bin: 3 }), 'invalid_bin'],
      [h.command({ op: 'set_led', bin: 9, color: 0xff0000, blink: 'fast' }), 'invalid_bin'],
      [h.command({ op: 'calibrate', bin: 0, knownWeightDg: 0 }), 'invalid_argument'],
      [h.command({ op: 'set_sample_rate', milliHz: 0 }), 'invalid_argument'],
      [h.command({ op: 'identify', seconds: 601 }), 'invalid_argument'],
    ] as const;
    h.firmware.receive(
      encodeRawFrame({ type: messageType.command, seq: 50, payload: Uint8Array.of(0x42, 1) }),
    );
    h.run(200);
    for (const [seq, reason] of cases) expect(h.answerTo(seq)).toMatchObject({ type: 'nack', reason });
    expect(h.answerTo(50)).toEqual({ type: 'nack', commandSeq: 50, opcode: 0x42, reason: 'unknown_opcode' });
  });

  it('sets LEDs for pick-to-light, also all at once', () => {
    const h = booted();
    const one = h.command({ op: 'set_led', bin: 2, color: 0x00ff00, blink: 'slow' });
    h.run(10);
    expect(h.answerTo(one)).toMatchObject({ type: 'ack' });
    expect(h.firmware.leds[2]).toEqual({ color: 0x00ff00, blink: 'slow' });
    expect(h.firmware.leds[0]).toEqual({ color: 0, blink: 'off' });
    h.command({ op: 'set_led', bin: 255, color: 0x0000ff, blink: 'steady' });
    expect(h.firmware.leds.every((l) => l.color === 0xff && l.blink === 'steady')).toBe(true);
  });

  it('sets several LEDs with one set_leds, all or none [SL-LED-2]', () => {
    const h = booted();
    expect(h.messages('hello')[0]!.capabilities & capability.group_led).toBe(capability.group_led);
    const both = h.command({
      op: 'set_leds',
      leds: [
        { bin: 0, color: 0x00ff00, blink: 'steady' },
        { bin: 2, color: 0xff0000, blink: 'fast' },
      ],
    });
    h.run(10);
    expect(h.answerTo(both)).toMatchObject({ type: 'ack', opcode: commandOpcode.set_leds });
    expect(h.firmware.leds).toEqual([
      { color: 0x00ff00, blink: 'steady' },
      { color: 0, blink: 'off' },
      { color: 0xff0000, blink: 'fast' },
    ]);
    // One bin it does not have: refused whole, bin 0 keeps its light.
    const bad = h.command({
      op: 'set_leds',
      leds: [
        { bin: 0, color: 0, blink: 'off' },
        { bin: 3, color: 0, blink: 'off' },
      ],
    });
    h.run(10);
    expect(h.answerTo(bad)).toMatchObject({ type: 'nack', reason: 'invalid_bin' });
    expect(h.firmware.leds[0]).toEqual({ color: 0x00ff00, blink: 'steady' });
  });

  it('without group_led: no capability bit, set_leds NACKed unknown_opcode', () => {
    const h = new FirmwareHarness({ groupLed: false });
    h.firmware.powerOn();
    h.run(2000);
    expect(h.messages('hello')[0]!.capabilities & capability.group_led).toBe(0);
    const seq = h.command({ op: 'set_leds', leds: [{ bin: 1, color: 0xff, blink: 'slow' }] });
    h.run(10);
    expect(h.answerTo(seq)).toMatchObject({ type: 'nack', reason: 'unknown_opcode' });
    expect(h.firmware.leds[1]).toEqual({ color: 0, blink: 'off' });
  });

  it('changes the sample rate', () => {
    const h = booted();
    const seq = h.command({ op: 'set_sample_rate', milliHz: 2000 });
    const n = h.messages('readings').length;
    h.run(3000);
    expect(h.answerTo(seq)).toMatchObject({ type: 'ack' });
    const r = h.messages('readings').slice(n);
    expect(r.length).toBe(6);
    expect(r[2]!.deviceTimeMs - r[1]!.deviceTimeMs).toBe(500);
  });

  it('reboots on command: ACK, then HELLO with sequence 0 and bootReason command', () => {
    const h = booted();
    const seq = h.command({ op: 'reboot' });
    h.run(1000);
    expect(h.answerTo(seq)).toMatchObject({ type: 'ack' });
    const hello = h.frames.filter((f) => f.message.type === 'hello').at(-1)!;
    expect(hello.seq).toBe(0);
    expect(hello.message).toMatchObject({ bootReason: 'command' });
    expect(h.firmware.counters.boots).toBe(2);
  });

  it('a dead cell is flagged, raises cell_fault, refuses tare, and recovers', () => {
    const h = booted();
    h.firmware.bins[2]!.cell.dead = true;
    h.run(300);
    expect(h.lastReadings().binFlags[2]! & binFlag.fault).toBe(binFlag.fault);
    expect(h.messages('event')).toEqual([expect.objectContaining({ kind: 'cell_fault', bin: 2 })]);
    const seq = h.command({ op: 'tare', bin: 2 });
    expect(h.answerTo(seq)).toMatchObject({ type: 'nack', reason: 'cell_fault' });
    h.firmware.bins[2]!.cell.dead = false;
    h.run(300);
    expect(h.messages('event').map((e) => e.kind)).toEqual(['cell_fault', 'cell_recovered']);
  });

  it('an overload is flagged and raises one overload EVENT with the weight', () => {
    const h = booted();
    h.firmware.bins[2]!.cell.change(h.scheduler.now(), 30, 0); // 33 kg on a 20 kg cell
    h.run(1500);
    expect(h.lastReadings().binFlags[2]! & binFlag.overload).toBe(binFlag.overload);
    const events = h.messages('event');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'overload', bin: 2 });
    // Flagged from the rated 20 kg on (the 24-bit ADC itself only clips near 32 kg).
    expect(events[0]!.value).toBeGreaterThan(200_000);
  });

  it('a stall sends nothing for its duration, then carries on; the host sees the gap in device time', () => {
    const h = booted();
    h.firmware.stall(3000);
    const n = h.frames.length;
    h.run(2900);
    expect(h.frames.length).toBe(n);
    h.run(500);
    expect(h.frames.length).toBeGreaterThan(n);
  });

  it('a clock jump moves device time', () => {
    const h = booted();
    const t = h.lastReadings().deviceTimeMs;
    h.firmware.clockJump(3_600_000);
    h.run(100);
    expect(h.lastReadings().deviceTimeMs - t).toBe(3_600_100);
  });

  it('garbage from the host is counted and the next command still answered [SL-RX-1]', () => {
    const h = booted();
    h.firmware.receive(Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff));
    const seq = h.command({ op: 'identify', seconds: 5 });
    expect(h.answerTo(seq)).toMatchObject({ type: 'ack' });
    expect(h.firmware.identifying).toBe(true);
    expect(h.decoder.badFramesTotal).toBe(0);
  });

  it('brown-out: EVENT with the supply voltage, then a reboot with bootReason brown_out', () => {
    const h = booted();
    h.firmware.brownOut(4100);
    h.run(1000);
    expect(h.messages('event').at(-1)).toMatchObject({ kind: 'brown_out', bin: null, value: 4100 });
    expect(h.messages('hello').at(-1)).toMatchObject({ bootReason: 'brown_out' });
  });
});
