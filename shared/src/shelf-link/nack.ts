import { type NackReason, nackReason, namesByCode } from './constants.js';
import type { PayloadReader, PayloadWriter } from './wire.js';

/**
 * NACK, device to host: the command was refused and had no effect [SL-CMD-3].
 *
 * ```
 * u16 commandSeq   sequence number of the COMMAND frame answered
 * u8  opcode       that command's opcode (raw)
 * u8  reason       `nackReason` code; codes this host does not know read as `unspecified`
 * ```
 */
export interface NackMessage {
  type: 'nack';
  commandSeq: number;
  opcode: number;
  reason: NackReason;
}

const reasons = namesByCode(nackReason);

export function writeNack(w: PayloadWriter, m: NackMessage): void {
  w.u16(m.commandSeq, 'commandSeq');
  w.u8(m.opcode, 'opcode');
  w.code(nackReason, m.reason, 'reason');
}

export function readNack(r: PayloadReader): NackMessage {
  const commandSeq = r.u16();
  const opcode = r.u8();
  // [SL-CMD-3] newer firmware may add reasons; an old host still sees a refusal.
  const reason = reasons.get(r.u8()) ?? 'unspecified';
  r.end_();
  return { type: 'nack', commandSeq, opcode, reason };
}
