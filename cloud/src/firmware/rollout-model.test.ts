import { describe, expect, it } from 'vitest';
import {
  type Candidate,
  plan,
  type Rollout,
  report,
  rolloutSpecSchema,
  tick,
  waveSizes,
} from './rollout-model.js';

const shelves: Candidate[] = Array.from({ length: 20 }, (_, i) => ({
  deviceId: `shelf-S${String(i + 1).padStart(2, '0')}`,
  gatewayId: `gw-${i % 2}`,
}));
const spec = rolloutSpecSchema.parse({
  target: 'shelf-controller',
  version: '2.0.0',
  selector: { siteId: 'site-1' },
  waves: { kind: 'doubling', first: 5 },
  abort: { failurePercent: 10, minFinished: 5 },
  deviceTimeoutMs: 60_000,
  retries: 1,
});

/** Applies a step to the rollout as the store would. */
function apply(r: Rollout, step: ReturnType<typeof tick>): Rollout {
  const devices = r.devices.map((d) => {
    const c = step.changes.find((x) => x.deviceId === d.deviceId);
    return c ? { ...d, ...c } : d;
  });
  return { ...r, ...step.rollout, devices };
}

describe('rollout waves', () => {
  it('sizes fixed and doubling waves', () => {
    expect(waveSizes(20, { kind: 'doubling', first: 5 })).toEqual([5, 10, 5]);
    expect(waveSizes(20, { kind: 'fixed', size: 7 })).toEqual([7, 7, 6]);
    expect(waveSizes(0, { kind: 'fixed', size: 7 })).toEqual([]);
  });

  it('given wave 1 done, when 1 in 5 of wave 2 fails, then the job aborts and wave 3 is never sent', () => {
    let r = plan('r1', spec, shelves);
    expect(r.waves).toBe(3);
    let step = tick(r, 0);
    expect(step.send.map((d) => d.wave)).toEqual([0, 0, 0, 0, 0]);
    r = apply(r, step);
    for (const d of step.send) r = apply(r, report(r, d.deviceId, { ok: true, version: '2.0.0' }));
    step = tick(r, 1000);
    expect(step.send).toHaveLength(10);
    r = apply(r, step);
    const wave2 = step.send;
    // Every fifth controller of wave 2 fails its health check.
    for (const [i, d] of wave2.entries())
      r = apply(
        r,
        report(r, d.deviceId, i % 5 === 4 ? { ok: false, reason: 'rolled_back health_check' } : { ok: true }),
      );
    expect(r.status).toBe('aborted');
    expect(r.reason).toBe('2 of 15 finished devices failed (over 10 %)');
    expect(tick(r, 2000).send).toEqual([]);
    expect(r.devices.filter((d) => d.wave === 2).every((d) => d.state === 'pending')).toBe(true);
  });

  it('retries a device that gives no outcome in time, then fails it', () => {
    let r = plan('r2', { ...spec, abort: { failurePercent: 100, minFinished: 1 } }, shelves.slice(0, 1));
    r = apply(r, tick(r, 0));
    let step = tick(r, 59_000);
    expect(step.send).toEqual([]);
    step = tick(r, 60_000);
    expect(step.send.map((d) => d.attempts)).toEqual([2]);
    r = apply(r, step);
    r = apply(r, tick(r, 120_000));
    expect(r.devices[0]).toMatchObject({ state: 'failed', reason: 'no outcome after 2 attempts' });
    // Its wave, the only one, is through: the job is complete (with a failure under the threshold).
    expect(r.status).toBe('completed');
  });

  it('ignores a late or repeated outcome, and completes when every wave is through', () => {
    let r = plan('r3', spec, shelves.slice(0, 3));
    expect(report(r, 'shelf-S01', { ok: true }).changes).toEqual([]);
    const step = tick(r, 0);
    r = apply(r, step);
    for (const d of step.send) r = apply(r, report(r, d.deviceId, { ok: true }));
    expect(report(r, 'shelf-S01', { ok: false }).changes).toEqual([]);
    expect(tick(r, 1).rollout.status).toBe('completed');
  });
});
