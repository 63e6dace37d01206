import { ValidationError } from '../errors/index.js';
import { asPayload, type DecodeOptions, type Metric, type Payload } from './payload.js';

/**
 * A gap event in NDATA: readings of a device that will never arrive, said explicitly so a
 * consumer can tell "dropped" from "late". `dropped` ranges are outbox seqs (a capacity limit
 * was hit); `link` ranges are shelf-link frame sequence numbers the agent never received, or,
 * with reason `readings not replayed (device time ms)`, the device times (ms) of readings a
 * replay shelf no longer had (docs/shelf-link.md [SL-REPLAY-6]).
 */
export interface GapReport {
  device: string;
  kind: 'dropped' | 'link';
  reason: string;
  fromSeq: number;
  toSeq: number;
  count: number;
}

export const gapMetricNames = {
  device: 'outbox/gap/device',
  kind: 'outbox/gap/kind',
  reason: 'outbox/gap/reason',
  fromSeq: 'outbox/gap/from_seq',
  toSeq: 'outbox/gap/to_seq',
  count: 'outbox/gap/count',
} as const;

export function gapMetrics(gaps: readonly GapReport[], timestamp = Date.now()): Metric[] {
  return gaps.flatMap((g): Metric[] => [
    { name: gapMetricNames.device, type: 'String', value: g.device, timestamp },
    { name: gapMetricNames.kind, type: 'String', value: g.kind, timestamp },
    { name: gapMetricNames.reason, type: 'String', value: g.reason, timestamp },
    { name: gapMetricNames.fromSeq, type: 'UInt64', value: g.fromSeq, timestamp },
    { name: gapMetricNames.toSeq, type: 'UInt64', value: g.toSeq, timestamp },
    { name: gapMetricNames.count, type: 'UInt64', value: g.count, timestamp },
  ]);
}

/** Gap reports in an NDATA payload, each starting at its `outbox/gap/device` metric. */
export function decodeGaps(input: Uint8Array | Payload, options?: DecodeOptions): GapReport[] {
  const payload = asPayload(input, options);
  const out: Partial<GapReport>[] = [];
  let current: Partial<GapReport> | undefined;
  for (const m of payload.metrics) {
    if (!m.name.startsWith('outbox/gap/')) continue;
    if (m.name === gapMetricNames.device) {
      current = { device: String(m.value) };
      out.push(current);
      continue;
    }
    if (!current) throw new ValidationError(`${m.name} before ${gapMetricNames.device}`);
    if (m.name === gapMetricNames.kind) {
      if (m.value !== 'dropped' && m.value !== 'link')
        throw new ValidationError(`unknown gap kind ${String(m.value)}`);
      current.kind = m.value;
    } else if (m.name === gapMetricNames.reason) current.reason = String(m.value);
    else if (typeof m.value === 'number') {
      if (m.name === gapMetricNames.fromSeq) current.fromSeq = m.value;
      else if (m.name === gapMetricNames.toSeq) current.toSeq = m.value;
      else if (m.name === gapMetricNames.count) current.count = m.value;
    }
  }
  return out.map((g) => {
    if (g.kind === undefined || g.fromSeq === undefined || g.toSeq === undefined || g.count === undefined) {
      throw new ValidationError(`incomplete gap report for ${g.device}`);
    }
    return {
      device: g.device!,
      kind: g.kind,
      reason: g.reason ?? '',
      fromSeq: g.fromSeq,
      toSeq: g.toSeq,
      count: g.count,
    };
  });
}
