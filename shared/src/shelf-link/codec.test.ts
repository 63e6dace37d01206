import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import {
  capability,
  cobsDecode,
  cobsEncode,
  crc16,
  encodeFrame,
  encodeRawFrame,
  FrameDecoder,
  messageType,
  type ShelfMessage,
} from './index.js';

const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('CRC-16/CCITT-FALSE', () => {
  it('has the catalogue check value 0x29B1 for "123456789"', () => {
    expect(crc16(ascii('123456789'))).toBe(0x29b1);
  });
  it('continues over split input', () => {
    const b = ascii('123456789');
    expect(crc16(b, 4, 9, crc16(b, 0, 4))).toBe(0x29b1);
  });
});

describe('COBS', () => {
  // Vectors from Cheshire & Baker / the Wikipedia table.
  const vectors: [string, string][] = [
    ['00', '0101'],
    ['0000', '010101'],
    ['001100', '01021101'],
    ['11220033', '03112202 33'.replace(' ', '')],
    ['11223344', '0511223344'],
    ['11000000', '0211010101'],
  ];
  it.each(vectors)('encodes %s as %s', (raw, enc) => {
    expect(hex(cobsEncode(Buffer.from(raw, 'hex')))).toBe(enc);
    expect(hex(cobsDecode(Buffer.from(enc, 'hex'))!)).toBe(raw);
  });
  it('handles 254 and 255 non-zero bytes (block boundary)', () => {
    for (const n of [253, 254, 255, 508, 509]) {
      const raw = new Uint8Array(n).map((_, i) => (i % 255) + 1);
      const enc = cobsEncode(raw);
      expect(enc.includes(0)).toBe(false);
      expect(cobsDecode(enc)).toEqual(raw);
    }
  });
  it('rejects a code byte that points past the end', () => {
    expect(cobsDecode(Buffer.from('05112233', 'hex'))).toBeUndefined();
  });
});

describe('frames', () => {
  it('starts and ends with the delimiter and has no other zero', () => {
    const f = encodeFrame({ type: 'heartbeat', timeMs: 0 }, 0);
    expect(f[0]).toBe(0);
    expect(f[f.length - 1]).toBe(0);
    expect(f.subarray(1, -1).includes(0)).toBe(false);
  });

  it('refuses messages that do not fit the wire', () => {
    const bad: ShelfMessage[] = [
      {
        type: 'hello',
        protocolVersion: 1,
        firmwareVersion: '1.0.0',
        serialNumber: 'bad serial!',
        binCount: 4,
        capabilities: 0,
        sampleRateMilliHz: 1000,
        bootReason: 'power_on',
      },
      { type: 'readings', deviceTimeMs: 0, temperatureCentiC: null, weightsDg: [1, 2], binFlags: [0] },
      { type: 'readings', deviceTimeMs: 0, temperatureCentiC: null, weightsDg: [2 ** 31], binFlags: [0] },
      { type: 'heartbeat', timeMs: -1 },
      { type: 'command', command: { op: 'set_led', bin: 0, color: 0x1000000, blink: 'off' } },
      { type: 'command', command: { op: 'tare', bin: 256 } },
      // [SL-LED-2] one to 128 entries.
      { type: 'command', command: { op: 'set_leds', leds: [] } },
      {
        type: 'command',
        command: {
          op: 'set_leds',
          leds: Array.from({ length: 129 }, (_, bin) => ({ bin, color: 0, blink: 'off' as const })),
        },
      },
    ];
    for (const m of bad) expect(() => encodeFrame(m, 1), JSON.stringify(m)).toThrow(ValidationError);
    expect(() => encodeFrame({ type: 'heartbeat', timeMs: 0 }, 65536)).toThrow(ValidationError);
  });
});

describe('replay extension', () => {
  const hello = {
    type: 'hello',
    protocolVersion: 1,
    firmwareVersion: '1.5.0',
    serialNumber: 'S1',
    binCount: 2,
    capabilities: capability.replay | capability.led,
    sampleRateMilliHz: 10_000,
    bootReason: 'power_on',
    bootId: 0xdeadbeef,
  } as const;

  it('HELLO carries bootId exactly when the replay bit is set [SL-HELLO-1]', () => {
    const d = new FrameDecoder();
    expect(d.push(encodeFrame(hello, 0))).toEqual([{ seq: 0, message: hello, lost: 0 }]);
    const { bootId: _, ...plain } = { ...hello, capabilities: capability.led };
    const old = d.push(encodeFrame(plain, 1))[0]!.message;
    expect(old).toEqual(plain);
    expect('bootId' in old).toBe(false);
    expect(encodeFrame(hello, 0).length - encodeFrame(plain, 0).length).toBe(4);
  });

  it('refuses to encode a bootId that does not match the capability', () => {
    expect(() => encodeFrame({ ...hello, bootId: undefined }, 0)).toThrow(ValidationError);
    expect(() => encodeFrame({ ...hello, bootId: 0 }, 0)).toThrow(ValidationError);
    expect(() => encodeFrame({ ...hello, capabilities: capability.led }, 0)).toThrow(ValidationError);
    expect(() => encodeFrame({ type: 'stored', bootId: 0, deviceTimeMs: 5 }, 0)).toThrow(ValidationError);
  });

  it('drops a HELLO or STORED of the wrong length as `length`, a zero bootId as `malformed`', () => {
    const reasons: string[] = [];
    const d = new FrameDecoder({ onBadFrame: (b) => reasons.push(b.reason) });
    const payload = (m: ShelfMessage) => {
      const f = cobsDecode(encodeFrame(m, 0).subarray(1, -1))!;
      return f.subarray(4, -2);
    };
    const withId = payload(hello);
    d.push(encodeRawFrame({ type: messageType.hello, seq: 1, payload: withId.subarray(0, -4) }));
    d.push(encodeRawFrame({ type: messageType.hello, seq: 2, payload: withId.subarray(0, -1) }));
    d.push(encodeRawFrame({ type: messageType.hello, seq: 3, payload: Uint8Array.of(...withId, 9) }));
    const zero = Uint8Array.from(withId);
    zero.fill(0, -4);
    d.push(encodeRawFrame({ type: messageType.hello, seq: 4, payload: zero }));
    const stored = payload({ type: 'stored', bootId: 7, deviceTimeMs: 100 });
    d.push(encodeRawFrame({ type: messageType.stored, seq: 5, payload: stored.subarray(0, -1) }));
    d.push(encodeRawFrame({ type: messageType.stored, seq: 6, payload: Uint8Array.of(...stored, 0) }));
    expect(reasons).toEqual(['length', 'length', 'length', 'malformed', 'length', 'length']);
  });

  it('round-trips STORED [SL-STORED-1]', () => {
    const m: ShelfMessage = { type: 'stored', bootId: 0xffff_ffff, deviceTimeMs: 2 ** 53 - 1 };
    expect(new FrameDecoder().push(encodeFrame(m, 9))).toEqual([{ seq: 9, message: m, lost: 0 }]);
  });
});

