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
  /** Device links (serial ports) the agent is configured for and cannot open or lost. */
  linksDown: 'links/down',
  /** Why, one `<link>: <reason>` per link, `; `-separated ('' when every link is up). */
  linkError: 'links/error',
  commandId: 'command/id',
  commandJson: 'command/json',
  commandExpiresAt: 'command/expires_at',
  commandStatus: 'command/status',
  commandReason: 'command/reason',
} as const;

const binPattern = /^bin\/(\d{2,3})\/weight_g$/;
const ledPattern = /^bin\/(\d{2,3})\/led$/;

/** `bin/03/<leaf>`: the bin number with at least two digits. */
export function binMetricName(bin: number, leaf: string): string {
  return `bin/${String(bin).padStart(2, '0')}/${leaf}`;
}

/** `bin/03/weight_g`: the bin number with at least two digits. */
export function binWeightMetric(bin: number): string {
  return binMetricName(bin, 'weight_g');
}

/** The bin number of a `bin/NN/led` name (pick-to-light state), or undefined for any other name. */
export function parseBinLedMetric(name: string): number | undefined {
  return binNumber(ledPattern.exec(name)?.[1]);
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
  return binNumber(binPattern.exec(name)?.[1]);
}

function binNumber(digits: string | undefined): number | undefined {
  if (!digits) return undefined;
  const bin = Number(digits);
  // Two digits are the canonical form below 100 (`bin/3/...` or `bin/003/...` are not ours).
  if (bin > 255 || (bin < 100 && digits.length !== 2)) return undefined;
  return bin;
}
