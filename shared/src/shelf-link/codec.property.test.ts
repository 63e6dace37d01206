import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitraryMessage, arbitrarySeq } from './arbitraries.js';
import { cobsDecodeZeroFree } from './cobs.js';
import { cobsDecodeInto, cobsEncode, encodeFrame, FrameDecoder } from './index.js';

// [SL-RX-1] the decoder's promises, checked over generated input rather than examples.
describe('shelf-link properties', () => {
  it('decode(encode(m)) = m for every message and sequence number', () => {
    fc.assert(
      fc.property(arbitraryMessage, arbitrarySeq, (m, seq) => {
        const d = new FrameDecoder();
        const got = d.push(encodeFrame(m, seq));
        expect(got).toEqual([{ seq, message: m, lost: 0 }]);
        expect(d.badFramesTotal).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('COBS round-trips any bytes, and the decoder fast path agrees with the checked one', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), fc.uint8Array({ maxLength: 300 }), (raw, junk) => {
        const enc = cobsEncode(raw);
        const out = new Uint8Array(2048);
        expect(out.subarray(0, cobsDecodeZeroFree(enc, 0, enc.length, out))).toEqual(raw);
        const noZero = junk.filter((b) => b !== 0);
        const a = new Uint8Array(512);
        const b = new Uint8Array(512);
        const na = cobsDecodeInto(noZero, 0, noZero.length, a);
        expect(cobsDecodeZeroFree(noZero, 0, noZero.length, b)).toBe(na);
        if (na >= 0) expect(b.subarray(0, na)).toEqual(a.subarray(0, na));
      }),
      { numRuns: 500 },
    );
  });

  it('a stream of frames survives any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryMessage, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (messages, sizes) => {
          const stream = Buffer.concat(messages.map((m, i) => encodeFrame(m, i)));
          const d = new FrameDecoder();
          const got = [];
          let at = 0;
          for (let k = 0; at < stream.length; k++) {
            const size = sizes[k % sizes.length]!;
            got.push(...d.push(stream.subarray(at, at + size)));
            at += size;
          }
          expect(got.map((f) => f.message)).toEqual(messages);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes, in arbitrary chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 10 }), (chunks) => {
        const d = new FrameDecoder();
        for (const c of chunks) d.push(c);
        expect(d.stats.bytes).toBe(chunks.reduce((n, c) => n + c.length, 0));
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on mutated valid frames, and counts each dropped one', () => {
    fc.assert(
      fc.property(
        arbitraryMessage,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        (m, flips) => {
          const f = Uint8Array.from(encodeFrame(m, 1));
          for (const [at, x] of flips) {
            const i = 1 + (at % (f.length - 2));
            f[i] = f[i]! ^ x;
          }
          const d = new FrameDecoder();
          const got = d.push(f);
          expect(got.length + d.badFramesTotal).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a valid frame after garbage is always recovered', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), arbitraryMessage, arbitrarySeq, (garbage, m, seq) => {
        const d = new FrameDecoder();
        const got = [...d.push(garbage), ...d.push(encodeFrame(m, seq))];
        expect(got.at(-1)?.message).toEqual(m);
        expect(got.at(-1)?.seq).toBe(seq);
      }),
      { numRuns: 1000 },
    );
  });
});
