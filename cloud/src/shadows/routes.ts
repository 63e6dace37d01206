import { ValidationError } from '@bitv/shared';
import { z } from 'zod';
import { actorOf, assertSite } from '../api/principal.js';
import { type AnyRoute, route } from '../api/route.js';
import type { JsonObject } from './document.js';
import type { Shadow, Shadows } from './shadows.js';

const floor = ['staff', 'operator', 'admin'] as const;
const fleet = ['operator', 'admin'] as const;
const id = z.string().min(1).max(128);
const doc = z.record(z.string(), z.unknown());

const shadowSchema = z.object({
  gatewayId: z.string(),
  siteId: z.string(),
  version: z.number().int().describe('Version of the desired state (0: none set yet)'),
  desired: doc,
  desiredAt: z.string().nullable(),
  changedBy: z.string().nullable(),
  reportedVersion: z.number().int().describe('Desired version the gateway last said it holds'),
  reported: doc,
  reportedAt: z.string().nullable(),
  delta: doc.describe('Merge patch from reported to desired: what the gateway has still to apply'),
  inSync: z.boolean(),
});

/** `If-Match: "3"`, `W/"3"` or `3`: the version the caller read. */
function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!m) throw new ValidationError('If-Match must be the shadow version, e.g. "3"');
  return Number(m[1]);
}

export function shadowRoutes(shadows: Shadows): AnyRoute[] {
  const read = async (gatewayId: string, principal: Parameters<typeof assertSite>[0]): Promise<Shadow> => {
    const s = await shadows.get(gatewayId);
    assertSite(principal, s.siteId);
    return s;
  };
  return [
    route({
      method: 'get',
      path: '/api/v1/gateways/:id/shadow',
      summary: "A gateway's shadow: desired and reported state, their versions and the delta",
      tag: 'shadows',
      access: floor,
      params: z.object({ id }),
      response: shadowSchema,
      handler: async ({ params, principal, c }) => {
        const s = await read(params.id, principal);
        c.header('ETag', `"${s.version}"`);
        return s;
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/gateways/:id/shadow/desired',
      summary: 'The desired state and its version (the ETag)',
      tag: 'shadows',
      access: floor,
      params: z.object({ id }),
      response: z.object({ version: z.number().int(), desired: doc }),
      handler: async ({ params, principal, c }) => {
        const s = await read(params.id, principal);
        c.header('ETag', `"${s.version}"`);
        return { version: s.version, desired: s.desired };
      },
    }),
    route({
      method: 'patch',
      path: '/api/v1/gateways/:id/shadow/desired',
      summary:
        'Changes the desired state with a JSON merge patch (RFC 7396; null removes a setting). Send If-Match with the version read (or `version` in the body) to refuse a lost update.',
      tag: 'shadows',
      access: fleet,
      params: z.object({ id }),
      body: z
        .object({
          version: z.number().int().min(0).optional().describe('The version read, like If-Match'),
          patch: doc.describe('Merge patch: { gateway?: {...}, shelves?: { <shelfId>: {...} } }'),
        })
        .strict(),
      response: shadowSchema,
      errors: { '404': 'no such gateway', '409': 'the shadow changed since the version given' },
      handler: async ({ params, body, principal, c }) => {
        const s = await read(params.id, principal);
        const header = ifMatchVersion(c.req.header('if-match'));
        if (header !== undefined && body.version !== undefined && header !== body.version)
          throw new ValidationError('If-Match and version disagree');
        const next = await shadows.patchDesired(
          s.gatewayId,
          body.patch as JsonObject,
          actorOf(principal),
          header ?? body.version,
        );
        c.header('ETag', `"${next.version}"`);
        return next;
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/gateways/:id/shadow/reported',
      summary: 'The state the gateway reported it applied, and the desired version it holds',
      tag: 'shadows',
      access: floor,
      params: z.object({ id }),
      response: z.object({ version: z.number().int(), reported: doc, reportedAt: z.string().nullable() }),
      handler: async ({ params, principal }) => {
        const s = await read(params.id, principal);
        return { version: s.reportedVersion, reported: s.reported, reportedAt: s.reportedAt };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/gateways/:id/shadow/delta',
      summary: 'What the gateway has still to apply: a merge patch from reported to desired',
      tag: 'shadows',
      access: floor,
      params: z.object({ id }),
      response: z.object({
        version: z.number().int(),
        reportedVersion: z.number().int(),
        delta: doc,
        inSync: z.boolean(),
      }),
      handler: async ({ params, principal }) => {
        const s = await read(params.id, principal);
        return { version: s.version, reportedVersion: s.reportedVersion, delta: s.delta, inSync: s.inSync };
      },
    }),
  ];
}
