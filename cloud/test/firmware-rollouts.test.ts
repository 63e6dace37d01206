import { commandRequestedV1, commandResultV1, createEvent, topics } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudHandle, startCloud } from '../src/index.js';
import { authed, json, startTestCloud, type TestCloud } from './harness.js';

/**
 * The firmware module in a real cloud (PGlite, the database event log): rollouts over REST, their
 * update commands on `bv.commands`, outcomes from `bv.command-results`, the abort threshold,
 * pause/resume/cancel, the pages, and a restart in the middle of a job.
 */
let t: TestCloud;
let admin: string;
let extra: CloudHandle | undefined;
const shelfIds: string[] = [];
let gatewayId: string;

beforeAll(async () => {
  t = await startTestCloud('pglite');
  const seeded = await t.cloud.seedDemo({
    shelves: Array.from({ length: 20 }, (_, i) => ({
      serialNumber: `RO${String(i + 1).padStart(3, '0')}`,
      bins: [{ unitWeightG: 100, count: 5 }],
    })),
  });
  gatewayId = seeded.gatewayId;
  shelfIds.push(...seeded.shelves.map((s) => s.shelfId));
  admin = await t.token('admin');
}, 120_000);
afterAll(async () => {
  await extra?.close();
  await t?.close();
});

type View = {
  id: string;
  status: string;
  wave: number;
  waves: number;
  reason: string | null;
  progress: Record<string, number>;
  devices: {
    deviceId: string;
    wave: number;
    state: string;
    commandId: string | null;
    reason: string | null;
  }[];
};

const app = () => extra?.app ?? t.cloud.app;
const call = async (path: string, body?: unknown, method = 'POST') => {
  const res = await app().request(path, authed(admin, body, method));
  return { status: res.status, body: (await json(res)) as unknown as View };
};
const get = async (id: string) => (await call(`/api/v1/firmware/rollouts/${id}`, undefined, 'GET')).body;

/** Update commands sent so far, by shelf device id (the Sparkplug one, `shelf-<serial>`). */
function updateCommands() {
  return t
    .published(topics.commands)
    .filter((e) => e.type === commandRequestedV1.type)
    .map(
      (e) =>
        e.data as { commandId: string; deviceId?: string; command: { action: string; version?: string } },
    )
    .filter((c) => c.command.action === 'firmware_update');
}

async function answer(commandId: string, ok: boolean, reason?: string) {
  await t.eventLog.publish(
    topics.commandResults,
    createEvent(commandResultV1, {
      source: 'test',
      key: gatewayId,
      data: {
        commandId,
        groupId: 'demo-site',
        edgeNodeId: gatewayId,
        status: ok ? 'done' : 'failed',
        ...(reason ? { reason } : {}),
      },
    }),
  );
}

/** Waits until the devices of `wave` all have a command, and returns them. */
async function sentWave(id: string, wave: number, size: number) {
  return eventually(
    async () => {
      const v = await get(id);
      const ds = v.devices.filter((d) => d.wave === wave && d.state === 'in_progress' && d.commandId);
      return ds.length === size ? ds : undefined;
    },
    `wave ${wave + 1} sent`,
    30_000,
  );
}

