import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandAction } from '@bitv/shared/events';
import { createLogger } from '@bitv/shared/log';
import { counter, createRegistry } from '@bitv/shared/metrics';
import type { Metric } from '@bitv/shared/sparkplug';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandOutcome, Driver } from '../drivers/driver.js';
import { ShadowAgent } from './shadow.js';
import { ShadowStore } from './store.js';

/** A shelf driver that records what it was asked and answers as told. */
class FakeDriver implements Pick<Driver, 'owns' | 'execute'> {
  readonly calls: { device: string; action: CommandAction }[] = [];
  fail = false;
  constructor(readonly devices: Set<string>) {}
  owns(device: string): boolean {
    return this.devices.has(device);
  }
  async execute(device: string, action: CommandAction): Promise<CommandOutcome> {
    this.calls.push({ device, action });
    return this.fail ? { status: 'failed', reason: 'NACK busy' } : { status: 'done' };
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(path?: string) {
  const file = path ?? join(mkdtempSync(join(tmpdir(), 'bv-shadow-')), 'outbox.db');
  if (!path) dirs.push(join(file, '..'));
  const db = new Database(file);
  const driver = new FakeDriver(new Set(['shelf-a', 'shelf-b']));
  const reports: Metric[][] = [];
  const agent = new ShadowAgent({
    store: new ShadowStore(db),
    drivers: () => [driver as unknown as Driver],
    linked: () => [...driver.devices],
    report: (m) => reports.push(m),
    logger: createLogger('shadow-test', { level: 'silent' }),
    applied: counter(createRegistry(), 'x_total', 'x', ['setting', 'outcome']),
  });
  return { agent, driver, reports, db, file };
}

const value = (metrics: Metric[], name: string) => metrics.find((m) => m.name === name)?.value;

describe('edge agent shadow', () => {
  it('applies a sample rate to every shelf that has no own rate, and reports it applied', async () => {
    const { agent, driver, reports } = setup();
    const outcome = await agent.accept({
      action: 'shadow',
      version: 1,
      baseVersion: 0,
      delta: { gateway: { sampleRateHz: 5 }, shelves: { 'shelf-b': { sampleRateHz: 2 } } },
    });
    expect(outcome).toEqual({ status: 'done' });
    expect(driver.calls).toEqual([
      { device: 'shelf-a', action: { action: 'set_sample_rate', hz: 5 } },
      { device: 'shelf-b', action: { action: 'set_sample_rate', hz: 2 } },
    ]);
    const last = reports.at(-1) ?? [];
    expect(value(last, 'shadow/version')).toBe(1);
    expect(JSON.parse(String(value(last, 'shadow/gateway')))).toEqual({ sampleRateHz: 5 });
    expect(JSON.parse(String(value(last, 'shadow/shelf/shelf-b')))).toEqual({ sampleRateHz: 2 });
  });

  it('tares a bin once per generation, across a restart', async () => {
    const first = setup();
    await first.agent.accept({
      action: 'shadow',
      version: 1,
      baseVersion: 0,
      delta: { shelves: { 'shelf-a': { tare: { '3': 1 } } } },
    });
    expect(first.driver.calls).toEqual([{ device: 'shelf-a', action: { action: 'tare', bin: 3 } }]);
    first.db.close();
    // The same file after a restart: generation 1 is done, so the link coming back tares nothing.
    const again = setup(first.file);
    again.agent.deviceOnline('shelf-a');
    await again.agent.reconcile();
    expect(again.driver.calls).toEqual([]);
    expect(again.agent.version).toBe(1);
    expect(again.agent.reported()).toEqual({ shelves: { 'shelf-a': { tare: { '3': 1 } } } });
    // Generation 2 tares it again, and the delta is against the reported state of version 1.
    await again.agent.accept({
      action: 'shadow',
      version: 2,
      baseVersion: 1,
      delta: { shelves: { 'shelf-a': { tare: { '3': 2 } } } },
    });
    expect(again.driver.calls).toEqual([{ device: 'shelf-a', action: { action: 'tare', bin: 3 } }]);
    again.db.close();
  });

  it('refuses a delta against a version it does not hold, and reports what it has', async () => {
    const { agent, reports } = setup();
    await agent.accept({
      action: 'shadow',
      version: 1,
      baseVersion: 0,
      delta: { gateway: { sampleRateHz: 1 } },
    });
    const before = reports.length;
    const outcome = await agent.accept({
      action: 'shadow',
      version: 3,
      baseVersion: 2,
      delta: { gateway: { sampleRateHz: 9 } },
    });
    expect(outcome.status).toBe('failed');
    expect(agent.version).toBe(1);
    expect(reports.length).toBe(before + 1);
  });

  it('keeps a setting it could not apply out of the reported state, and retries it when the shelf returns', async () => {
    const { agent, driver } = setup();
    driver.fail = true;
    await agent.accept({
      action: 'shadow',
      version: 1,
      baseVersion: 0,
      delta: { shelves: { 'shelf-a': { sampleRateHz: 4 } } },
    });
    expect(agent.reported()).toEqual({});
    driver.fail = false;
    agent.deviceOnline('shelf-a');
    await agent.reconcile();
    expect(agent.reported()).toEqual({ shelves: { 'shelf-a': { sampleRateHz: 4 } } });
  });

  it('removes a setting the delta sets to null, and refuses a delta that breaks the schema', async () => {
    const { agent } = setup();
    await agent.accept({
      action: 'shadow',
      version: 1,
      baseVersion: 0,
      delta: { gateway: { sampleRateHz: 3, thresholds: { temperatureMaxC: 30 } } },
    });
    await agent.accept({
      action: 'shadow',
      version: 2,
      baseVersion: 1,
      delta: { gateway: { thresholds: null } },
    });
    expect(agent.reported()).toEqual({ gateway: { sampleRateHz: 3 } });
    const bad = await agent.accept({
      action: 'shadow',
      version: 3,
      baseVersion: 2,
      delta: { gateway: { sampleRateHz: -1 } },
    });
    expect(bad.status).toBe('failed');
    expect(agent.version).toBe(2);
  });
});
