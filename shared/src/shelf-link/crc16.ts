/**
 * CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740): poly 0x1021, init 0xFFFF, no input or output
 * reflection, xorout 0x0000. Check value over ASCII "123456789" is 0x29B1 [SL-FRAME-2].
 *
 * It sits on the decoder's hot path, so it is table-driven and takes two bytes per step
 * ("slice-by-2"): the CRC is linear, so feeding bytes h, l into register x = crc ^ (h << 8 | l)
 * gives T1[x >> 8] ^ T0[x & 0xff], where T0[i] is the CRC of byte i and T1[i] that of byte i
 * followed by a zero byte.
 */
const T0 = new Uint16Array(256);
const T1 = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c = i << 8;
  for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  T0[i] = c;
}
for (let i = 0; i < 256; i++) T1[i] = ((T0[i]! << 8) & 0xffff) ^ T0[T0[i]! >>> 8]!;

export const CRC16_INIT = 0xffff;

/** CRC of `bytes[from, to)`, continuing from `crc` (start with `CRC16_INIT`). */
export function crc16(bytes: Uint8Array, from = 0, to = bytes.length, crc = CRC16_INIT): number {
  let c = crc;
  let i = from;
  for (const end2 = to - 1; i < end2; i += 2) {
    const x = c ^ ((bytes[i]! << 8) | bytes[i + 1]!);
    c = T1[x >>> 8]! ^ T0[x & 0xff]!;
  }
  if (i < to) c = ((c << 8) & 0xffff) ^ T0[((c >>> 8) ^ bytes[i]!) & 0xff]!;
  return c;
}
