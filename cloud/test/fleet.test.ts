import { runInNewContext } from 'node:vm';
import { commandResultV1, createEvent, topics } from '@bitv/shared/events';
import { eventually } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { accessCookie } from '../src/api/authenticate.js';
import { clientFormatTime, formatTime } from '../src/dashboard/time.js';
import { authed, json, startTestCloud, type TestCloud } from './harness.js';

/** The fleet page and the command API it calls (issue #12: commands, lights, times, labels). */
let t: TestCloud;
let operator: string;
const gw = 'gw-demo-1';
const shelf = 'shelf-F1';

beforeAll(async () => {
  t = await startTestCloud('pglite');
  operator = await t.token('operator');
  await t.cloud.seedDemo({
    shelves: [
      {
        serialNumber: 'F1',
        bins: [
          { sku: 'PEG', unitWeightG: 10, count: 4, toleranceG: 2 },
          { sku: 'HOOK', unitWeightG: 30, count: 2, toleranceG: 3 },
        ],
      },
    ],
  });
});
afterAll(() => t?.close());

const request = (path: string, init?: RequestInit) => t.cloud.app.request(path, init);
const send = (body: unknown) => request(`/api/v1/gateways/${gw}/commands`, authed(operator, body));
const errorOf = async (res: Response) =>
  ((await json(res)).error as { code: string; message: string }).message;

describe('command API: the target and the bin', () => {
  it.each([
    { action: 'identify', seconds: 10 },
    { action: 'reboot' },
    { action: 'tare', bin: 0 },
    { action: 'calibrate', bin: 0, knownWeightG: 100 },
    { action: 'set_sample_rate', hz: 5 },
    { action: 'set_led', bin: 0, color: '#facc15', blink: 'steady' },
  ])('refuses the shelf command $action without a device, and sends nothing', async (command) => {
    const before = t.published(topics.commands).length;
    const res = await send({ command, ttlSeconds: 30 });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe(
      `${command.action} is a shelf command: name the shelf (deviceId) it is for`,
    );
    expect((await t.cloud.services.commands.list(gw)).some((c) => c.command.action === command.action)).toBe(
      false,
    );
    expect(t.published(topics.commands).length).toBe(before);
  });

  it('refuses rebirth for a shelf, and a shelf command for a whole site', async () => {
    const rebirth = await send({ command: { action: 'rebirth' }, deviceId: shelf });
    expect(rebirth.status).toBe(400);
    expect(await errorOf(rebirth)).toContain('rebirth is an edge-node command');
    const group = await request(
      '/api/v1/commands',
      authed(operator, { siteId: 'demo-site', command: { action: 'identify', seconds: 5 } }),
    );
    expect(group.status).toBe(400);
    expect(await errorOf(group)).toContain('identify is a shelf command');
  });

  it('refuses a bin the shelf does not have, and a missing bin', async () => {
    const led = (bin: unknown) => ({
      command: { action: 'set_led', bin, color: '#facc15', blink: 'steady' },
    });
    const beyond = await send({ ...led(2), deviceId: shelf });
    expect(beyond.status).toBe(400);
    expect(await errorOf(beyond)).toBe(`shelf ${shelf} has no bin 2 (its bins are 0 to 1)`);
    const missing = await send({ command: { action: 'tare' }, deviceId: shelf });
    expect(missing.status).toBe(400);
    expect(await errorOf(missing)).toContain('command.bin');
    const calibrateAll = await send({
      command: { action: 'calibrate', bin: 255, knownWeightG: 10 },
      deviceId: shelf,
    });
    expect(calibrateAll.status).toBe(400);
    // [SL-BIN-1] 255 is "every bin" for set_led and tare.
    expect((await send({ ...led(255), deviceId: shelf })).status).toBe(202);
  });

  it('sends identify and reboot to a shelf, and the edge node its rebirth', async () => {
    for (const body of [
      { command: { action: 'identify', seconds: 10 }, deviceId: shelf },
      { command: { action: 'reboot' }, deviceId: shelf },
      { command: { action: 'rebirth' } },
    ]) {
      const res = await send(body);
      expect(res.status).toBe(202);
      const command = await json(res);
      expect(command).toMatchObject({ status: 'sent', deviceId: body.deviceId ?? null });
      await eventually(
        () =>
          t
            .published(topics.commands)
            .some((e) => (e.data as { commandId: string }).commandId === command.id),
        'command event',
      );
    }
  });

  it('turns a light off with set_led blink off', async () => {
    const ids: string[] = [];
    for (const blink of ['steady', 'off']) {
      const res = await send({
        command: { action: 'set_led', bin: 1, color: blink === 'off' ? '#000000' : '#facc15', blink },
        deviceId: shelf,
      });
      expect(res.status).toBe(202);
      const id = (await json(res)).id as string;
      ids.push(id);
      await t.eventLog.publish(
        topics.commandResults,
        createEvent(commandResultV1, {
          source: '/test',
          key: gw,
          data: { commandId: id, groupId: 'demo-site', edgeNodeId: gw, deviceId: shelf, status: 'done' },
        }),
      );
      await eventually(
        async () => (await t.cloud.services.commands.get(id)).status === 'done',
        `set_led ${blink} done`,
      );
      const bin = await json(
        await request(`/api/v1/shelves/${shelf}/bins/1`, authed(operator, undefined, 'GET')),
      );
      expect(bin.lit).toEqual(blink === 'off' ? null : { color: '#facc15', blink: 'steady' });
    }
  });
});

