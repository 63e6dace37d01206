import { ForbiddenError } from '@bitv/shared';
import { z } from 'zod';
import { actorOf, assertSite, type Principal } from '../api/principal.js';
import { type AnyRoute, route } from '../api/route.js';
import { rolloutSpecSchema, waveSchema } from './rollout-model.js';
import type { Rollouts, RolloutView } from './rollouts.js';
import type { DeviceTags } from './tags.js';

const floor = ['staff', 'operator', 'admin'] as const;
const fleet = ['operator', 'admin'] as const;
const id = z.string().min(1).max(128);

const deviceSchema = z.object({
  deviceId: z.string(),
  gatewayId: z.string(),
  siteId: z.string(),
  wave: z.number().int(),
  state: z.enum(['pending', 'in_progress', 'succeeded', 'failed', 'skipped']),
  attempts: z.number().int(),
  sentAt: z.number().nullable(),
  reason: z.string().nullable(),
  version: z.string().nullable(),
  commandId: z.string().nullable(),
});

const rolloutSchema = z.object({
  id: z.string(),
  spec: z.object({
    target: z.string(),
    version: z.string(),
    selector: z.record(z.string(), z.unknown()),
    waves: waveSchema,
    abort: z.object({ failurePercent: z.number(), minFinished: z.number() }),
    deviceTimeoutMs: z.number(),
    retries: z.number(),
  }),
  status: z.enum(['running', 'paused', 'completed', 'aborted', 'cancelled']),
  wave: z.number().int().describe('The wave being sent (0-based)'),
  waves: z.number().int(),
  reason: z.string().nullable().describe('Why it aborted (or why it completed at once)'),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  sites: z.array(z.string()),
  progress: z.object({
    total: z.number(),
    pending: z.number(),
    inProgress: z.number(),
    succeeded: z.number(),
    failed: z.number(),
    skipped: z.number(),
  }),
  devices: z.array(deviceSchema),
});

function assertSees(principal: Principal, r: RolloutView): RolloutView {
  for (const site of r.sites) assertSite(principal, site);
  return r;
}

export function firmwareRoutes(rollouts: Rollouts, tags: DeviceTags): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/api/v1/firmware/rollouts',
      summary:
        'Start a rollout of a signed release to the shelf controllers a selector picks (site, aisle, version, tag), in waves',
      tag: 'firmware',
      access: fleet,
      body: rolloutSpecSchema,
      response: rolloutSchema,
      status: 201,
      errors: { '409': 'a selected device is already in a running or paused rollout' },
      handler: async ({ body, principal }) => {
        if (body.selector.siteId) assertSite(principal, body.selector.siteId);
        else if (principal.kind !== 'gateway' && principal.sites !== null)
          throw new ForbiddenError('a rollout across every site needs access to every site: name a siteId');
        return rollouts.create(body, actorOf(principal));
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/firmware/rollouts',
      summary: 'Rollouts, newest first (optionally of one status, or touching one gateway)',
      tag: 'firmware',
      access: floor,
      query: z.object({
        status: z.enum(['running', 'paused', 'completed', 'aborted', 'cancelled']).optional(),
        gatewayId: id.optional(),
        limit: z.coerce.number().int().min(1).max(200).optional(),
      }),
      response: z.object({ rollouts: z.array(rolloutSchema) }),
      handler: async ({ query, principal }) => {
        const all = await rollouts.list({
          ...(query.status ? { status: query.status } : {}),
          ...(query.gatewayId ? { gatewayId: query.gatewayId } : {}),
          ...(query.limit ? { limit: query.limit } : {}),
        });
        const visible = all.filter((r) =>
          r.sites.every(
            (s) => principal.kind === 'gateway' || principal.sites === null || principal.sites.includes(s),
          ),
        );
        return { rollouts: visible };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/firmware/rollouts/:id',
      summary: 'One rollout: its waves, progress and every device with its outcome',
      tag: 'firmware',
      access: floor,
      params: z.object({ id }),
      response: rolloutSchema,
      errors: { '404': 'no such rollout' },
      handler: async ({ params, principal }) => assertSees(principal, await rollouts.get(params.id)),
    }),
    ...(['pause', 'resume', 'cancel'] as const).map((action) =>
      route({
        method: 'post',
        path: `/api/v1/firmware/rollouts/:id/${action}`,
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} a rollout`,
        tag: 'firmware',
        access: fleet,
        params: z.object({ id }),
        response: rolloutSchema,
        errors: { '404': 'no such rollout', '409': `the rollout cannot be ${action}d now` },
        handler: async ({ params, principal }) => {
          assertSees(principal, await rollouts.get(params.id));
          return rollouts.control(params.id, action, actorOf(principal));
        },
      }),
    ),
    route({
      method: 'put',
      path: '/api/v1/firmware/tags/:shelfId',
      summary: "Replace a shelf controller's rollout tags (a selector's `tag` picks by them)",
      tag: 'firmware',
      access: fleet,
      params: z.object({ shelfId: id }),
      body: z.object({
        tags: z
          .array(
            z
              .string()
              .min(1)
              .max(64)
              .regex(/^[A-Za-z0-9._:-]+$/),
          )
          .max(32),
      }),
      response: z.object({ shelfId: z.string(), tags: z.array(z.string()) }),
      errors: { '404': 'no such shelf' },
      handler: async ({ params, body, principal }) => {
        await tags.set(params.shelfId, body.tags, (siteId) => assertSite(principal, siteId));
        return { shelfId: params.shelfId, tags: await tags.of(params.shelfId) };
      },
    }),
  ];
}
