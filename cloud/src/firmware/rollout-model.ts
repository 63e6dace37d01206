import { z } from 'zod';

/**
 * A rollout as pure functions over its state (the house's decider shape, without an event
 * stream: the state is the rows in `rollout-tables.ts`). `plan` fixes the waves when the job is
 * created; `tick` says which devices to send the update to now and which have timed out; `report`
 * takes a device's outcome and decides whether the job goes on, completes or aborts.
 */

export const waveSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), size: z.number().int().min(1).max(10_000) }),
  z.object({ kind: z.literal('doubling'), first: z.number().int().min(1).max(10_000) }),
]);
export type WavePolicy = z.infer<typeof waveSchema>;

/** Who gets the update: every condition given must hold (AWS IoT Jobs' thing groups, by query). */
export const selectorSchema = z
  .object({
    siteId: z.string().min(1).max(128).optional(),
    aisle: z.string().min(1).max(64).optional(),
    /** Only devices now on this version. */
    fromVersion: z.string().min(1).max(16).optional(),
    tag: z.string().min(1).max(64).optional(),
    /** Explicit devices (shelf ids), e.g. for a canary. */
    deviceIds: z.array(z.string().min(1).max(128)).max(10_000).optional(),
  })
  .strict();
export type Selector = z.infer<typeof selectorSchema>;

export const rolloutSpecSchema = z.object({
  target: z.enum(['shelf-controller', 'edge-agent']),
  version: z.string().min(1).max(16),
  selector: selectorSchema,
  waves: waveSchema,
  /** Abort when at least `minFinished` devices have an outcome and this share of them failed. */
  abort: z
    .object({
      failurePercent: z.number().min(0).max(100),
      minFinished: z.number().int().min(1).default(1),
    })
    .default({ failurePercent: 10, minFinished: 1 }),
  /** Per device: no outcome within this is an attempt lost (sent again up to `retries` times). */
  deviceTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(24 * 3_600_000)
    .default(300_000),
  retries: z.number().int().min(0).max(10).default(1),
});
export type RolloutSpec = z.infer<typeof rolloutSpecSchema>;

export type RolloutStatus = 'running' | 'paused' | 'completed' | 'aborted' | 'cancelled';
export type DeviceState = 'pending' | 'in_progress' | 'succeeded' | 'failed' | 'skipped';

export interface RolloutDevice {
  deviceId: string;
  gatewayId: string;
  wave: number;
  state: DeviceState;
  attempts: number;
  /** When the current attempt was sent. */
  sentAt: number | null;
  reason: string | null;
  /** The version the device reported with its outcome. */
  version: string | null;
}

export interface Rollout {
  id: string;
  spec: RolloutSpec;
  status: RolloutStatus;
  /** The wave now being sent (0-based); the next starts when every device of this one finished. */
  wave: number;
  waves: number;
  reason: string | null;
  devices: RolloutDevice[];
}

export interface Candidate {
  deviceId: string;
  gatewayId: string;
}

/** Wave sizes for `n` devices: fixed chunks, or 1x, 2x, 4x ... the first (the rest in the last). */
export function waveSizes(n: number, policy: WavePolicy): number[] {
  const sizes: number[] = [];
  let left = n;
  let next = policy.kind === 'fixed' ? policy.size : policy.first;
  while (left > 0) {
    const size = Math.min(next, left);
    sizes.push(size);
    left -= size;
    if (policy.kind === 'doubling') next *= 2;
  }
  return sizes;
}

export function plan(id: string, spec: RolloutSpec, candidates: readonly Candidate[]): Rollout {
  const sorted = [...candidates].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  const sizes = waveSizes(sorted.length, spec.waves);
  const devices: RolloutDevice[] = [];
  let at = 0;
  for (const [wave, size] of sizes.entries()) {
    for (const c of sorted.slice(at, at + size))
      devices.push({ ...c, wave, state: 'pending', attempts: 0, sentAt: null, reason: null, version: null });
    at += size;
  }
  return {
    id,
    spec,
    status: devices.length === 0 ? 'completed' : 'running',
    wave: 0,
    waves: sizes.length,
    reason: devices.length === 0 ? 'no device matched' : null,
    devices,
  };
}

export type Change = { deviceId: string } & Partial<Omit<RolloutDevice, 'deviceId' | 'gatewayId' | 'wave'>>;

