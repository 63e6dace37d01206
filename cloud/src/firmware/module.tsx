import { NotFoundError, ValidationError } from '@bitv/shared';
import { commandResultV1, topics } from '@bitv/shared/events';
import { artifactKeys } from '@bitv/shared/firmware';
import { counter } from '@bitv/shared/metrics';
import { objectStoreFromUrl, openObjectStore } from '@bitv/shared/object-store';
import { Hono } from 'hono';
import { canSeeSite } from '../api/principal.js';
import { dataOf } from '../consumers.js';
import { RolloutDetail, RolloutRows, rolloutScript } from '../dashboard/firmware-rollouts.js';
import { staffRoles } from '../dashboard/kit.js';
import type { CloudModule, ModuleContext, NavEntry } from '../module.js';
import type { RolloutSpec } from './rollout-model.js';
import { openFirmwareDb } from './rollout-tables.js';
import { Rollouts } from './rollouts.js';
import { firmwareRoutes } from './routes.js';
import { DeviceTags } from './tags.js';

export interface FirmwareModuleOptions {
  /** How often running rollouts are moved on (timeouts, retries, the next wave). */
  tickMs: number;
  /** The firmware store's URL (`BV_FIRMWARE_STORE`): a rollout's release must be in it. */
  firmwareStore?: string;
}

const defaults: FirmwareModuleOptions = { tickMs: 1_000 };

const rolloutsNav: NavEntry = {
  id: 'rollouts',
  href: '/firmware/rollouts',
  label: 'Rollouts',
  roles: [...staffRoles],
  order: 27,
  testId: 'nav-rollouts',
};

/**
 * Firmware rollouts (docs/ota.md): jobs that put a signed release on the shelf controllers a
 * selector picks, wave by wave, through the command path (`firmware_update` DCMDs), with their
 * REST routes, the rollouts page and a section on each gateway's page. Needs the registry (who
 * is where) and commands (the path down).
 */
