import { commandResultV1, createEvent, deviceStateV1, telemetryGapV1, topics } from '@bitv/shared/events';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authed,
  type DatabaseKind,
  json,
  readingsEvent,
  startTestCloud,
  steadyReadings,
  type TestCloud,
} from '../harness.js';

/**
 * Registry, provisioning and inventory against a real database and the real database event log.
 * The same suite runs on PGlite and on PostgreSQL (core.pglite.test.ts, core.postgres.test.ts).
 */
export function coreSuite(kind: DatabaseKind): void {
  let t: TestCloud;
  let operator: string;
  let staff: string;
  const shelf = 'shelf-S1';
  const gw = 'gw-demo-1';

  beforeAll(async () => {
    t = await startTestCloud(kind);
    operator = await t.token('operator');
    staff = await t.token('staff');
    await t.cloud.seedDemo({
      shelves: [
        {
          serialNumber: 'S1',
          bins: [
            { sku: 'BOLT', unitWeightG: 50, count: 10, toleranceG: 5, lowStockThreshold: 3 },
            { sku: 'NUT', unitWeightG: 20, count: 5, toleranceG: 4 },
          ],
        },
      ],
    });
  });
  afterAll(() => t?.close());

  const request = (path: string, init?: RequestInit) => t.cloud.app.request(path, init);
  const bin = async (n: number) =>
    json(await request(`/api/v1/shelves/${shelf}/bins/${n}`, authed(staff, undefined, 'GET')));

  describe(`registry and provisioning (${kind})`, () => {
    it('seeds the demo layout: site, aisle, gateway, shelf with assigned bins', async () => {
      const layout = await json(
        await request('/api/v1/sites/demo-site/layout', authed(staff, undefined, 'GET')),
      );
      expect((layout.shelves as { id: string }[]).map((s) => s.id)).toEqual([shelf]);
      expect((layout.bins as { sku: string; count: number }[]).map((b) => [b.sku, b.count])).toEqual([
        ['BOLT', 10],
        ['NUT', 5],
      ]);
    });

    it('exchanges a claim token once for a gateway credential, refuses it again and when expired', async () => {
      const created = await json(
        await request(
          '/api/v1/claim-tokens',
          authed(operator, { siteId: 'demo-site', gatewayIds: [gw], ttlSeconds: 600 }),
        ),
      );
      const token = (created.tokens as { token: string }[])[0]?.token as string;
      const res = await request(
        '/api/v1/provision',
        authed('x', { claimToken: token, hostname: 'pi-1', agentVersion: '0.1.0' }),
      );
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body).toMatchObject({
        gatewayId: gw,
        groupId: 'demo-site',
        edgeNodeId: gw,
        primaryHostId: 'bv-cloud',
      });
      const claims = await t.cloud.services.tokens.verifyDevice(body.credential as string);
      expect(claims).toMatchObject({ sub: gw, group: 'demo-site', kind: 'gateway' });
      const again = await request('/api/v1/provision', authed('x', { claimToken: token }));
      expect(again.status).toBe(401);
      expect(await json(again)).toMatchObject({ error: { code: 'unauthenticated' } });

      const bulk = await t.cloud.services.provisioning.createClaimTokens({
        siteId: 'demo-site',
        count: 3,
        ttlSeconds: 1,
        createdBy: 'test',
      });
      expect(bulk.tokens).toHaveLength(3);
      await t.database.kysely
        .updateTable('claim_tokens' as never)
        .set({ expires_at: new Date(Date.now() - 1000) } as never)
        .execute();
      const expired = await request('/api/v1/provision', authed('x', { claimToken: bulk.tokens[0]?.token }));
      expect(expired.status).toBe(401);
    });

    it('rotates a credential with the current one, revokes the old one and announces it on bv.registry', async () => {
      const token = await t.cloud.createClaimToken({ siteId: 'demo-site', gatewayId: 'gw-rotate' });
      const first = await t.cloud.services.provisioning.provision({ claimToken: token });
      const rotated = await request(
        `/api/v1/gateways/gw-rotate/credential/rotate`,
        authed(first.credential, {}),
      );
      expect(rotated.status).toBe(200);
      const second = await json(rotated);
      expect(second.credential).not.toBe(first.credential);
      const oldJti = (await t.cloud.services.tokens.verifyDevice(first.credential)).jti;
      // The old credential is now refused by the API, the new one is accepted.
      expect(
        (await request(`/api/v1/gateways/gw-rotate/credential/rotate`, authed(first.credential, {}))).status,
      ).toBe(401);
      await eventually(
        () => t.published(topics.registry).some((e) => (e.data as { jti: string }).jti === oldJti),
        'credential-revoked event',
      );
      // Another gateway's credential may not rotate this one.
      expect(
        (await request(`/api/v1/gateways/${gw}/credential/rotate`, authed(second.credential as string, {})))
          .status,
      ).toBe(403);
      const revoked = await json(
        await request('/api/v1/gateways/gw-rotate/credential/revoke', authed(operator, {})),
      );
      expect(revoked.revoked).toBe(1);
      expect(
        (
          await request(
            `/api/v1/gateways/gw-rotate/credential/rotate`,
            authed(second.credential as string, {}),
          )
        ).status,
      ).toBe(401);
    });

    it('follows device state: NBIRTH online with queue depth, DBIRTH registers an unknown shelf, NDEATH offline', async () => {
      const publish = (data: Parameters<typeof deviceStateV1.schema.parse>[0]) =>
        t.eventLog.publish(
          topics.deviceState,
          createEvent(deviceStateV1, { source: '/test', key: gw, data }),
        );
      await publish({
        groupId: 'demo-site',
        edgeNodeId: gw,
        kind: 'NBIRTH',
        online: true,
        bdSeq: 3,
        queueDepth: 12,
        firmware: 'agent-1.2',
      });
      await eventually(async () => (await t.cloud.services.registry.getGateway(gw)).online, 'gateway online');
      const g = await t.cloud.services.registry.getGateway(gw);
      expect(g).toMatchObject({ queueDepth: 12, agentVersion: 'agent-1.2' });
      expect(g.lastBirthAt).not.toBeNull();
      await publish({
        groupId: 'demo-site',
        edgeNodeId: gw,
        deviceId: 'shelf-NEW9',
        kind: 'DBIRTH',
        online: true,
        serialNumber: 'NEW9',
        firmware: 'fw-2',
        binCount: 4,
      });
      await eventually(
        async () =>
          (await t.cloud.services.registry.listShelves({ gatewayId: gw })).some((s) => s.id === 'shelf-NEW9'),
        'new shelf',
      );
      expect(
        (await t.cloud.services.inventory.binsOfSite('demo-site')).filter((b) => b.shelfId === 'shelf-NEW9'),
      ).toHaveLength(4);
      // An NDEATH from an older session (bdSeq 2) does not end the current one (bdSeq 3).
      await publish({ groupId: 'demo-site', edgeNodeId: gw, kind: 'NDEATH', online: false, bdSeq: 2 });
      await publish({ groupId: 'demo-site', edgeNodeId: gw, kind: 'NDEATH', online: false, bdSeq: 3 });
      await eventually(
        async () => !(await t.cloud.services.registry.getGateway(gw)).online,
        'gateway offline',
      );
      const shelves = await t.cloud.services.registry.listShelves({ gatewayId: gw });
      expect(shelves.every((s) => !s.online)).toBe(true);
      // Its shelves' stocked bins are not current any more: one alert each, until their DBIRTH.
      const offline = async () =>
        (await t.cloud.services.inventory.alerts('demo-site', 'open'))
          .filter((a) => a.kind === 'shelf_offline')
          .map((a) => `${a.shelfId}/${a.bin}`)
          .sort();
      await eventually(async () => (await offline()).length === 2, 'shelf offline alerts');
      expect(await offline()).toEqual([`${shelf}/0`, `${shelf}/1`]);
      await publish({ groupId: 'demo-site', edgeNodeId: gw, kind: 'NBIRTH', online: true, bdSeq: 4 });
      await publish({ groupId: 'demo-site', edgeNodeId: gw, deviceId: shelf, kind: 'DBIRTH', online: true });
      await eventually(async () => (await offline()).length === 0, 'shelf offline alerts cleared');
    });

    it("records the edge's gap reports once each, counts them per gateway, drops a stranger's", async () => {
      const report = (edgeNodeId: string, fromSeq: number, toSeq: number) =>
        createEvent(telemetryGapV1, {
          source: '/test',
          key: edgeNodeId,
          data: {
            groupId: 'demo-site',
            edgeNodeId,
            deviceId: shelf,
            kind: 'dropped',
            reason: 'max_rows',
            fromSeq,
            toSeq,
            count: toSeq - fromSeq + 1,
          },
        });
      const first = report(gw, 101, 180);
      // the same event twice (a redelivery), another range, and a gateway the registry does not know
      await t.eventLog.publish(topics.telemetry, [first, first, report(gw, 5_000_000_000, 5_000_000_019)]);
      await t.eventLog.publish(topics.telemetry, report('gw-stranger', 1, 10));
      await eventually(
        async () => (await t.cloud.services.gaps.lostByGateway()).get(gw) === 100,
        'gap reports recorded',
      );
      const lost = await t.cloud.services.gaps.lostByGateway();
      expect([...lost]).toEqual([[gw, 100]]);
      const recent = await t.cloud.services.gaps.recent([gw]);
      expect(recent.map((g) => [g.fromSeq, g.toSeq, g.count]).sort((a, b) => a[0]! - b[0]!)).toEqual([
        [101, 180, 80],
        [5_000_000_000, 5_000_000_019, 20],
      ]);
      expect(recent[0]).toMatchObject({
        gatewayId: gw,
        deviceId: shelf,
        kind: 'dropped',
        reason: 'max_rows',
      });
      const metric = await t.cloud.services.metrics.getSingleMetricAsString(
        'bv_cloud_edge_readings_lost_total',
      );
      expect(metric).toContain('bv_cloud_edge_readings_lost_total{kind="dropped"} 100');
    });

    it('sends commands to bv.commands and tracks them to done, failed and expired', async () => {
      const res = await request(
        `/api/v1/gateways/${gw}/commands`,
        authed(operator, {
          command: { action: 'set_led', bin: 1, color: '#ffcc00', blink: 'steady' },
          deviceId: shelf,
          ttlSeconds: 30,
        }),
      );
      expect(res.status).toBe(202);
      const command = await json(res);
      await eventually(
        () =>
          t
            .published(topics.commands)
            .some((e) => (e.data as { commandId: string }).commandId === command.id),
        'command event',
      );
      await t.eventLog.publish(
        topics.commandResults,
        createEvent(commandResultV1, {
          source: '/test',
          key: gw,
          data: {
            commandId: command.id as string,
            groupId: 'demo-site',
            edgeNodeId: gw,
            deviceId: shelf,
            status: 'done',
          },
        }),
      );
      await eventually(
        async () => (await t.cloud.services.commands.get(command.id as string)).status === 'done',
        'command done',
      );
      expect((await bin(1)).lit).toEqual({ color: '#ffcc00', blink: 'steady' });

      const group = await json(
        await request(
          '/api/v1/commands',
          authed(operator, { siteId: 'demo-site', command: { action: 'rebirth' }, ttlSeconds: 1 }),
        ),
      );
      const ids = (group.commands as { id: string; gatewayId: string }[]).map((c) => c.id);
      expect(ids.length).toBeGreaterThanOrEqual(1);
      await t.cloud.services.commands.expireDue(new Date(Date.now() + 5_000));
      for (const id of ids) expect((await t.cloud.services.commands.get(id)).status).toBe('expired');
      // A late result does not revive an expired command.
      await t.cloud.services.commands.applyResult({
        commandId: ids[0] as string,
        groupId: 'demo-site',
        edgeNodeId: gw,
        status: 'done',
      });
      expect((await t.cloud.services.commands.get(ids[0] as string)).status).toBe('expired');
    });
  });

  describe(`inventory from shelf weight (${kind})`, () => {
    let seq = 0;
    let clock = Date.now();
    const send = async (weights: number[], readings: number) => {
      const batch = steadyReadings(seq, clock, weights, readings);
      seq += readings;
      clock += readings * 100; // the simulator's 10 Hz
      await t.eventLog.publish(topics.telemetry, readingsEvent(gw, shelf, batch));
      return batch;
    };

    it('counts a settled weight, not a moving one', async () => {
      // 10 bolts of 50 g; 3 are picked: 350 g settles after the stability window.
      await send([500, 100], 5);
      await send([430, 100], 1); // hand on the shelf: a single unsettled reading
      await send([350.6, 100], 1);
      await send([349.4, 100], 1);
      await send([350.2, 100], 4);
      await eventually(async () => (await bin(0)).count === 7, 'count 7');
      const b = await bin(0);
      expect(b.confidence).toBeGreaterThan(0.9);
      const movements = await t.database.kysely
        .selectFrom('stock_movements' as never)
        .selectAll()
        .where('reason' as never, '=', 'weight' as never)
        .execute();
      // One change 10 -> 7; the transient 430 g (8.6 units) never settled.
      expect(
        movements.map((m) => [
          (m as { previous_count: number }).previous_count,
          (m as { count: number }).count,
        ]),
      ).toEqual([[10, 7]]);
      await eventually(
        () =>
          t
            .published(topics.inventory)
            .some(
              (e) => e.type === 'bv.inventory.stock-changed.v1' && (e.data as { count: number }).count === 7,
            ),
        'stock-changed event',
      );
    });

    it('never counts a replayed or duplicated reading twice', async () => {
      const readingsTotal = async (outcome: string) => {
        const text = await t.cloud.services.metrics.getSingleMetricAsString('bv_cloud_readings_total');
        return Number(new RegExp(`outcome="${outcome}"} (\\d+)`).exec(text)?.[1] ?? 0);
      };
      const picked = await send([150, 100], 6); // 3 left: also at the low-stock threshold
      await eventually(async () => (await bin(0)).count === 3, 'count 3');
      const duplicatesBefore = await readingsTotal('duplicate');
      // The same batch again (a redelivery), and older readings (empty bins) replayed after it.
      await t.eventLog.publish(topics.telemetry, readingsEvent(gw, shelf, picked));
      await t.eventLog.publish(
        topics.telemetry,
        readingsEvent(gw, shelf, steadyReadings(0, clock - 20_000, [0, 0], 12)),
      );
      await eventually(
        async () => (await readingsTotal('duplicate')) === duplicatesBefore + 18,
        'replays seen and dropped',
      );
      // Even after a restart (no cached state), the database watermark refuses the redelivered change.
      t.cloud.services.counting.invalidate();
      (t.cloud.services.counting as unknown as { marks: Map<string, number> }).marks.clear();
      await t.cloud.services.counting.apply({
        groupId: 'demo-site',
        edgeNodeId: gw,
        deviceId: shelf,
        historical: false,
        readings: picked,
      });
      expect((await bin(0)).count).toBe(3);
      const movements = await t.database.kysely
        .selectFrom('stock_movements' as never)
        .select(['previous_count', 'count'] as never[])
        .where('bin' as never, '=', 0 as never)
        .where('reason' as never, '=', 'weight' as never)
        .orderBy('id' as never)
        .execute();
      expect(movements).toEqual([
        { previous_count: 10, count: 7 },
        { previous_count: 7, count: 3 },
      ]);
    });

    it('raises a low-stock alert at the threshold and clears it on restock', async () => {
      const alerts = await json(
        await request('/api/v1/sites/demo-site/alerts', authed(staff, undefined, 'GET')),
      );
      expect((alerts.alerts as { sku: string; status: string }[]).map((a) => [a.sku, a.status])).toEqual([
        ['BOLT', 'open'],
      ]);
      await send([500, 100], 6);
      await eventually(async () => (await bin(0)).count === 10, 'restocked');
      const after = await json(
        await request('/api/v1/sites/demo-site/alerts?status=all', authed(staff, undefined, 'GET')),
      );
      const lowStock = (after.alerts as { kind: string; status: string }[]).filter(
        (a) => a.kind === 'low_stock',
      );
      expect(lowStock.map((a) => a.status)).toEqual(['cleared']);
      await eventually(
        () => t.published(topics.inventory).filter((e) => e.type === 'bv.inventory.alert.v1').length === 2,
        'raised and cleared alert events',
      );
    });

    it('cycle counts and adjustments set the count and re-align the scale', async () => {
      const counted = await json(
        await request(
          `/api/v1/shelves/${shelf}/bins/0/cycle-counts`,
          authed(staff, { counted: 9, note: 'one broken' }),
        ),
      );
      expect(counted).toMatchObject({ previousCount: 10, discrepancy: -1 });
      // The same 500 g now means 9 units; the next settled readings agree instead of reverting.
      await send([500, 100], 6);
      await send([450, 100], 6); // one more picked: 8
      await eventually(async () => (await bin(0)).count === 8, 'count 8 after re-tare');
      const adjusted = await json(
        await request(`/api/v1/shelves/${shelf}/bins/1/adjustments`, authed(staff, { delta: -2 })),
      );
      expect(adjusted).toMatchObject({ previousCount: 5, discrepancy: -2 });
      expect((adjusted.bin as { count: number }).count).toBe(3);
    });

    it('reserves and releases stock, idempotent on the reference, refusing more than is available', async () => {
      const partner = await t.token('partner');
      const reserve = (quantity: number, reference: string) =>
        request('/api/v1/reservations', authed(partner, { sku: 'BOLT', quantity, reference }));
      const first = await reserve(5, 'order-1');
      expect(first.status).toBe(201);
      const held = await json(first);
      const retried = await json(await reserve(5, 'order-1'));
      expect(retried.id).toBe(held.id);
      const tooMany = await reserve(4, 'order-2');
      expect(tooMany.status).toBe(409);
      expect(await json(tooMany)).toMatchObject({ error: { code: 'conflict' } });
      const stock = await json(await request('/api/v1/stock/BOLT', authed(partner, undefined, 'GET')));
      expect(stock).toMatchObject({ onHand: 8, reserved: 5, available: 3 });
      const released = await json(
        await request(`/api/v1/reservations/${held.id}/release`, authed(partner, {})),
      );
      expect(released.status).toBe('released');
      expect(
        await json(await request('/api/v1/stock/BOLT', authed(partner, undefined, 'GET'))),
      ).toMatchObject({ available: 8 });
    });

    it('drops readings for a shelf of another gateway', async () => {
      await t.eventLog.publish(
        topics.telemetry,
        readingsEvent('gw-other', shelf, steadyReadings(10_000, clock, [0, 0], 10)),
      );
      await send([450, 100], 6); // settles both bins where they are (8 and 3 after the re-tares)
      await eventually(
        async () =>
          (await t.cloud.services.metrics.getSingleMetricAsString('bv_cloud_readings_total')).includes(
            'foreign_device',
          ),
        'foreign readings counted',
      );
      expect((await bin(0)).count).toBe(8);
    });
  });
}
