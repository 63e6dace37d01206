import type { PayloadReader, PayloadWriter } from './wire.js';

/**
 * ACK, device to host: the command was carried out [SL-CMD-2].
 *
 * ```
 * u16 commandSeq   sequence number of the COMMAND frame answered
 * u8  opcode       that command's opcode (raw, so unknown opcodes can be answered too)
 * ```
 */
export interface AckMessage {
  type: 'ack';
  commandSeq: number;
  opcode: number;
}

export function writeAck(w: PayloadWriter, m: AckMessage): void {
  w.u16(m.commandSeq, 'commandSeq');
  w.u8(m.opcode, 'opcode');
}

export function readAck(r: PayloadReader): AckMessage {
  const commandSeq = r.u16();
  const opcode = r.u8();
  r.end_();
  return { type: 'ack', commandSeq, opcode };
}
