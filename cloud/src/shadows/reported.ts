import {
  gatewayShadowSettings,
  type ShadowDocument,
  shadowMetricNames,
  shelfShadowSettings,
  type TelemetryMetrics,
} from '@bitv/shared/events';

/** A gateway's shadow as its agent reported it in one NBIRTH or NDATA. */
export interface ReportedShadow {
  siteId: string;
  gatewayId: string;
  version: number;
  reported: ShadowDocument;
  /** From an NBIRTH: the gateway (re)connected, so a delta it was sent while away never arrived. */
  birth: boolean;
  time: Date;
}

export type ReportParse = { report: ReportedShadow } | { skipped: string } | undefined;

/**
 * The `shadow/*` node metrics of a generic metrics event: `shadow/version` and the JSON sections
 * `shadow/gateway` and `shadow/shelf/<id>`. Undefined when the event carries none (most do not);
 * `skipped` with why when they are malformed (the caller counts and logs it).
 */
export function reportedShadowOf(event: TelemetryMetrics): ReportParse {
  if (event.deviceId !== undefined || (event.kind !== 'NBIRTH' && event.kind !== 'NDATA')) return undefined;
  const version = event.metrics.find((m) => m.name === shadowMetricNames.version);
  if (!version) return undefined;
  if (typeof version.value !== 'number' || !Number.isSafeInteger(version.value) || version.value < 0) {
    return { skipped: 'shadow/version is not a whole number' };
  }
  const reported: ShadowDocument = {};
  for (const m of event.metrics) {
    if (m.name === shadowMetricNames.gateway) {
      const parsed = gatewayShadowSettings.safeParse(parseJson(m.value));
      if (!parsed.success) return { skipped: 'shadow/gateway does not fit the schema' };
      if (Object.keys(parsed.data).length > 0) reported.gateway = parsed.data;
    } else if (m.name.startsWith(shadowMetricNames.shelfPrefix)) {
      const shelfId = m.name.slice(shadowMetricNames.shelfPrefix.length);
      const parsed = shelfShadowSettings.safeParse(parseJson(m.value));
      if (shelfId === '' || !parsed.success) return { skipped: `${m.name} does not fit the schema` };
      if (Object.keys(parsed.data).length > 0)
        reported.shelves = { ...reported.shelves, [shelfId]: parsed.data };
    }
  }
  const time = Date.parse(version.time);
  return {
    report: {
      siteId: event.groupId,
      gatewayId: event.edgeNodeId,
      version: version.value,
      reported,
      birth: event.kind === 'NBIRTH',
      time: Number.isFinite(time) ? new Date(time) : new Date(),
    },
  };
}

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value);
  } catch {
    // Not JSON: the schema check that follows refuses it with the metric's name.
    return undefined;
  }
}
