import type { BvEvent } from '@bitv/shared/events';
import { commandRequestedV1, topics } from '@bitv/shared/events';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupConsumers } from '../src/consumers.js';
import type { StockChange } from '../src/inventory/stock-feed.js';
import type { CloudModule, ConsumerSpec } from '../src/module.js';
import { type ModuleEntry, moduleCatalog, resolveModules } from '../src/modules.js';
import { authed, json, startTestCloud, type TestCloud } from './harness.js';

const names = (entries: ModuleEntry[]) => entries.map((e) => e.name);

describe('choosing the modules to mount', () => {
  it('mounts every module for "all", each after what it needs', () => {
    const all = names(resolveModules('all'));
    expect(all).toEqual(moduleCatalog.map((e) => e.name));
    for (const entry of moduleCatalog) {
      for (const need of entry.needs) expect(all.indexOf(need)).toBeLessThan(all.indexOf(entry.name));
    }
  });

  it('orders a list by needs, whatever order it was given in', () => {
    expect(names(resolveModules(['commands', 'registry']))).toEqual(['registry', 'commands']);
    expect(names(resolveModules(['registry', 'registry']))).toEqual(['registry']);
  });

  it('refuses an unknown name, a missing dependency, an empty list and a cycle, saying what to do', () => {
    expect(() => resolveModules(['registry', 'nope'])).toThrow(/unknown module "nope" \(known: registry, /);
    expect(() => resolveModules(['inventory'])).toThrow(
      'module "inventory" needs "registry": add it to the modules to mount (inventory,registry)',
    );
    expect(() => resolveModules([])).toThrow(/no modules to mount/);
    const fake = (name: string, needs: string[]): ModuleEntry => ({
      name,
      needs,
      description: name,
      create: async () => ({ name }) as CloudModule,
    });
    expect(() => resolveModules('all', [fake('a', ['b']), fake('b', ['a'])])).toThrow(
      'modules need each other in a cycle: a -> b -> a',
    );
  });
});

describe('consumer groups', () => {
  const spec = (group: string, topics: string[], seen: string[], joins?: string): ConsumerSpec => ({
    group,
    topics,
    handle: async () => {
      seen.push(group);
    },
    ...(joins ? { joins } : {}),
  });

  it('lets a consumer ride in a mounted group, host first, each on its own topics; else its own group', async () => {
    const seen: string[] = [];
    const inventory = spec('inventory', ['bv.telemetry'], seen);
    const registry = spec('registry', ['bv.telemetry', 'bv.registry'], seen, 'inventory');
    const grouped = groupConsumers([registry, inventory, spec('commands', ['bv.command-results'], seen)]);
    expect(grouped.map((g) => [g.group, [...g.topics].sort()])).toEqual([
      ['inventory', ['bv.registry', 'bv.telemetry']],
      ['commands', ['bv.command-results']],
    ]);
    const event = { type: 'x' } as unknown as BvEvent;
    await grouped[0]?.handle(event, 'bv.telemetry');
    await grouped[0]?.handle(event, 'bv.registry');
    expect(seen).toEqual(['inventory', 'registry', 'registry']);
    expect(groupConsumers([registry]).map((g) => g.group)).toEqual(['registry']);
    expect(() => groupConsumers([inventory, spec('inventory', ['t'], seen)])).toThrow(
      'two consumers share the group inventory',
    );
  });
});

describe('a cloud with the registry module only (PGlite)', () => {
  let t: TestCloud;
  let admin: string;

  beforeAll(async () => {
    t = await startTestCloud('pglite', { modules: ['registry'] });
    admin = await t.token('admin');
  });
  afterAll(() => t?.close());

  it('serves the registry and says in /healthz what it mounted', async () => {
    expect(t.cloud.modules).toEqual(['registry']);
    const created = await t.cloud.app.request('/api/v1/sites', authed(admin, { id: 'only', name: 'Only' }));
    expect(created.status).toBe(201);
    const health = await json(await t.cloud.app.request('/healthz'));
    expect((health.checks as Record<string, unknown>).modules).toEqual(['registry']);
  });

  it('answers 404 on the routes and pages of modules it did not mount, and leaves them out of the API document', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/v1/products', undefined],
      ['GET', '/api/v1/stock/BOLT', undefined],
      ['POST', '/api/v1/reservations', { sku: 'BOLT', quantity: 1, reference: 'r1' }],
      ['GET', '/api/v1/sites/only/layout', undefined],
      ['POST', '/api/v1/gateways/gw-1/commands', { command: { action: 'rebirth' } }],
      ['GET', '/api/v1/commands/00000000-0000-4000-8000-000000000000', undefined],
    ] as const) {
      const res = await t.cloud.app.request(path, authed(admin, body, method));
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const page = await t.cloud.app.request('/sites/only', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    const paths = Object.keys((await json(await t.cloud.app.request('/openapi.json'))).paths as object);
    expect(paths).toContain('/api/v1/sites');
    expect(paths).not.toContain('/api/v1/products');
    expect(paths).not.toContain('/api/v1/commands');
  });

  it('subscribes only its own consumers', () => {
    // The harness's own watcher has a group of its own, outside the cloud's prefix.
    const groups = t.eventLog
      .consumers()
      .map((c) => c.group)
      .filter((g) => g.startsWith('cloud.'));
    expect(groups.sort()).toEqual(['cloud.device-state', 'cloud.registry']);
  });

  it('says which module a service of an unmounted one needs', () => {
    expect(() => t.cloud.services.inventory).toThrow(
      'services.inventory needs the inventory module, not mounted here',
    );
    expect(() => t.cloud.services.commands).toThrow(/needs the commands module/);
    expect(t.cloud.services.registry).toBeDefined();
  });
});

