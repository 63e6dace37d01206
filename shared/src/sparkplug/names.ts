/** Metric names of the BitVelocity Sparkplug conventions (docs/sparkplug.md). */
export const metricNames = {
  readingSeq: 'reading/seq',
  temperature: 'temperature_c',
  deviceSerial: 'device/serial',
  deviceFirmware: 'device/firmware',
  deviceBinCount: 'device/bin_count',
  bdSeq: 'bdSeq',
  /** [tck-id-operational-behavior-data-commands-rebirth-name] */
  rebirth: 'Node Control/Rebirth',
  agentVersion: 'agent/version',
  outboxDepth: 'outbox/depth',
  outboxOldestUnsentMs: 'outbox/oldest_unsent_ms',
  outboxDroppedTotal: 'outbox/dropped_total',
  commandId: 'command/id',
  commandJson: 'command/json',
  commandExpiresAt: 'command/expires_at',
  commandStatus: 'command/status',
  commandReason: 'command/reason',
} as const;

const binPattern = /^bin\/(\d{2,3})\/weight_g$/;

/** `bin/03/weight_g`: the bin number with at least two digits. */
export function binWeightMetric(bin: number): string {
  return `bin/${String(bin).padStart(2, '0')}/weight_g`;
}

/** Names seen by parseBinWeightMetric (a shelf has a few dozen bins; bounded against noise). */
const parsedNames = new Map<string, number | undefined>();

/** The bin number of a `bin/NN/weight_g` name, or undefined for any other name. */
export function parseBinWeightMetric(name: string): number | undefined {
  if (parsedNames.has(name)) return parsedNames.get(name);
  const bin = parseName(name);
  if (parsedNames.size < 4096) parsedNames.set(name, bin);
  return bin;
}

function parseName(name: string): number | undefined {
  const m = binPattern.exec(name);
  if (!m?.[1]) return undefined;
  const bin = Number(m[1]);
  // Two digits are the canonical form below 100 (`bin/3/...` or `bin/003/...` are not ours).
  if (bin > 255 || (bin < 100 && m[1].length !== 2)) return undefined;
  return bin;
}
