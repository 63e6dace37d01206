import { z } from 'zod';
import { ValidationError } from '../errors/index.js';

/**
 * The primary host's STATE message on `spBv1.0/STATE/<host_id>`: UTF-8 JSON
 * `{"online":bool,"timestamp":ms}`, published retained at QoS 1 [tck-id-host-topic-phid-birth-payload]
 * [tck-id-host-topic-phid-death-payload].
 */
export interface HostState {
  online: boolean;
  timestamp: number;
}

const hostState = z.object({ online: z.boolean(), timestamp: z.number().int().nonnegative() });

export function encodeState(state: HostState): Buffer {
  return Buffer.from(JSON.stringify({ online: state.online, timestamp: state.timestamp }));
}

export function decodeState(bytes: Uint8Array): HostState {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new ValidationError('STATE payload is not JSON', { cause: error });
  }
  const parsed = hostState.safeParse(value);
  if (!parsed.success) throw new ValidationError('STATE payload is not {"online":bool,"timestamp":ms}');
  return parsed.data;
}

/**
 * An edge node acts on a STATE message only if its timestamp is not older than the last one it
 * saw, so a stale retained message cannot flip the host back.
 */
export function isNewerState(previous: HostState | undefined, next: HostState): boolean {
  return previous === undefined || next.timestamp >= previous.timestamp;
}