describe('what the modules offer each other (PGlite, all modules)', () => {
  let t: TestCloud;
  let operator: string;
  const shelf = 'shelf-M1';

  beforeAll(async () => {
    t = await startTestCloud('pglite');
    operator = await t.token('operator');
    await t.cloud.seedDemo({
      shelves: [{ serialNumber: 'M1', bins: [{ sku: 'BOLT', unitWeightG: 50, count: 10, toleranceG: 5 }] }],
    });
  });
  afterAll(() => t?.close());

  it('tells stock listeners of a count change once it has committed', async () => {
    const seen: StockChange[] = [];
    const unsubscribe = t.cloud.services.counting.feed.subscribe(async (changes) => {
      seen.push(...changes);
      throw new Error('a failing listener does not undo the count');
    });
    const res = await t.cloud.app.request(
      `/api/v1/shelves/${shelf}/bins/0/cycle-counts`,
      authed(operator, { counted: 7 }),
    );
    unsubscribe();
    expect(res.status).toBe(200);
    expect(seen.map((c) => [c.event.shelfId, c.event.bin, c.event.count, c.event.previousCount])).toEqual([
      [shelf, 0, 7, 10],
    ]);
    expect((await t.cloud.services.inventory.bin(shelf, 0)).count).toBe(7);
  });

  it('lights a bin through its shelf’s gateway, and refuses an unknown shelf or a bad colour', async () => {
    const command = await t.cloud.services.commands.setBinLight({
      shelfId: shelf,
      bin: 0,
      light: { color: '#00ff00', blink: 'steady' },
      requestedBy: 'fulfilment',
    });
    expect(command).toMatchObject({ deviceId: shelf, status: 'sent' });
    await eventually(
      () =>
        t
          .published(topics.commands)
          .some(
            (e) =>
              e.type === commandRequestedV1.type &&
              (e.data as { commandId: string; command: { action: string; color?: string } }).commandId ===
                command.id,
          ),
      'command published',
    );
    const off = await t.cloud.services.commands.setBinLight({
      shelfId: shelf,
      bin: 0,
      light: 'off',
      requestedBy: 'fulfilment',
    });
    expect(off.command).toMatchObject({ action: 'set_led', bin: 0, blink: 'off' });
    await expect(
      t.cloud.services.commands.setBinLight({ shelfId: 'nope', bin: 0, light: 'off', requestedBy: 'x' }),
    ).rejects.toThrow('shelf nope not found');
    await expect(
      t.cloud.services.commands.setBinLight({
        shelfId: shelf,
        bin: 0,
        light: { color: 'green', blink: 'steady' },
        requestedBy: 'x',
      }),
    ).rejects.toThrow(/invalid light/);
  });
});
