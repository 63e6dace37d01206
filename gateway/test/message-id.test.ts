import { describe, expect, it } from 'vitest';
import { digestOf, topicDigest, uuidFrom } from '../src/bridge/message-id.js';

const hexOf = (d: Int32Array) => [...d].map((x) => (x >>> 0).toString(16).padStart(8, '0')).join('');
const seeded = (seed: number) => new Int32Array([seed, seed, seed, seed]);

describe('message ids', () => {
  // MurmurHash3 x86_128 as another implementation gives it (murmurhash3js 3.0.1, x86.hash128):
  // every tail length, a whole block, and seeds
  it.each([
    ['', 0, '00000000000000000000000000000000'],
    ['a', 0, 'a794933c5556b01b5556b01b5556b01b'],
    ['hello', 0, '2b2444a0db91def79adb31b69adb31b6'],
    ['The quick brown fox jumps over the lazy dog', 0, '2f1583c3ecee2c675d7bf66ce5e91d2c'],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, '8ad4d55e4cb861718ea73a9ccdb6793e'],
    ['0123456789abcdef', 1, '7e461b4e18cc75b9c7493938f88f1c82'],
    ['0123456789abcdefg', 42, 'c83b49302c5e4e610d2b5d5f312cf4b4'],
  ])('digests %j with seed %d as the reference MurmurHash3 x86_128', (text, seed, expected) => {
    expect(hexOf(digestOf(Buffer.from(text), seeded(seed)))).toBe(expected);
  });

  it('tells apart the same bytes on two topics, and two messages on one', () => {
    const bytes = Buffer.from('the same DDATA from two shelves');
    const a = topicDigest('g/DDATA/n/shelf-1');
    const b = topicDigest('g/DDATA/n/shelf-2');
    expect(uuidFrom(digestOf(bytes, a))).not.toBe(uuidFrom(digestOf(bytes, b)));
    expect(uuidFrom(digestOf(bytes, a))).not.toBe(uuidFrom(digestOf(Buffer.from('another DDATA'), a)));
    expect(uuidFrom(digestOf(bytes, a))).toBe(
      uuidFrom(digestOf(Buffer.from(bytes), topicDigest('g/DDATA/n/shelf-1'))),
    );
  });

  it('makes version 8 UUIDs that differ by index in the last byte only', () => {
    const d = digestOf(Buffer.from('x'), topicDigest('t'));
    const first = uuidFrom(d, 0);
    const second = uuidFrom(d, 1);
    for (const id of [first, second])
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(second.slice(0, -2)).toBe(first.slice(0, -2));
    expect(second.slice(-2)).not.toBe(first.slice(-2));
    // the lanes big-endian, with the version and variant bits set
    expect(uuidFrom(new Int32Array([0x01234567, 0x89abcdef, 0x01234567, 0x89abcdef]))).toBe(
      '01234567-89ab-8def-8123-456789abcdef',
    );
  });
});
