import { readAck, writeAck } from './ack.js';
import { cobsEncodeInto } from './cobs.js';
import { readCommand, writeCommand } from './command.js';
import {
  CRC_LENGTH,
  HEADER_LENGTH,
  MAX_ENCODED_LENGTH,
  MAX_FRAME_LENGTH,
  messageType,
  PROTOCOL_VERSION,
} from './constants.js';
import { crc16 } from './crc16.js';
import { readEvent, writeEvent } from './event.js';
import { readHeartbeat, writeHeartbeat } from './heartbeat.js';
import { readHello, writeHello } from './hello.js';
import type { ShelfMessage } from './message.js';
import { readNack, writeNack } from './nack.js';
import { readOtaBegin, writeOtaBegin } from './ota-begin.js';
import { readOtaChunk, writeOtaChunk } from './ota-chunk.js';
import { readOtaEnd, writeOtaEnd } from './ota-end.js';
import { readOtaStatus, writeOtaStatus } from './ota-status.js';
import { readReadings, writeReadings } from './readings.js';
import { readStored, writeStored } from './stored.js';
import { invalidField, type PayloadReader, PayloadWriter } from './wire.js';

/*
 * Wire layout of one frame [SL-FRAME-1..4]:
 *
 *   0x00 | COBS( version u8 | type u8 | seq u16 LE | payload | crc16 u16 LE ) | 0x00
 *
 * The CRC (CRC-16/CCITT-FALSE) covers version..payload. The leading 0x00 ends whatever garbage
 * or cut frame came before, so a frame is decodable no matter what preceded it [SL-FRAME-5].
 */

const scratch = new Uint8Array(MAX_FRAME_LENGTH);
const encodedScratch = new Uint8Array(MAX_ENCODED_LENGTH + 2);
const writer = new PayloadWriter(scratch, HEADER_LENGTH, MAX_FRAME_LENGTH - CRC_LENGTH);

/** Writes the un-stuffed frame (header, payload, CRC) into `scratch`; returns its length. */
function writeRaw(type: number, seq: number, payload: (w: PayloadWriter) => void): number {
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff) invalidField('seq', seq);
  scratch[0] = PROTOCOL_VERSION;
  scratch[1] = type;
  scratch[2] = seq & 0xff;
  scratch[3] = seq >>> 8;
  const w = writer.reset(HEADER_LENGTH);
  payload(w);
  const crc = crc16(scratch, 0, w.pos);
  scratch[w.pos] = crc & 0xff;
  scratch[w.pos + 1] = crc >>> 8;
  return w.pos + CRC_LENGTH;
}

function stuff(length: number): Uint8Array {
  encodedScratch[0] = 0;
  const end = cobsEncodeInto(scratch, 0, length, encodedScratch, 1);
  encodedScratch[end] = 0;
  return encodedScratch.slice(0, end + 1);
}

function writePayload(w: PayloadWriter, m: ShelfMessage): void {
  switch (m.type) {
    case 'hello':
      writeHello(w, m);
      return;
    case 'readings':
      writeReadings(w, m);
      return;
    case 'event':
      writeEvent(w, m);
      return;
    case 'heartbeat':
      writeHeartbeat(w, m);
      return;
    case 'stored':
      writeStored(w, m);
      return;
    case 'command':
      writeCommand(w, m);
      return;
    case 'ack':
      writeAck(w, m);
      return;
    case 'nack':
      writeNack(w, m);
      return;
    case 'ota_begin':
      writeOtaBegin(w, m);
      return;
    case 'ota_chunk':
      writeOtaChunk(w, m);
      return;
    case 'ota_end':
      writeOtaEnd(w, m);
      return;
    case 'ota_status':
      writeOtaStatus(w, m);
      return;
  }
}

/**
 * The bytes to write for `msg` with sequence number `seq` (0..65535), delimiters included.
 * Throws `ValidationError` when a field does not fit its wire type.
 */
export function encodeFrame(msg: ShelfMessage, seq: number): Uint8Array {
  const type = messageType[msg.type];
  if (type === undefined) invalidField('message type', msg.type);
  return stuff(writeRaw(type, seq, (w) => writePayload(w, msg)));
}

/**
 * A frame with any version, type and payload bytes, correctly stuffed and checksummed. For
 * tests that need frames a conforming encoder refuses to build (unknown opcode, future version).
 */
export function encodeRawFrame(fields: {
  version?: number;
  type: number;
  seq: number;
  payload: Uint8Array;
}): Uint8Array {
  const length = writeRaw(fields.type, fields.seq, (w) => {
    for (const b of fields.payload) w.u8(b, 'payload byte');
  });
  scratch[0] = fields.version ?? PROTOCOL_VERSION;
  const crc = crc16(scratch, 0, length - CRC_LENGTH);
  scratch[length - 2] = crc & 0xff;
  scratch[length - 1] = crc >>> 8;
  return stuff(length);
}

/**
 * Reads the payload (positioned in `r`) of a frame whose header and CRC were already checked.
 * Throws `PayloadError`.
 */
export function readPayload(type: number, r: PayloadReader): ShelfMessage {
  switch (type) {
    case messageType.hello:
      return readHello(r);
    case messageType.readings:
      return readReadings(r);
    case messageType.event:
      return readEvent(r);
    case messageType.heartbeat:
      return readHeartbeat(r);
    case messageType.stored:
      return readStored(r);
    case messageType.command:
      return readCommand(r);
    case messageType.ack:
      return readAck(r);
    case messageType.nack:
      return readNack(r);
    case messageType.ota_begin:
      return readOtaBegin(r);
    case messageType.ota_chunk:
      return readOtaChunk(r);
    case messageType.ota_end:
      return readOtaEnd(r);
    case messageType.ota_status:
      return readOtaStatus(r);
    default:
      // The decoder checks the type before calling; this keeps the function total.
      throw new Error(`unknown type ${type}`);
  }
}

export function isKnownType(type: number): boolean {
  return knownTypes.has(type);
}
const knownTypes = new Set<number>(Object.values(messageType));