describe('firmware rollouts', { timeout: 120_000 }, () => {
  it('20 shelves in 3 waves; 1 in 5 of wave 2 fails: the job aborts at the threshold, wave 3 is never sent', async () => {
    const created = await call('/api/v1/firmware/rollouts', {
      target: 'shelf-controller',
      version: '2.0.0',
      selector: { siteId: 'demo-site' },
      waves: { kind: 'doubling', first: 5 },
      abort: { failurePercent: 10, minFinished: 5 },
      deviceTimeoutMs: 60_000,
      retries: 1,
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body).toMatchObject({ status: 'running', waves: 3, progress: { total: 20 } });

    const wave1 = await sentWave(id, 0, 5);
    const cmds = updateCommands();
    expect(cmds.filter((c) => wave1.some((d) => d.commandId === c.commandId))).toHaveLength(5);
    expect(cmds[0]).toMatchObject({ command: { action: 'firmware_update', version: '2.0.0' } });
    expect(cmds[0]!.deviceId).toMatch(/^shelf-RO\d{3}$/);
    for (const d of wave1) await answer(d.commandId!, true);

    const wave2 = await sentWave(id, 1, 10);
    // Every fifth controller of wave 2 fails its health check and rolls back.
    for (const [i, d] of wave2.entries())
      await answer(d.commandId!, i % 5 !== 4, i % 5 === 4 ? 'rolled_back health_check' : undefined);
    const aborted = await eventually(async () => {
      const v = await get(id);
      return v.status === 'aborted' && v.progress.inProgress === 0 ? v : undefined;
    }, 'the abort');
    expect(aborted.reason).toBe('2 of 15 finished devices failed (over 10 %)');
    expect(aborted.progress).toMatchObject({ succeeded: 13, failed: 2, pending: 5 });
    expect(aborted.devices.filter((d) => d.state === 'failed').map((d) => d.reason)).toEqual([
      'rolled_back health_check',
      'rolled_back health_check',
    ]);
    // Wave 3 never went out, even after more ticks.
    await new Promise((r) => setTimeout(r, 1500));
    expect(updateCommands()).toHaveLength(15);
    expect((await call(`/api/v1/firmware/rollouts/${id}/resume`)).status).toBe(409);

    const page = await app().request(`/firmware/rollouts/${id}`, {
      headers: { cookie: `bv_access=${admin}` },
    });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-testid="rollout-devices"');
    expect(html).toContain('rolled_back health_check');
    const gatewayPage = await app().request(`/gateways/${gatewayId}`, {
      headers: { cookie: `bv_access=${admin}` },
    });
    expect(await gatewayPage.text()).toContain(`data-rollout="${id}"`);
  });

  it('pauses, resumes and cancels; survives a cloud restart in the middle of a job', async () => {
    const created = await call('/api/v1/firmware/rollouts', {
      target: 'shelf-controller',
      version: '2.0.1',
      selector: { deviceIds: shelfIds.slice(0, 6) },
      waves: { kind: 'fixed', size: 2 },
      abort: { failurePercent: 50, minFinished: 2 },
      deviceTimeoutMs: 60_000,
      retries: 0,
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body.waves).toBe(3);
    const overlap = await call('/api/v1/firmware/rollouts', {
      target: 'shelf-controller',
      version: '2.0.2',
      selector: { deviceIds: [shelfIds[0]!] },
      waves: { kind: 'fixed', size: 1 },
    });
    expect(overlap.status).toBe(409);

    const wave1 = await sentWave(id, 0, 2);
    expect((await call(`/api/v1/firmware/rollouts/${id}/pause`)).body.status).toBe('paused');
    for (const d of wave1) await answer(d.commandId!, true);
    await eventually(async () => (await get(id)).progress.succeeded === 2, 'wave 1 outcomes while paused');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await get(id)).devices.filter((d) => d.wave === 1).every((d) => d.state === 'pending')).toBe(
      true,
    );

    // The cloud process goes away and a new one starts on the same database.
    await t.cloud.close();
    extra = await startCloud(
      { port: 0, grpcPort: -1 },
      { database: t.database, eventLog: t.eventLog, logger: silentLogger, registry: createRegistry() },
    );
    expect((await call(`/api/v1/firmware/rollouts/${id}/resume`)).body.status).toBe('running');
    const wave2 = await sentWave(id, 1, 2);
    for (const d of wave2) await answer(d.commandId!, true);
    await sentWave(id, 2, 2);
    const cancelled = await call(`/api/v1/firmware/rollouts/${id}/cancel`);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', progress: { succeeded: 4, inProgress: 2 } });
    const list = await call('/api/v1/firmware/rollouts?status=cancelled', undefined, 'GET');
    expect((list.body as unknown as { rollouts: View[] }).rollouts.map((r) => r.id)).toEqual([id]);
  });

  it('updates gateways themselves with agent_update commands', async () => {
    const created = await call('/api/v1/firmware/rollouts', {
      target: 'edge-agent',
      version: '1.1.0',
      selector: { deviceIds: [gatewayId] },
      waves: { kind: 'fixed', size: 1 },
    });
    expect(created.status).toBe(201);
    const [d] = await sentWave(created.body.id, 0, 1);
    const cmd = t
      .published(topics.commands)
      .map((e) => e.data as { commandId: string; deviceId?: string; command: { action: string } })
      .find((c) => c.commandId === d!.commandId);
    expect(cmd).toMatchObject({ command: { action: 'agent_update', version: '1.1.0' } });
    expect(cmd?.deviceId).toBeUndefined();
    await answer(d!.commandId!, true);
    await eventually(async () => (await get(created.body.id)).status === 'completed', 'completed');
  });

  it('records a gateway whose new agent the supervisor rolled back as failed', async () => {
    // The agent answers an agent_update only when the trial ends (docs/ota.md): here the
    // previous version, started again by the supervisor, reports the rollback.
    const created = await call('/api/v1/firmware/rollouts', {
      target: 'edge-agent',
      version: '1.2.0',
      selector: { deviceIds: [gatewayId] },
      waves: { kind: 'fixed', size: 1 },
      abort: { failurePercent: 0, minFinished: 1 },
    });
    expect(created.status).toBe(201);
    const [d] = await sentWave(created.body.id, 0, 1);
    await answer(d!.commandId!, false, 'rolled_back not healthy within 60000 ms');
    const v = await eventually(async () => {
      const r = await get(created.body.id);
      return r.status === 'aborted' ? r : undefined;
    }, 'the failure recorded');
    expect(v.devices).toMatchObject([
      { deviceId: gatewayId, state: 'failed', reason: 'rolled_back not healthy within 60000 ms' },
    ]);
    expect(v.progress).toMatchObject({ succeeded: 0, failed: 1 });
  });

  it('refuses bad input clearly', async () => {
    const bad = await call('/api/v1/firmware/rollouts', {
      target: 'shelf-controller',
      version: '2.0.0',
      selector: { siteId: 'demo-site', colour: 'red' },
      waves: { kind: 'fixed', size: 0 },
    });
    expect(bad.status).toBe(400);
    const none = await call('/api/v1/firmware/rollouts', {
      target: 'shelf-controller',
      version: '2.0.0',
      selector: { siteId: 'demo-site', aisle: 'nowhere' },
      waves: { kind: 'fixed', size: 1 },
    });
    expect(none.status).toBe(400);
    const staff = await t.token('staff');
    const res = await app().request(
      '/api/v1/firmware/rollouts',
      authed(staff, {
        target: 'shelf-controller',
        version: '2.0.0',
        selector: {},
        waves: { kind: 'fixed', size: 1 },
      }),
    );
    expect(res.status).toBe(403);
  });
});
