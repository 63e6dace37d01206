import { randomUUID } from 'node:crypto';
import { alarmChangedV1, createEvent, topics } from '@bitv/shared/events';
import { eventually } from '@bitv/shared/testing';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, startTestCloud, type TestCloud } from './harness.js';
import { startReceiver } from './webhooks-receiver.js';

const alarmEvent = (transition: 'raised' | 'acknowledged' | 'cleared') => {
  const at = new Date().toISOString();
  return createEvent(alarmChangedV1, {
    source: '/bitv/cloud/alarms',
    key: 'gw-1',
    data: {
      alarmId: randomUUID(),
      siteId: 'site-1',
      gatewayId: 'gw-1',
      kind: 'gateway_offline',
      cause: 'gateway_offline:gw-1',
      severity: 'critical',
      state: transition === 'raised' ? 'active' : transition === 'acknowledged' ? 'acknowledged' : 'cleared',
      message: 'gateway gw-1 offline for 5 minutes',
      value: 5,
      raisedAt: at,
      acknowledgedAt: null,
      acknowledgedBy: null,
      clearedAt: null,
      occurrences: 1,
      transition,
    },
  });
};

// Issue #17: alarms are sent on as webhooks to partners subscribed to `bv.alarm.*`.
describe('alarms as webhooks', () => {
  let t: TestCloud;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    t = await startTestCloud('pglite', {
      modules: ['webhooks'],
      webhooks: { allowPrivate: true, schedule: '0,300ms', timeoutMs: 3_000 },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('lists the alarm type and delivers a raised alarm to a subscribed endpoint, signed', async () => {
    const partner = await t.token('partner');
    const types = (await (
      await fetch(`${t.cloud.url}/api/v1/webhooks/event-types`, authed(partner, undefined, 'GET'))
    ).json()) as { type: string }[];
    expect(types.map((x) => x.type)).toContain('bv.alarm.changed.v1');
    const res = await fetch(
      `${t.cloud.url}/api/v1/webhooks/endpoints`,
      authed(partner, { url: receiver.url('/alarms'), eventTypes: ['bv.alarm.*'] }),
    );
    expect(res.status).toBe(201);
    const endpoint = (await res.json()) as { secret: string };

    const raised = alarmEvent('raised');
    await t.eventLog.publish(topics.alarms, raised);
    await eventually(() => receiver.on('/alarms').length === 1, 'the alarm webhook', 30_000);
    const got = receiver.on('/alarms')[0];
    if (!got) throw new Error('no request');
    const verified = new Webhook(endpoint.secret).verify(got.body, {
      'webhook-id': String(got.headers['webhook-id']),
      'webhook-timestamp': String(got.headers['webhook-timestamp']),
      'webhook-signature': String(got.headers['webhook-signature']),
    }) as { type: string; data: { alarmId: string; transition: string } };
    expect(verified.type).toBe('bv.alarm.changed.v1');
    expect(verified.data).toMatchObject({ alarmId: raised.data?.alarmId, transition: 'raised' });
  });
});
