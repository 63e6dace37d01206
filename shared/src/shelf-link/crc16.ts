/**
 * CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740): poly 0x1021, init 0xFFFF, no input or output
 * reflection, xorout 0x0000. Check value over ASCII "123456789" is 0x29B1 [SL-FRAME-2].
 *
 * It sits on the decoder's hot path, so it is table-driven and takes four bytes per step
 * ("slice-by-4"): the CRC is linear, so feeding bytes a, b, c, d into register
 * x = crc ^ (a << 8 | b) gives T3[x >> 8] ^ T2[x & 0xff] ^ T1[c] ^ T0[d], where Tk[i] is the CRC
 * (from zero) of byte i followed by k zero bytes.
 */
const T0 = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c = i << 8;
  for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  T0[i] = c;
}
/** One more zero byte after each entry of `t`. */
const shifted = (t: Uint16Array) => t.map((v) => ((v << 8) & 0xffff) ^ T0[v >>> 8]!);
const T1 = shifted(T0);
const T2 = shifted(T1);
const T3 = shifted(T2);

export const CRC16_INIT = 0xffff;

/** CRC of `bytes[from, to)`, continuing from `crc` (start with `CRC16_INIT`). */
export function crc16(bytes: Uint8Array, from = 0, to = bytes.length, crc = CRC16_INIT): number {
  let c = crc;
  let i = from;
  for (const end4 = to - 3; i < end4; i += 4) {
    const x = c ^ ((bytes[i]! << 8) | bytes[i + 1]!);
    c = T3[x >>> 8]! ^ T2[x & 0xff]! ^ T1[bytes[i + 2]!]! ^ T0[bytes[i + 3]!]!;
  }
  for (; i < to; i++) c = ((c << 8) & 0xffff) ^ T0[((c >>> 8) ^ bytes[i]!) & 0xff]!;
  return c;
}
