import { deviceBirthMetrics, type Metric, nodeBirthMetrics } from '@bitv/shared/sparkplug';
import type { DeviceDirectory } from '../devices.js';
import type { Outbox } from '../outbox/index.js';
import { linkHealth } from './reports.js';

/**
 * NBIRTH metrics now: the session's bdSeq, rebirth=false, agent version, outbox and link health,
 * and the declarations of everything else an NDATA may carry (gap reports, command results).
 */
export function nodeBirthNow(
  outbox: Outbox,
  bdSeq: number,
  agentVersion: string,
  links: ReadonlyMap<string, string> = new Map(),
  now = Date.now(),
): Metric[] {
  const stats = outbox.stats();
  return nodeBirthMetrics(
    {
      bdSeq,
      agentVersion,
      outboxDepth: stats.depth,
      oldestUnsentMs: stats.oldestTimeMs === null ? 0 : Math.max(0, now - stats.oldestTimeMs),
      droppedTotal: stats.droppedTotal,
      ...linkHealth(links),
    },
    now,
  );
}

/** DBIRTH metrics now: the device's identity, last values, command results and live metrics (Firmata pins, lights). */
export function deviceBirthNow(devices: DeviceDirectory, device: string, now = Date.now()): Metric[] {
  const live = devices.liveMetrics(device).map((m) => ({ ...m, timestamp: now }));
  return [...deviceBirthMetrics(devices.birth(device), now), ...live];
}
