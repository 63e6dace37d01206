import type { PayloadReader, PayloadWriter } from './wire.js';

/**
 * HEARTBEAT, either direction, at least once per second when nothing else is sent
 * [SL-HEART-1]. A device sends it even while READINGS are flowing, so a host can tell a stalled
 * controller from a slow sample rate.
 *
 * ```
 * u64 timeMs     sender's monotonic ms
 * ```
 */
export interface HeartbeatMessage {
  type: 'heartbeat';
  timeMs: number;
}

export function writeHeartbeat(w: PayloadWriter, m: HeartbeatMessage): void {
  w.u64(m.timeMs, 'timeMs');
}

export function readHeartbeat(r: PayloadReader): HeartbeatMessage {
  const timeMs = r.u64();
  r.end_();
  return { type: 'heartbeat', timeMs };
}