describe('fleet page', () => {
  const page = async () => {
    const res = await request('/fleet', { headers: { cookie: `${accessCookie}=${operator}` } });
    expect(res.status).toBe(200);
    return res.text();
  };

  it('labels every claim-token and command input', async () => {
    const html = await page();
    const form = (id: string) => html.slice(html.indexOf(id), html.indexOf('</form>', html.indexOf(id)));
    for (const f of [form('id="claim-form"'), form(`data-command="${gw}"`)]) {
      const controls = f.match(/<(input|select)\b/g) ?? [];
      expect(controls.length).toBeGreaterThanOrEqual(3);
      // Each control sits inside a <label> with text before it.
      const labelled =
        f.match(/<label>\s*(<span class="sr">)?[A-Z][^<]*(<\/span>)?\s*<(input|select)\b/g) ?? [];
      expect(labelled.length).toBe(controls.length);
    }
    expect(html).toContain('>How many');
    expect(html).toContain('>Valid for (hours)');
  });

  it('offers light off, and each shelf with its bin count', async () => {
    const html = await page();
    expect(html).toContain('<option value="led_off">light off</option>');
    expect(html).toContain(`<option value="${shelf}" data-bins="2">`);
  });

  it('shows last seen and each command in one UTC format, with when it was requested and finished', async () => {
    const seenAt = new Date('2026-03-04T05:06:07.890Z');
    await sql`UPDATE gateways SET last_seen_at = ${seenAt} WHERE id = ${gw}`.execute(t.database.kysely);
    const html = await page();
    expect(html).toContain('Last seen (UTC)');
    expect(html).toMatch(/data-seen="?[^>]*>2026-03-04 05:06:07</);
    const done = (await t.cloud.services.commands.list(gw)).find((c) => c.status === 'done');
    expect(done).toBeDefined();
    const row = html.slice(
      html.indexOf(`id="cmd-${done?.id}"`),
      html.indexOf('</tr>', html.indexOf(`id="cmd-${done?.id}"`)),
    );
    expect(row).toContain(formatTime(done?.createdAt ?? null));
    expect(row).toContain(formatTime(done?.updatedAt ?? null));
    expect(row).toContain('light off bin 1');
  });
});

describe('one time format on both sides', () => {
  const bvTime = runInNewContext(`(${clientFormatTime.replace('function bvTime', 'function')})`) as (
    iso: string | null,
  ) => string;

  it.each([
    '2026-12-04T10:03:45.000Z',
    '2026-12-04T23:59:59.999+05:30',
    '1999-01-01T00:00:00Z',
    null,
    '',
    'not a time',
  ])('formats %s the same in the browser script as on the server', (iso) => {
    expect(bvTime(iso)).toBe(formatTime(iso));
  });

  it('reads UTC, not the local zone', () => {
    expect(formatTime('2026-12-04T23:59:59.999+05:30')).toBe('2026-12-04 18:29:59');
    expect(formatTime(null)).toBe('never');
  });
});

describe('fleet page: the cloud consumers (issue #18)', () => {
  const page = async () => {
    const res = await request('/fleet', { headers: { cookie: `${accessCookie}=${operator}` } });
    expect(res.status).toBe(200);
    return res.text();
  };
  const row = (html: string, group: string) => {
    const start = html.indexOf(`data-consumer="${group}"`);
    expect(start).toBeGreaterThan(0);
    return html.slice(start, html.indexOf('</tr>', start));
  };

  it('lists each of its consumers as up while it consumes', async () => {
    const html = await page();
    const groups = t.eventLog.consumers().map((c) => c.group);
    expect(groups.length).toBeGreaterThanOrEqual(3);
    expect(html).toContain('Cloud consumers');
    for (const group of groups) expect(row(html, group)).toMatch(/class="pill on"[^>]*>up</);
    expect(html).toContain('All consuming');
  });

  it('shows a crashed consumer as down, with its reason and since when, as /healthz does', async () => {
    const statuses = t.eventLog.consumers();
    const crashed = statuses[0]!;
    // A Kafka consumer that crashed and is being restarted (the real one runs in the Kafka suites).
    const spy = vi.spyOn(t.eventLog, 'consumers').mockReturnValue([
      {
        ...crashed,
        state: 'restarting',
        restarts: 2,
        error: 'KafkaJSGroupCoordinatorNotFound: Failed to find group coordinator',
        since: '2026-12-04T11:02:03.456Z',
      },
      ...statuses.slice(1),
    ]);
    try {
      const health = await request('/healthz');
      expect(health.status).toBe(503);
      const html = await page();
      const down = row(html, crashed.group);
      expect(down).toMatch(/class="pill failed"[^>]*>down</);
      expect(down).toContain('KafkaJSGroupCoordinatorNotFound: Failed to find group coordinator');
      expect(down).toMatch(/data-consumer-since="?[^>]*>2026-12-04 11:02:03</);
      expect(html).toContain('1 not consuming: stock is not counted until they are back.');
      for (const other of statuses.slice(1)) expect(row(html, other.group)).toContain('>up<');
    } finally {
      spy.mockRestore();
    }
  });
});
