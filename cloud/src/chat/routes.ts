import { NotFoundError } from '@bitv/shared';
import { chatRoomEvent } from '@bitv/shared/events';
import { z } from 'zod';
import { canSeeSite, type Principal, personOf } from '../api/principal.js';
import { type AnyRoute, route } from '../api/route.js';
import { type FindOrder, mayEnter, mentionsIn, parseRoomId } from './rooms.js';
import type { ChatService } from './service.js';

const everyone = ['partner', 'staff', 'operator', 'admin'] as const;
const storedEvent = chatRoomEvent.extend({ seq: z.number().int() });
const roomParam = z.string().min(1).max(300);

export interface ChatRoutesDeps {
  service: ChatService;
  findOrder(): FindOrder | undefined;
}

async function enter(p: Principal, roomId: string, findOrder: FindOrder | undefined): Promise<void> {
  const room = parseRoomId(roomId);
  if (!room || !(await mayEnter(p, room, findOrder))) throw new NotFoundError('no such room');
}

/** Chat over REST: history pages by sequence cursor, the caller's rooms, and posting a message. */
export function chatRoutes({ service, findOrder }: ChatRoutesDeps): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/chat/events',
      summary:
        "A room's events in its sequence (gapless): `after` pages forward (reconnects), `before` backward (older history)",
      tag: 'chat',
      access: everyone,
      query: z.object({
        room: roomParam,
        after: z.coerce.number().int().min(0).optional(),
        before: z.coerce.number().int().min(1).optional(),
        limit: z.coerce.number().int().min(1).max(500).optional(),
      }),
      response: z.object({ events: z.array(storedEvent), head: z.number().int() }),
      handler: async ({ query, principal }) => {
        await enter(principal, query.room, findOrder());
        const limit = query.limit ?? 100;
        const events =
          query.before !== undefined
            ? await service.store.before(query.room, query.before, limit)
            : await service.store.after(query.room, query.after ?? 0, limit);
        return { events, head: await service.store.head(query.room) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/chat/messages',
      summary: 'Post a message to a room (`clientId` makes a resend idempotent)',
      tag: 'chat',
      access: everyone,
      body: z
        .object({
          room: roomParam,
          clientId: z
            .string()
            .min(1)
            .max(100)
            .regex(/^[A-Za-z0-9_.:-]+$/),
          body: z.string().min(1).max(4_000),
        })
        .strict(),
      response: storedEvent.extend({ duplicate: z.boolean() }),
      status: 201,
      handler: async ({ body, principal }) => {
        await enter(principal, body.room, findOrder());
        const { event, duplicate } = await service.write({
          roomId: body.room,
          clientId: body.clientId,
          kind: 'message',
          author: personOf(principal) as string,
          body: body.body,
          mentions: mentionsIn(body.body),
        });
        return { ...event, duplicate };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/chat/rooms',
      summary:
        "Rooms with messages the caller may enter (their sites' channels, their direct messages and support rooms)",
      tag: 'chat',
      access: everyone,
      response: z.object({ rooms: z.array(z.object({ roomId: z.string(), seq: z.number().int() })) }),
      handler: async ({ principal }) => ({ rooms: await visibleRooms(service, principal, findOrder()) }),
    }),
  ];
}

export async function visibleRooms(
  service: ChatService,
  principal: Principal,
  findOrder: FindOrder | undefined,
): Promise<{ roomId: string; seq: number }[]> {
  const out: { roomId: string; seq: number }[] = [];
  for (const prefix of ['site:', 'dm:', 'order:']) {
    for (const r of await service.store.rooms(prefix, 200)) {
      const room = parseRoomId(r.roomId);
      if (room && (await mayEnter(principal, room, findOrder))) out.push(r);
    }
  }
  // A staff member's site channels exist before their first message.
  if (principal.kind === 'user' && principal.role !== 'partner' && principal.sites) {
    for (const site of principal.sites) {
      if (canSeeSite(principal, site) && !out.some((r) => r.roomId === `site:${site}`))
        out.push({ roomId: `site:${site}`, seq: 0 });
    }
  }
  return out;
}
