import { commandResultMetrics, gapMetrics, type Metric, nodeHealthMetrics } from '@bitv/shared/sparkplug';
import type { CommandStore, Outbox } from '../outbox/index.js';

export interface ReportContext {
  outbox: Outbox;
  commands: CommandStore;
  /** Devices born in this session (a result for one goes in its DDATA). */
  birthed: ReadonlySet<string>;
  /** What this session already sent and waits a PUBACK for. */
  inFlight: { resultsInFlight: Set<string>; gapsInFlight: Set<number> };
  /** Publishes the metrics as DDATA of `device`, or as NDATA when it is null (re-birthing first if its birth lacks one). */
  publish(device: string | null, metrics: Metric[], onAck: () => void): void;
}

/** The outbox health metrics of NBIRTH/NDATA, and the links down when `links` is given. */
export function healthMetrics(outbox: Outbox, links?: ReadonlyMap<string, string>): Metric[] {
  const st = outbox.stats();
  return nodeHealthMetrics({
    outboxDepth: st.depth,
    oldestUnsentMs: st.oldestTimeMs === null ? 0 : Math.max(0, Date.now() - st.oldestTimeMs),
    droppedTotal: st.droppedTotal,
    ...(links ? linkHealth(links) : {}),
  });
}

/** `links/down` and `links/error` (`<link>: <reason>; ...`, '' when every link is up). */
export function linkHealth(links: ReadonlyMap<string, string>): { linksDown: number; linkError: string } {
  return {
    linksDown: links.size,
    linkError: [...links].map(([link, reason]) => `${link}: ${reason}`).join('; '),
  };
}

/**
 * Publishes command results (DDATA of the device when it is born in this session, else NDATA)
 * and gap events (NDATA with the outbox health), each marked reported only on its PUBACK.
 */
export function sendReports(c: ReportContext): void {
  const results = c.commands.unreported(50).filter((r) => !c.inFlight.resultsInFlight.has(r.id));
  const byTarget = new Map<string | null, typeof results>();
  for (const r of results) {
    const target = r.device && c.birthed.has(r.device) ? r.device : null;
    byTarget.set(target, [...(byTarget.get(target) ?? []), r]);
  }
  for (const [device, list] of byTarget) {
    const metrics = commandResultMetrics(
      list.flatMap((r) =>
        r.status === 'running' ? [] : [{ id: r.id, status: r.status, reason: r.reason ?? undefined }],
      ),
    );
    for (const r of list) c.inFlight.resultsInFlight.add(r.id);
    c.publish(device, metrics, () => {
      c.commands.markReported(list.map((r) => r.id));
      for (const r of list) c.inFlight.resultsInFlight.delete(r.id);
    });
  }
  const gaps = c.outbox.unreportedGaps(50).filter((g) => !c.inFlight.gapsInFlight.has(g.id));
  if (gaps.length === 0) return;
  for (const g of gaps) c.inFlight.gapsInFlight.add(g.id);
  const metrics: Metric[] = [...healthMetrics(c.outbox), ...gapMetrics(gaps)];
  c.publish(null, metrics, () => {
    c.outbox.markGapsReported(gaps.map((g) => g.id));
    for (const g of gaps) c.inFlight.gapsInFlight.delete(g.id);
  });
}
