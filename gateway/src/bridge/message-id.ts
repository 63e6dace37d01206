/**
 * Event ids derived from the message they come from, so a message resent after a crash gets the
 * same ids. The digest is MurmurHash3 x86_128 (Austin Appleby's, public domain), written out
 * here because it runs for every PUBLISH: SHA-256 through node:crypto cost about 1 µs a message
 * (a Hash object each time), the maintained packages more than a third of that (hash-wasm's
 * xxh128 363 ns, murmurhash3js 969 ns, both measured on a 70-byte DDATA), this about 50 ns.
 * Nothing relies on the ids being unguessable: consumers identify readings by (edge node, device,
 * seq), and a device can only write to its own topics, which seed its digests.
 */

/** 128 bits as four 32-bit lanes: MurmurHash3's h1..h4. */
export type Digest = Int32Array;

const c1 = 0x239b961b;
const c2 = 0xab0e9789;
const c3 = 0x38b34ae5;
const c4 = 0xa1e38b93;

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const u32 = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);

/**
 * MurmurHash3 x86_128 of `bytes` starting from the lanes `from` instead of one seed in all four
 * (with equal lanes it is the reference function): a message's digest starts from its topic's,
 * and a record of several messages chains them.
 */
export function digestOf(bytes: Uint8Array, from: Digest): Digest {
  let h1 = from[0]!;
  let h2 = from[1]!;
  let h3 = from[2]!;
  let h4 = from[3]!;
  const len = bytes.length;
  const blocks = len - (len % 16);
  for (let i = 0; i < blocks; i += 16) {
    h1 ^= Math.imul(rotl(Math.imul(u32(bytes, i), c1), 15), c2);
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    h2 ^= Math.imul(rotl(Math.imul(u32(bytes, i + 4), c2), 16), c3);
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    h3 ^= Math.imul(rotl(Math.imul(u32(bytes, i + 8), c3), 17), c4);
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    h4 ^= Math.imul(rotl(Math.imul(u32(bytes, i + 12), c4), 18), c1);
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  // the tail's words, zero-padded: a word of zeros mixes in as nothing, as the reference's switch
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  for (let i = len - 1; i >= blocks; i--) {
    const at = i - blocks;
    const b = bytes[i]! << (8 * (at & 3));
    if (at < 4) k1 |= b;
    else if (at < 8) k2 |= b;
    else if (at < 12) k3 |= b;
    else k4 |= b;
  }
  h4 ^= Math.imul(rotl(Math.imul(k4, c4), 18), c1);
  h3 ^= Math.imul(rotl(Math.imul(k3, c3), 17), c4);
  h2 ^= Math.imul(rotl(Math.imul(k2, c2), 16), c3);
  h1 ^= Math.imul(rotl(Math.imul(k1, c1), 15), c2);

  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  const out = new Int32Array(4);
  out[0] = h1;
  out[1] = (h2 + h1) | 0;
  out[2] = (h3 + h1) | 0;
  out[3] = (h4 + h1) | 0;
  return out;
}

const zero: Digest = new Int32Array(4);

/** A topic's digest: its UTF-8 text hashed from zero, the start of every digest of its messages. */
export function topicDigest(text: string): Digest {
  return digestOf(Buffer.from(text, 'utf8'), zero);
}

const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const byte = (lane: number, n: number) => hex[(lane >>> (8 * (3 - n))) & 0xff]!;
const lane = (x: number) => byte(x, 0) + byte(x, 1) + byte(x, 2) + byte(x, 3);

/**
 * A UUID-shaped id (version 8: custom, RFC 9562) from a digest, the lanes in order, each
 * big-endian; `index` tells apart the several events of one message (it changes the last byte).
 */
export function uuidFrom(d: Digest, index = 0): string {
  const a = lane(d[0]!);
  const b = d[1]!;
  const c = d[2]!;
  const e = d[3]!;
  const last = (e & ~0xff) | ((e ^ index) & 0xff);
  return (
    `${a}-${byte(b, 0)}${byte(b, 1)}-${hex[((b >>> 8) & 0x0f) | 0x80]}${byte(b, 3)}-` +
    `${hex[((c >>> 24) & 0x3f) | 0x80]}${byte(c, 1)}-${byte(c, 2)}${byte(c, 3)}${lane(last)}`
  );
}
