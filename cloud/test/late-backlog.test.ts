import { topics } from '@bitv/shared/events';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, json, readingsEvent, startTestCloud, steadyReadings, type TestCloud } from './harness.js';

/**
 * After an outage the edge agent sends live readings first and its backlog after them (issue #18,
 * defect 4). The backlog, below the device's watermark, is not weighed again, but it is counted as
 * `late`, not as `duplicate`: a redelivery of it is the duplicate.
 */
describe('a backlog delivered after live readings', () => {
  let t: TestCloud;
  const shelf = 'shelf-S1';
  const gw = 'gw-demo-1';
  beforeAll(async () => {
    t = await startTestCloud('pglite');
    await t.cloud.seedDemo({
      shelves: [{ serialNumber: 'S1', bins: [{ sku: 'BOLT', unitWeightG: 50, count: 10, toleranceG: 5 }] }],
    });
  });
  afterAll(() => t?.close());

  const total = async (outcome: string) => {
    const text = await t.cloud.services.metrics.getSingleMetricAsString('bv_cloud_readings_total');
    return Number(new RegExp(`outcome="${outcome}"} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  const count = async () => {
    const token = await t.token('staff');
    return (
      await json(
        await t.cloud.app.request(`/api/v1/shelves/${shelf}/bins/0`, authed(token, undefined, 'GET')),
      )
    ).count;
  };
  const publish = (readings: ReturnType<typeof steadyReadings>) =>
    t.eventLog.publish(topics.telemetry, readingsEvent(gw, shelf, readings));

  it('counts the backlog as late (stored in the metric), its redelivery as duplicate, and keeps the count', async () => {
    const start = Date.now() - 60_000;
    await publish(steadyReadings(0, start, [500], 10)); // seq 0..9 before the outage: 10 bolts
    await eventually(async () => (await total('counted')) >= 10, 'first readings counted');
    // The outage: the agent stored seq 10..59; back online it sends live readings first (60..69),
    // 3 bolts picked meanwhile...
    await publish(steadyReadings(60, start + 6_000, [350], 10));
    await eventually(async () => (await count()) === 7, 'count 7 from the live readings');
    const duplicates = await total('duplicate');
    // ...then its backlog, older than what was counted.
    await publish(steadyReadings(10, start + 1_000, [500], 50));
    await eventually(async () => (await total('late')) === 50, 'the backlog counted as late');
    expect(await total('duplicate')).toBe(duplicates);
    // A redelivery of the backlog is a duplicate; the count never moved back.
    await publish(steadyReadings(10, start + 1_000, [500], 50));
    await eventually(
      async () => (await total('duplicate')) === duplicates + 50,
      'the redelivery as duplicate',
    );
    expect(await total('late')).toBe(50);
    expect(await count()).toBe(7);
  });
});
