import { deviceBirthMetrics, encodeNodeBirth, encodePayload } from '@bitv/shared/sparkplug';
import type { DeviceDirectory } from '../devices.js';
import type { Outbox } from '../outbox/index.js';
import { linkHealth } from './reports.js';

/** NBIRTH: seq 0, the session's bdSeq, rebirth=false, agent version and outbox health. */
export function nodeBirthPayload(
  outbox: Outbox,
  bdSeq: number,
  agentVersion: string,
  links: ReadonlyMap<string, string> = new Map(),
): Uint8Array {
  const stats = outbox.stats();
  const now = Date.now();
  return encodeNodeBirth(
    {
      bdSeq,
      agentVersion,
      outboxDepth: stats.depth,
      oldestUnsentMs: stats.oldestTimeMs === null ? 0 : Math.max(0, now - stats.oldestTimeMs),
      ...linkHealth(links),
    },
    now,
  );
}

/** DBIRTH: the device's identity, last values and its live metrics (Firmata pins) now. */
export function deviceBirthPayload(devices: DeviceDirectory, device: string, seq: number): Uint8Array {
  const now = Date.now();
  const live = devices.liveMetrics(device).map((m) => ({ ...m, timestamp: now }));
  return encodePayload({
    timestamp: now,
    seq,
    metrics: [...deviceBirthMetrics(devices.birth(device), now), ...live],
  });
}
