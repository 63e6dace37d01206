import { type Database, dropSchema, openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { type Alarm, type BvEvent, type DeviceState, platformEvents, topics } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { counter, createRegistry } from '@bitv/shared/metrics';
import { eventually, postgresUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarms } from '../src/alarms/alarms.js';
import { HealthHistory } from '../src/alarms/health-history.js';
import { AlarmRules } from '../src/alarms/rules.js';
import { alarmDefaults } from '../src/alarms/settings.js';
import { SiteSettings } from '../src/alarms/site-settings.js';
import { openAlarmDb } from '../src/alarms/tables.js';

const postgres = await serverAvailable('postgres');

/** The alarm rules and lifecycle on each database, with a clock the test moves (no sleeping). */
for (const kind of ['pglite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !postgres)(`alarms (${kind})`, () => {
    let database: Database;
    let schema: string;
    let eventLog: EventLog;
    let alarms: Alarms;
    let rules: AlarmRules;
    let settings: SiteSettings;
    const announced: Alarm[] = [];
    const published: BvEvent[] = [];
    let clock = Date.UTC(2026, 11, 4, 12, 0, 0);
    const now = () => new Date(clock);

    beforeAll(async () => {
      schema = uniqueName('alarms');
      database =
        kind === 'pglite'
          ? await openDatabase()
          : await openDatabase({ url: postgresUrl(), schema, poolSize: 4 });
      eventLog = await createEventLog({
        database,
        registry: platformEvents(),
        metrics: createRegistry(),
        databaseLog: { pollIntervalMs: 50, retentionIntervalMs: 0 },
      });
      await eventLog.subscribe({
        group: uniqueName('watch'),
        topics: [topics.alarms],
        fromBeginning: true,
        handler: async (e) => {
          published.push(e);
        },
      });
      const db = await openAlarmDb(database);
      alarms = new Alarms(
        db,
        eventLog,
        (a) => announced.push(a),
        silentLogger,
        counter(createRegistry(), 'x_total', 'x', ['kind', 'transition']),
        now,
      );
      settings = new SiteSettings(db, { ...alarmDefaults, gatewayOfflineAfterMs: 60_000 }, 0);
      rules = new AlarmRules(
        db,
        alarms,
        settings,
        new HealthHistory(db),
        { gatewayOfShelf: async (shelf) => (shelf === 'shelf-1' ? 'gw-1' : undefined) },
        silentLogger,
        now,
      );
    }, 60_000);
    afterAll(async () => {
      await eventLog?.close();
      if (kind === 'postgres' && database) await dropSchema(database, schema);
      await database?.close();
    });

    const state = (kind: DeviceState['kind'], extra: Partial<DeviceState> = {}): DeviceState => ({
      groupId: 'site-1',
      edgeNodeId: 'gw-1',
      kind,
      online: kind !== 'NDEATH',
      bdSeq: 4,
      ...extra,
    });
    const open = (gatewayId = 'gw-1') => alarms.list({ sites: null, gatewayId, state: 'open' });

    it('a gateway stopped longer than its limit raises one alarm, which clears when it returns', async () => {
      await rules.deviceState(state('NBIRTH'), now());
      await rules.deviceState(state('NDEATH'), now());
      clock += 59_000;
      await rules.tick();
      expect(await open()).toEqual([]);
      clock += 2_000;
      await rules.tick();
      clock += 30_000;
      await rules.tick();
      await rules.tick();
      const raised = await open();
      expect(raised).toHaveLength(1);
      expect(raised[0]).toMatchObject({
        kind: 'gateway_offline',
        state: 'active',
        severity: 'critical',
        siteId: 'site-1',
      });
      expect(raised[0]?.occurrences).toBe(3);
      // Redelivered NDEATH (the log is at-least-once) changes nothing.
      await rules.deviceState(state('NDEATH'), now());
      expect(await open()).toHaveLength(1);
      await rules.deviceState(state('NBIRTH', { bdSeq: 5 }), now());
      expect(await open()).toEqual([]);
      const all = await alarms.list({ sites: null, gatewayId: 'gw-1', kind: 'gateway_offline' });
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ state: 'cleared' });
      await rules.tick();
      expect(await open()).toEqual([]);
      await eventually(() => {
        const transitions = published.map((e) => (e.data as { transition: string }).transition);
        expect(transitions).toEqual(['raised', 'cleared']);
        return true;
      }, 'the raise and the clear on bv.alarms');
      expect(announced.map((a) => a.state)).toEqual(['active', 'cleared']);
    });

    it('an NDEATH will stamped at connect counts from the last sign of life', async () => {
      const connected = now();
      const gw2 = (kind: DeviceState['kind']) => state(kind, { edgeNodeId: 'gw-2', bdSeq: 1 });
      await rules.deviceState(gw2('NBIRTH'), connected);
      clock += 300_000;
      await rules.deviceState(gw2('NDATA'), now());
      await rules.deviceState(gw2('NDEATH'), connected);
      clock += 59_000;
      await rules.tick();
      expect(await open('gw-2')).toEqual([]);
      clock += 2_000;
      await rules.tick();
      expect(await open('gw-2')).toMatchObject([{ kind: 'gateway_offline', value: 1 }]);
      await rules.deviceState(gw2('NBIRTH'), now());
      expect(await open('gw-2')).toEqual([]);
    });

    it('a late NDEATH of an older session does not take the gateway offline', async () => {
      await rules.deviceState(state('NDEATH', { bdSeq: 4 }), now());
      clock += 120_000;
      await rules.tick();
      expect(await open()).toEqual([]);
    });

    it('acknowledges an active alarm once; it stays open until its cause clears', async () => {
      await rules.deviceState(state('NDATA', { queueDepth: 20_000 }), now());
      const [raised] = await open();
      expect(raised?.kind).toBe('queue_depth');
      const acked = await alarms.acknowledge(raised?.alarmId ?? '', 'user:u1', null);
      expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'user:u1' });
      await expect(alarms.acknowledge(raised?.alarmId ?? '', 'user:u1', null)).rejects.toThrow(/not active/);
      await expect(alarms.acknowledge(raised?.alarmId ?? '', 'user:u1', ['other-site'])).rejects.toThrow(
        /not found/,
      );
      await rules.deviceState(state('NDATA', { queueDepth: 30_000 }), now());
      expect(await open()).toMatchObject([{ state: 'acknowledged', occurrences: 2, value: 30_000 }]);
      await rules.deviceState(state('NDATA', { queueDepth: 10 }), now());
      expect(await open()).toEqual([]);
    });

    it('temperature out of range is one alarm per shelf however many readings; a site can move the limits', async () => {
      const batch = (t: number) => ({
        groupId: 'site-1',
        edgeNodeId: 'gw-1',
        deviceId: 'shelf-1',
        historical: false,
        readings: [{ seq: 1, time: now().toISOString(), bins: [], temperatureC: t }],
      });
      for (let i = 0; i < 5; i++) await rules.readings(batch(60), now());
      expect(await open()).toMatchObject([
        { kind: 'temperature', shelfId: 'shelf-1', occurrences: 5, value: 60 },
      ]);
      await rules.readings(batch(20), now());
      expect(await open()).toEqual([]);
      await settings.set('site-1', { temperatureMaxC: 15 });
      await rules.readings(batch(20), now());
      expect(await open()).toMatchObject([{ kind: 'temperature', value: 20 }]);
      await settings.set('site-1', {});
      await rules.readings(batch(20), now());
      expect(await open()).toEqual([]);
    });

    it('readings lost raise an alarm that clears after a quiet period; controller cell faults follow the inventory', async () => {
      await rules.gap({
        groupId: 'site-1',
        edgeNodeId: 'gw-1',
        deviceId: 'shelf-1',
        kind: 'dropped',
        reason: 'outbox full',
        fromSeq: 10,
        toSeq: 19,
        count: 10,
      });
      expect(await open()).toMatchObject([{ kind: 'readings_lost', severity: 'critical', value: 10 }]);
      clock += alarmDefaults.readingsLostClearMs - 1000;
      await rules.tick();
      expect(await open()).toHaveLength(1);
      clock += 2000;
      await rules.tick();
      expect(await open()).toEqual([]);
      await rules.cellFault({
        siteId: 'site-1',
        shelfId: 'shelf-1',
        bin: 2,
        status: 'open',
        message: 'load cell fault',
      });
      expect(await open()).toMatchObject([{ kind: 'controller_fault', shelfId: 'shelf-1', bin: 2 }]);
      await rules.cellFault({
        siteId: 'site-1',
        shelfId: 'shelf-1',
        bin: 2,
        status: 'cleared',
        message: 'working',
      });
      await rules.cellFault({ siteId: 'site-1', shelfId: 'nowhere', bin: 2, status: 'open', message: 'x' });
      expect(await open()).toEqual([]);
    });
  });
}