describe('FrameDecoder', () => {
  const hb = (t: number, seq: number) => encodeFrame({ type: 'heartbeat', timeMs: t }, seq);

  it('decodes frames split at every byte boundary', () => {
    const stream = Buffer.concat([hb(1, 1), hb(2, 2), hb(3, 3)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(got.map((f) => f.seq)).toEqual([1, 2, 3]);
      expect(d.badFramesTotal).toBe(0);
    }
  });

  it('counts bad frames by reason', () => {
    const reasons: string[] = [];
    const d = new FrameDecoder({ onBadFrame: (b) => reasons.push(b.reason) });
    const good = hb(5, 9);
    const corrupt = Uint8Array.from(good);
    corrupt[3] = corrupt[3] === 1 ? 2 : 1; // still non-zero, so only the CRC catches it
    d.push(corrupt);
    d.push(encodeRawFrame({ version: 2, type: messageType.heartbeat, seq: 1, payload: new Uint8Array(8) }));
    d.push(encodeRawFrame({ type: 0x7f, seq: 2, payload: new Uint8Array(0) }));
    d.push(encodeRawFrame({ type: messageType.heartbeat, seq: 3, payload: new Uint8Array(3) }));
    d.push(encodeRawFrame({ type: messageType.command, seq: 4, payload: Uint8Array.of(0x99) }));
    d.push(Uint8Array.of(0, 2, 1, 0)); // decodes to 1 byte: shorter than a header
    d.push(Uint8Array.of(0, 9, 1, 0)); // code byte points past the end
    d.push(new Uint8Array(3000).fill(7));
    d.push(Uint8Array.of(0));
    expect(reasons).toEqual([
      'crc',
      'version',
      'unknown_type',
      'length',
      'malformed',
      'length',
      'cobs',
      'length',
    ]);
    expect(d.stats.badFrames).toEqual({
      cobs: 1,
      length: 3,
      crc: 1,
      version: 1,
      unknown_type: 1,
      malformed: 1,
    });
    expect(d.push(good).map((f) => f.message)).toEqual([{ type: 'heartbeat', timeMs: 5 }]);
  });

  it('hands a device the header and payload of an unknown command so it can NACK it', () => {
    const bad: unknown[] = [];
    const d = new FrameDecoder({ onBadFrame: (b) => bad.push(b) });
    d.push(encodeRawFrame({ type: messageType.command, seq: 77, payload: Uint8Array.of(0x42, 1) }));
    expect(bad).toEqual([
      { reason: 'malformed', type: messageType.command, seq: 77, payload: Uint8Array.of(0x42, 1) },
    ]);
  });

  it('detects lost frames, wraps at 65535 and restarts at HELLO', () => {
    const d = new FrameDecoder();
    const hello = encodeFrame(
      {
        type: 'hello',
        protocolVersion: 1,
        firmwareVersion: '1.0.0',
        serialNumber: 'S1',
        binCount: 1,
        capabilities: 0,
        sampleRateMilliHz: 1000,
        bootReason: 'power_on',
      },
      0,
    );
    const seqs = [65533, 65534, 0, 3, 4];
    const lost = seqs.flatMap((s) => d.push(hb(0, s)).map((f) => f.lost));
    expect(lost).toEqual([0, 0, 1, 2, 0]);
    expect(d.stats.lostFrames).toBe(3);
    expect(d.push(hello)[0]!.lost).toBe(0);
    expect(d.push(hb(0, 1))[0]!.lost).toBe(0);
    d.push(hb(0, 0)); // backwards without HELLO
    expect(d.stats.sequenceResets).toBe(1);
    expect(d.stats.lostFrames).toBe(3);
  });

  it('recovers the frame after a cut one', () => {
    const d = new FrameDecoder();
    const first = hb(1, 1);
    const got = d.push(Buffer.concat([first.subarray(0, 6), hb(2, 2)]));
    expect(got.map((f) => f.seq)).toEqual([2]);
    expect(d.badFramesTotal).toBe(1);
  });
});
