/**
 * CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740): poly 0x1021, init 0xFFFF, no input or output
 * reflection, xorout 0x0000. Check value over ASCII "123456789" is 0x29B1 [SL-FRAME-2].
 * Table-driven: one lookup per byte, it sits on the decoder's hot path.
 */
const table = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c = i << 8;
  for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  table[i] = c;
}

export const CRC16_INIT = 0xffff;

/** CRC of `bytes[from, to)`, continuing from `crc` (start with `CRC16_INIT`). */
export function crc16(bytes: Uint8Array, from = 0, to = bytes.length, crc = CRC16_INIT): number {
  let c = crc;
  for (let i = from; i < to; i++) c = ((c << 8) & 0xffff) ^ table[((c >>> 8) ^ bytes[i]!) & 0xff]!;
  return c;
}
