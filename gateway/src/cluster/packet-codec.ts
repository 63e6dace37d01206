import { ValidationError } from '@bitv/shared/errors';
import type mqemitter from 'mqemitter';

/**
 * A message between cluster nodes: `u32 length` of a JSON header (every field of the aedes packet
 * but the payload), the header, then the payload bytes as they are. JSON keeps it readable and
 * dependency-free; the payload, the only large part, is never re-encoded.
 */
export function encodeClusterPacket(message: mqemitter.Message): Buffer {
  const { payload, ...header } = message as mqemitter.Message & { payload?: Buffer | string };
  const head = Buffer.from(JSON.stringify(header));
  const body = payload === undefined ? Buffer.alloc(0) : Buffer.from(payload);
  const out = Buffer.allocUnsafe(4 + head.length + body.length);
  out.writeUInt32BE(head.length, 0);
  head.copy(out, 4);
  body.copy(out, 4 + head.length);
  return out;
}

export function decodeClusterPacket(bytes: Buffer): mqemitter.Message {
  if (bytes.length < 4) throw new ValidationError('cluster packet shorter than its header length');
  const length = bytes.readUInt32BE(0);
  if (4 + length > bytes.length) throw new ValidationError('cluster packet header runs past its end');
  const header = JSON.parse(bytes.subarray(4, 4 + length).toString()) as unknown;
  if (
    typeof header !== 'object' ||
    header === null ||
    typeof (header as { topic?: unknown }).topic !== 'string'
  ) {
    throw new ValidationError('cluster packet without a topic');
  }
  return { ...(header as { topic: string }), payload: Buffer.from(bytes.subarray(4 + length)) };
}
