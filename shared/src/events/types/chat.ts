import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

/**
 * One chat room event as its origin site wrote it: a message, an edit or a delete. Every site
 * publishes its own writes; the others apply them idempotently (by `eventId`) and order a room by
 * `hlc` (a hybrid logical clock timestamp), so two sites that took writes to the same room during
 * a partition show one history once they hear each other again.
 */
export const chatRoomEvent = z.object({
  roomId: z.string().min(1).max(300),
  /** Unique in the room: `<author>/<client message id>`, the same at every site. */
  eventId: z.string().min(1).max(400),
  kind: z.enum(['message', 'edit', 'delete']),
  /** The message an edit or delete changes; a message's own event id. */
  messageId: z.string().min(1).max(400),
  author: z.string().min(1).max(200),
  body: z.string().max(4_000),
  mentions: z.array(z.string().min(1).max(200)).max(20),
  hlc: z.string().regex(/^\d{13}-\d{5}-[A-Za-z0-9_.:-]{1,64}$/),
  /** The site (cloud deployment) that took the write. */
  origin: z.string().min(1).max(64),
  at: z.string().datetime(),
});
export type ChatRoomEvent = z.infer<typeof chatRoomEvent>;

export const chatEventV1 = defineEvent({
  type: 'bv.chat.event.v1',
  topic: topics.chat,
  description: 'A chat message, edit or delete written at one site (replicated to the others)',
  schema: chatRoomEvent,
});
