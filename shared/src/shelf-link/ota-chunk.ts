import { OTA_MAX_CHUNK } from './constants.js';
import { crc16 } from './crc16.js';
import { invalidField, PayloadError, type PayloadReader, type PayloadWriter } from './wire.js';

/**
 * OTA_CHUNK, host to device: `data` belongs at `offset` of the image [SL-OTA-3]. The device
 * writes it to the inactive slot, reads it back and compares the CRC (the frame CRC covers the
 * wire, this one the flash write), then ACKs; a chunk at any offset but the next expected one,
 * or whose read-back CRC differs, is NACKed `invalid_argument` / `malformed` and not written.
 *
 * ```
 * u32  offset
 * u16  crc         CRC-16/CCITT-FALSE of data
 * u8[] data        1..512 bytes: the rest of the payload
 * ```
 */
export interface OtaChunkMessage {
  type: 'ota_chunk';
  offset: number;
  crc: number;
  data: Uint8Array;
}

export function otaChunk(offset: number, data: Uint8Array): OtaChunkMessage {
  return { type: 'ota_chunk', offset, crc: crc16(data), data };
}

export function writeOtaChunk(w: PayloadWriter, m: OtaChunkMessage): void {
  w.u32(m.offset, 'offset');
  w.u16(m.crc, 'crc');
  if (m.data.length < 1 || m.data.length > OTA_MAX_CHUNK) invalidField('chunk length', m.data.length);
  w.raw(m.data, 'data');
}

export function readOtaChunk(r: PayloadReader): OtaChunkMessage {
  const offset = r.u32();
  const crc = r.u16();
  const data = r.rest();
  if (data.length < 1 || data.length > OTA_MAX_CHUNK)
    throw new PayloadError('length', `chunk of ${data.length} bytes`);
  return { type: 'ota_chunk', offset, crc, data };
}
