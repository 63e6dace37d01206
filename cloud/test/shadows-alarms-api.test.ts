import { createEvent, type DeviceState, deviceStateV1, topics } from '@bitv/shared/events';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, json, startTestCloud, type TestCloud } from './harness.js';

/**
 * The shadows and alarms modules mounted in a real cloud: their REST routes (versions, If-Match,
 * validation, site scope) and pages (/alarms, /gateways/:id), in process with `app.request()`.
 */
let t: TestCloud;
let gatewayId: string;
let admin: string;
let operator: string;

beforeAll(async () => {
  t = await startTestCloud('pglite');
  gatewayId = (await t.cloud.seedDemo({ shelves: [] })).gatewayId;
  admin = await t.token('admin');
  operator = await t.token('operator');
}, 120_000);
afterAll(() => t?.close());

const req = (path: string, init: RequestInit) => t.cloud.app.request(path, init);

describe('shadow REST', () => {
  it('starts at version 0, takes a merge patch with If-Match, refuses a stale one and a bad one', async () => {
    const empty = await json(
      await req(`/api/v1/gateways/${gatewayId}/shadow`, authed(admin, undefined, 'GET')),
    );
    expect(empty).toMatchObject({ version: 0, desired: {}, reportedVersion: 0, inSync: true });
    const patch = (body: unknown, token = operator, ifMatch?: string) =>
      req(`/api/v1/gateways/${gatewayId}/shadow/desired`, {
        ...authed(token, body, 'PATCH'),
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(ifMatch ? { 'if-match': ifMatch } : {}),
        },
      });
    const first = await patch({ patch: { gateway: { sampleRateHz: 4 } } }, operator, '"0"');
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBe('"1"');
    expect(await json(first)).toMatchObject({
      version: 1,
      desired: { gateway: { sampleRateHz: 4 } },
      delta: { gateway: { sampleRateHz: 4 } },
      inSync: false,
    });
    const stale = await patch({ patch: { gateway: { sampleRateHz: 5 } } }, operator, '"0"');
    expect(stale.status).toBe(409);
    const bad = await patch({ patch: { gateway: { sampleRateHz: -3 } } }, operator, '"1"');
    expect(bad.status).toBe(400);
    const unknownKey = await patch({ patch: { gateway: { colour: 'red' } } });
    expect(unknownKey.status).toBe(400);
    const staff = await t.token('staff');
    expect((await patch({ patch: { gateway: { sampleRateHz: 5 } } }, staff)).status).toBe(403);
    const removed = await patch({ version: 1, patch: { gateway: { sampleRateHz: null } } });
    expect(await json(removed)).toMatchObject({ version: 2, desired: {} });
    const delta = await json(
      await req(`/api/v1/gateways/${gatewayId}/shadow/delta`, authed(admin, undefined, 'GET')),
    );
    expect(delta).toMatchObject({ version: 2, reportedVersion: 0 });
    // The generic command route does not take a shadow delta: it would bypass the shadow's versions.
    const bypass = await req(
      `/api/v1/gateways/${gatewayId}/commands`,
      authed(operator, { command: { action: 'shadow', version: 9, baseVersion: 0, delta: {} } }),
    );
    expect(bypass.status).toBe(400);
    expect(JSON.stringify(await json(bypass))).toContain('shadow/desired');
    const other = await t.token('admin', ['another-site']);
    expect((await req(`/api/v1/gateways/${gatewayId}/shadow`, authed(other, undefined, 'GET'))).status).toBe(
      403,
    );
  });
});

describe('alarms REST and pages', () => {
  it('raises gateway_offline after the site limit, lists and acknowledges it, and shows both pages', async () => {
    const settings = await req(
      '/api/v1/sites/demo-site/alarm-settings',
      authed(operator, { gatewayOfflineAfterMs: 1000 }, 'PUT'),
    );
    expect(settings.status).toBe(200);
    expect((await json(settings)).effective).toMatchObject({ gatewayOfflineAfterMs: 1000 });
    const death: DeviceState = { groupId: 'demo-site', edgeNodeId: gatewayId, kind: 'NDEATH', online: false };
    await t.eventLog.publish(
      topics.deviceState,
      createEvent(deviceStateV1, {
        source: 'test',
        key: gatewayId,
        time: new Date(Date.now() - 5000),
        data: death,
      }),
    );
    const alarm = await eventually(
      async () => {
        const list = await json(
          await req(`/api/v1/alarms?gatewayId=${gatewayId}&state=open`, authed(admin, undefined, 'GET')),
        );
        return (list.alarms as { alarmId: string; kind: string }[]).find((a) => a.kind === 'gateway_offline');
      },
      'the gateway_offline alarm',
      30_000,
    );
    const ack = await req(`/api/v1/alarms/${alarm.alarmId}/acknowledge`, authed(admin));
    expect(await json(ack)).toMatchObject({ state: 'acknowledged' });
    expect((await req(`/api/v1/alarms/${alarm.alarmId}/acknowledge`, authed(admin))).status).toBe(409);
    const cookie = { headers: { cookie: `bv_access=${admin}`, accept: 'text/html' } };
    const alarmsPage = await req('/alarms', cookie);
    expect(alarmsPage.status).toBe(200);
    expect(await alarmsPage.text()).toContain(`alarm-${alarm.alarmId}`);
    const gatewayPage = await req(`/gateways/${gatewayId}`, cookie);
    expect(gatewayPage.status).toBe(200);
    const html = await gatewayPage.text();
    for (const id of [
      'gateway-shadow',
      'gateway-alarms',
      'gateway-shelves',
      'gateway-commands',
      'gateway-rollouts',
      'chart-rate',
    ]) {
      expect(html).toContain(`data-testid="${id}"`);
    }
    expect((await req('/gateways/no-such', cookie)).status).toBe(404);
  });
});
