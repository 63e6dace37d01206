/**
 * Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999): removes every 0x00 from a frame so
 * that 0x00 can delimit frames on the wire [SL-FRAME-4]. Overhead: one byte per 254 data bytes,
 * plus one.
 */

/** Largest encoded size of `n` data bytes. */
export function cobsMaxEncodedLength(n: number): number {
  return n + Math.ceil(n / 254) + 1;
}

/**
 * Encodes `src[from, to)` into `dst` at `at`, returning the index after the last written byte.
 * `dst` must have room for `cobsMaxEncodedLength(to - from)` bytes.
 */
export function cobsEncodeInto(
  src: Uint8Array,
  from: number,
  to: number,
  dst: Uint8Array,
  at: number,
): number {
  let codeAt = at;
  let o = at + 1;
  let code = 1;
  for (let i = from; i < to; i++) {
    const b = src[i]!;
    if (b === 0) {
      dst[codeAt] = code;
      codeAt = o++;
      code = 1;
    } else {
      dst[o++] = b;
      code++;
      if (code === 0xff) {
        dst[codeAt] = code;
        codeAt = o++;
        code = 1;
      }
    }
  }
  dst[codeAt] = code;
  return o;
}

export function cobsEncode(src: Uint8Array): Uint8Array {
  const dst = new Uint8Array(cobsMaxEncodedLength(src.length));
  return dst.subarray(0, cobsEncodeInto(src, 0, src.length, dst, 0));
}

/**
 * Decodes `src[from, to)` (which must hold no 0x00) into `dst` from index 0. Returns the decoded
 * length, or -1 when the input is not valid COBS (a code byte points past the end, a zero byte
 * inside, or `dst` is too small). Never throws.
 */
export function cobsDecodeInto(src: Uint8Array, from: number, to: number, dst: Uint8Array): number {
  let i = from;
  let o = 0;
  const cap = dst.length;
  while (i < to) {
    const code = src[i++]!;
    if (code === 0) return -1;
    const end = i + code - 1;
    if (end > to || o + code > cap + 1) return -1;
    while (i < end) {
      const b = src[i++]!;
      if (b === 0) return -1;
      dst[o++] = b;
    }
    if (code !== 0xff && i < to) {
      if (o >= cap) return -1;
      dst[o++] = 0;
    }
  }
  return o;
}

/**
 * `cobsDecodeInto` for input already split at 0x00 (the decoder's case): the same result
 * without a zero test per byte, which matters on the hot path.
 */
export function cobsDecodeZeroFree(src: Uint8Array, from: number, to: number, dst: Uint8Array): number {
  let i = from;
  let o = 0;
  const cap = dst.length;
  while (i < to) {
    const code = src[i++]!;
    const end = i + code - 1;
    if (end > to || o + code > cap + 1) return -1;
    while (i < end) dst[o++] = src[i++]!;
    if (code !== 0xff && i < to) {
      if (o >= cap) return -1;
      dst[o++] = 0;
    }
  }
  return o;
}

export function cobsDecode(src: Uint8Array): Uint8Array | undefined {
  const dst = new Uint8Array(src.length);
  const n = cobsDecodeInto(src, 0, src.length, dst);
  return n < 0 ? undefined : dst.subarray(0, n);
}