export interface Step {
  /** Devices to send the update to now (a first attempt or a retry). */
  send: RolloutDevice[];
  changes: Change[];
  rollout: Pick<Rollout, 'status' | 'wave' | 'reason'>;
}

/** What to do at `now`: time out lost attempts, retry them, open the next wave, finish the job. */
export function tick(r: Rollout, now: number): Step {
  const changes: Change[] = [];
  const send: RolloutDevice[] = [];
  if (r.status !== 'running') return { send, changes, rollout: r };
  const devices = r.devices.map((d) => ({ ...d }));
  for (const d of devices) {
    if (d.state !== 'in_progress' || d.sentAt === null || now - d.sentAt < r.spec.deviceTimeoutMs) continue;
    if (d.attempts > r.spec.retries) {
      Object.assign(d, { state: 'failed', reason: `no outcome after ${d.attempts} attempts` });
      changes.push({ deviceId: d.deviceId, state: 'failed', reason: d.reason });
    } else {
      Object.assign(d, { attempts: d.attempts + 1, sentAt: now });
      changes.push({ deviceId: d.deviceId, attempts: d.attempts, sentAt: now });
      send.push(d);
    }
  }
  let outcome = judge({ ...r, devices });
  if (outcome.status !== 'running') return { send: [], changes, rollout: outcome };
  let wave = r.wave;
  // The current wave is done: open the next.
  while (wave < r.waves && devices.every((d) => d.wave !== wave || finished(d.state))) wave++;
  if (wave >= r.waves)
    return { send, changes, rollout: { status: 'completed', wave: r.waves - 1, reason: null } };
  for (const d of devices) {
    if (d.wave !== wave || d.state !== 'pending') continue;
    Object.assign(d, { state: 'in_progress', attempts: 1, sentAt: now });
    changes.push({ deviceId: d.deviceId, state: 'in_progress', attempts: 1, sentAt: now });
    send.push(d);
  }
  outcome = { status: 'running', wave, reason: null };
  return { send, changes, rollout: outcome };
}

/** A device's outcome; one for a device that is not in progress (late, repeated) changes nothing. */
export function report(
  r: Rollout,
  deviceId: string,
  result: { ok: boolean; version?: string; reason?: string },
): Step {
  const d = r.devices.find((x) => x.deviceId === deviceId);
  if (d?.state !== 'in_progress') return { send: [], changes: [], rollout: r };
  const change: Change = {
    deviceId,
    state: result.ok ? 'succeeded' : 'failed',
    reason: result.reason ?? null,
    version: result.version ?? null,
  };
  const devices = r.devices.map((x) => (x.deviceId === deviceId ? { ...x, ...change } : x));
  return { send: [], changes: [change], rollout: judge({ ...r, devices }) };
}

/** [abort] the failure share over finished devices, once enough have finished. */
function judge(r: Rollout): Pick<Rollout, 'status' | 'wave' | 'reason'> {
  if (r.status !== 'running') return r;
  const done = r.devices.filter((d) => d.state === 'succeeded' || d.state === 'failed');
  const failed = done.filter((d) => d.state === 'failed').length;
  const { failurePercent, minFinished } = r.spec.abort;
  if (done.length >= minFinished && failed > 0 && (failed * 100) / done.length > failurePercent)
    return {
      status: 'aborted',
      wave: r.wave,
      reason: `${failed} of ${done.length} finished devices failed (over ${failurePercent} %)`,
    };
  return { status: r.status, wave: r.wave, reason: r.reason };
}

const finished = (s: DeviceState) => s === 'succeeded' || s === 'failed' || s === 'skipped';

/** Pause, resume, cancel: which status a command leads to, or why it cannot. */
export function control(r: Rollout, action: 'pause' | 'resume' | 'cancel'): RolloutStatus | string {
  if (r.status === 'completed' || r.status === 'aborted' || r.status === 'cancelled')
    return `rollout is ${r.status}`;
  if (action === 'pause') return r.status === 'running' ? 'paused' : 'rollout is not running';
  if (action === 'resume') return r.status === 'paused' ? 'running' : 'rollout is not paused';
  return 'cancelled';
}

export function progress(r: Rollout) {
  const count = (s: DeviceState) => r.devices.filter((d) => d.state === s).length;
  return {
    total: r.devices.length,
    pending: count('pending'),
    inProgress: count('in_progress'),
    succeeded: count('succeeded'),
    failed: count('failed'),
    skipped: count('skipped'),
  };
}
