import { commandAction } from '@bitv/shared/events';
import { z } from 'zod';
import { actorOf, assertSite } from '../api/principal.js';
import { idParam, route } from '../api/route.js';
import { commandSchema, ttlSeconds } from '../api/schemas.js';
import type { RegistryApi } from '../registry/api.js';
import type { Commands } from './commands.js';

const fleet = ['operator', 'admin'] as const;

const commandBody = z.object({
  // A shadow delta is the shadow's own (versioned against what the gateway reported); one sent here
  // would change the gateway behind the shadow's back.
  command: commandAction.refine((c) => c.action !== 'shadow', {
    message: 'shadow settings change through PATCH /api/v1/gateways/:id/shadow/desired',
  }),
  deviceId: z.string().min(1).max(128).optional(),
  ttlSeconds: ttlSeconds(60, 86_400),
});

/** Device commands to gateways and shelves, and their status. */
export function commandRoutes(s: { commands: Commands; registry: RegistryApi }) {
  const siteOfGateway = async (id: string) => (await s.registry.getGateway(id)).siteId;
  return [
    route({
      method: 'post',
      path: '/api/v1/gateways/:id/commands',
      summary:
        'Send a command: rebirth to the gateway itself, any other action to one of its shelves (deviceId, required); 400 for the wrong target or a bin the shelf lacks; expires after ttlSeconds',
      tag: 'fleet',
      access: fleet,
      params: idParam,
      body: commandBody,
      response: commandSchema,
      status: 202,
      handler: async ({ params, body, principal }) => {
        assertSite(principal, await siteOfGateway(params.id));
        return s.commands.send(params.id, { ...body, requestedBy: actorOf(principal) });
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/gateways/:id/commands',
      summary: 'Recent commands of a gateway with their status',
      tag: 'fleet',
      access: fleet,
      params: idParam,
      response: z.object({ commands: z.array(commandSchema) }),
      handler: async ({ params, principal }) => {
        assertSite(principal, await siteOfGateway(params.id));
        return { commands: await s.commands.list(params.id) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/commands',
      summary:
        'Send a gateway command (rebirth; shelf commands need a device and are refused) to every provisioned gateway of a site, and/or a list',
      tag: 'fleet',
      access: fleet,
      body: commandBody
        .omit({ deviceId: true })
        .extend({
          siteId: z.string().min(1).optional(),
          gatewayIds: z.array(z.string().min(1)).min(1).max(1000).optional(),
        })
        .refine((b) => b.siteId !== undefined || b.gatewayIds !== undefined, 'give siteId or gatewayIds'),
      response: z.object({ commands: z.array(commandSchema) }),
      status: 202,
      handler: async ({ body, principal }) => {
        if (body.siteId) assertSite(principal, body.siteId);
        for (const id of body.gatewayIds ?? []) assertSite(principal, await siteOfGateway(id));
        const commands = await s.commands.sendToGroup(body, {
          command: body.command,
          ttlSeconds: body.ttlSeconds,
          requestedBy: actorOf(principal),
        });
        return { commands };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/commands/:id',
      summary: 'One command and its status',
      tag: 'fleet',
      access: fleet,
      params: z.object({ id: z.string().uuid() }),
      response: commandSchema,
      handler: async ({ params, principal }) => {
        const command = await s.commands.get(params.id);
        assertSite(principal, command.groupId);
        return command;
      },
    }),
  ];
}
