/**
 * Shelf link: the binary serial protocol between a shelf controller and the edge agent
 * (docs/shelf-link.md). One codec for both sides: the edge agent's driver, the firmware
 * simulator and the HIL suite.
 */
export type { AckMessage } from './ack.js';
export { cobsDecode, cobsDecodeInto, cobsEncode, cobsEncodeInto, cobsMaxEncodedLength } from './cobs.js';
export type { Command, CommandMessage, LedSetting } from './command.js';
export * from './constants.js';
export { CRC16_INIT, crc16 } from './crc16.js';
export {
  type BadFrame,
  type BadFrameReason,
  badFrameReasons,
  type DecodedFrame,
  type DecoderStats,
  FrameDecoder,
  type FrameDecoderOptions,
} from './decoder.js';
export type { EventMessage } from './event.js';
export { encodeFrame, encodeRawFrame } from './frame.js';
export type { HeartbeatMessage } from './heartbeat.js';
export { type HelloMessage, SERIAL_NUMBER_PATTERN } from './hello.js';
export type { ShelfMessage, ShelfMessageOf } from './message.js';
export type { NackMessage } from './nack.js';
export { OTA_MAX_IMAGE, type OtaBeginMessage } from './ota-begin.js';
export { type OtaChunkMessage, otaChunk } from './ota-chunk.js';
export type { OtaEndMessage } from './ota-end.js';
export type { OtaStatusMessage } from './ota-status.js';
export type { ReadingsMessage } from './readings.js';
export type { StoredMessage } from './stored.js';