export async function createFirmwareModule(
  ctx: ModuleContext,
  options: Partial<FirmwareModuleOptions> = {},
): Promise<CloudModule> {
  const o = { ...defaults, ...options };
  const { registry, commands } = ctx.apis;
  if (!registry || !commands) throw new Error('firmware rollouts need the registry and commands modules');
  const logger = ctx.logger.child({ module: 'firmware' });
  const db = await openFirmwareDb(ctx.database);
  const tags = new DeviceTags(db, registry);
  const store = o.firmwareStore ? openObjectStore(objectStoreFromUrl(o.firmwareStore)) : undefined;
  const rollouts = new Rollouts(
    db,
    {
      candidates: async (selector, target) => {
        if (target === 'edge-agent') {
          if (selector.tag)
            throw new ValidationError('tags name shelves: pick gateways by site, aisle, version or id');
          const gateways = await registry.listGateways(selector.siteId);
          return gateways
            .filter(
              (g) =>
                g.status !== 'decommissioned' &&
                (!selector.aisle || g.aisleId === selector.aisle) &&
                (!selector.fromVersion || g.agentVersion === selector.fromVersion) &&
                (!selector.deviceIds || selector.deviceIds.includes(g.id)),
            )
            .map((g) => ({ deviceId: g.id, gatewayId: g.id, siteId: g.siteId }));
        }
        const shelves = await registry.listShelves(selector.siteId ? { siteId: selector.siteId } : {});
        const tagged = selector.tag ? await tags.withTag(selector.tag) : undefined;
        return shelves
          .filter(
            (s) =>
              (!selector.aisle || s.aisleId === selector.aisle) &&
              (!selector.fromVersion || s.firmware === selector.fromVersion) &&
              (!tagged || tagged.has(s.id)) &&
              (!selector.deviceIds ||
                selector.deviceIds.includes(s.id) ||
                selector.deviceIds.includes(s.deviceId)),
          )
          .map((s) => ({ deviceId: s.id, gatewayId: s.gatewayId, siteId: s.siteId }));
      },
      send: async (device, spec, rolloutId) => {
        // Past its timeout an attempt is over anyway; the command must not run after a retry.
        const ttlSeconds = Math.ceil(spec.deviceTimeoutMs / 1000);
        if (spec.target === 'edge-agent') {
          const command = await commands.send(device.gatewayId, {
            command: { action: 'agent_update', version: spec.version },
            ttlSeconds,
            requestedBy: `rollout:${rolloutId}`,
          });
          return command.id;
        }
        const shelf = await registry.getShelf(device.deviceId);
        const command = await commands.send(device.gatewayId, {
          deviceId: shelf.deviceId,
          command: { action: 'firmware_update', version: spec.version },
          ttlSeconds,
          requestedBy: `rollout:${rolloutId}`,
        });
        return command.id;
      },
      ...(store
        ? {
            releaseExists: async (target: RolloutSpec['target'], version: string) =>
              (await store.stat(artifactKeys(target, version).manifest)) !== undefined,
          }
        : {}),
      announce: (view) => {
        for (const siteId of view.sites)
          ctx.hub.publish({
            type: 'rollout',
            siteId,
            rolloutId: view.id,
            status: view.status,
            wave: view.wave,
            waves: view.waves,
            progress: view.progress,
          });
      },
      now: Date.now,
    },
    logger,
    counter(ctx.metrics, 'bv_cloud_rollout_commands_total', 'Firmware update commands sent by rollouts', [
      'result',
    ]),
  );

  const kit = ctx.dashboard;
  const pages = new Hono();
  pages.get('/assets/rollouts.js', (c) =>
    c.body(rolloutScript, 200, {
      'cache-control': 'max-age=300',
      'content-type': 'text/javascript; charset=utf-8',
    }),
  );
  const staff = async (c: Parameters<typeof kit.userOf>[0]) => {
    const user = await kit.userOf(c);
    if (!user) return { denied: kit.toLogin(c) };
    if (!staffRoles.has(user.role)) return { denied: await kit.forbidden(c) };
    return { user };
  };
  pages.get('/firmware/rollouts', async (c) => {
    const { user, denied } = await staff(c);
    if (!user) return denied;
    const list = (await rollouts.list({ limit: 100 })).filter((r) =>
      r.sites.every((s) => canSeeSite(user, s)),
    );
    return kit.page(
      c,
      { title: 'Rollouts', active: 'rollouts', user, scripts: ['/assets/rollouts.js'] },
      <section class="block">
        <RolloutRows rollouts={list} />
      </section>,
    );
  });
  pages.get('/firmware/rollouts/:id', async (c) => {
    const { user, denied } = await staff(c);
    if (!user) return denied;
    let r: Awaited<ReturnType<Rollouts['get']>>;
    try {
      r = await rollouts.get(c.req.param('id'));
    } catch (error) {
      if (error instanceof NotFoundError) return c.notFound();
      throw error;
    }
    if (!r.sites.every((s) => canSeeSite(user, s))) return kit.forbidden(c);
    return kit.page(
      c,
      { title: `Rollout ${r.spec.version}`, active: 'rollouts', user, scripts: ['/assets/rollouts.js'] },
      <section class="block">
        <RolloutDetail rollout={r} />
      </section>,
    );
  });

  return {
    name: 'firmware',
    routes: firmwareRoutes(rollouts, tags),
    pages,
    nav: [rolloutsNav],
    consumers: [
      {
        group: 'firmware.rollouts',
        topics: [topics.commandResults],
        handle: async (event) => {
          const result = dataOf(commandResultV1, event);
          if (result) await rollouts.onCommandResult(result);
        },
      },
    ],
    timers: [{ name: 'firmware.rollouts', everyMs: o.tickMs, run: () => rollouts.tickAll() }],
    async start() {
      // The gateway page is the alarms module's; mounted after this one or not at all.
      ctx.apis.gatewayPage?.addSection({
        id: 'rollouts',
        title: 'Firmware rollouts',
        render: async (gatewayId) => (
          <>
            <RolloutRows rollouts={await rollouts.list({ gatewayId, limit: 10 })} gatewayId={gatewayId} />
            <script src="/assets/rollouts.js" />
          </>
        ),
      });
    },
  };
}
