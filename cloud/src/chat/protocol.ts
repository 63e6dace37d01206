import { z } from 'zod';

/**
 * The chat WebSocket protocol (`/api/v1/chat`): JSON text frames, one object each, `type` first.
 * Client frames are validated here; a frame that does not fit gets an `error` frame back (with
 * `ref` when it had one) and is counted, and the socket stays open.
 */
const roomId = z.string().min(1).max(300);
const clientId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : -');
const body = z.string().min(1).max(4_000);

export const clientFrame = z.discriminatedUnion('type', [
  /** Refreshes the socket's credential in band (the same user); the socket lives to its expiry. */
  z.object({ type: z.literal('auth'), token: z.string().min(1).max(4_000) }).strict(),
  /**
   * Enter a room: the server sends `history` (events after `since`, or the latest page when
   * absent) and then every new `event`, gapless in the room's sequence.
   */
  z.object({ type: z.literal('join'), room: roomId, since: z.number().int().min(0).optional() }).strict(),
  z.object({ type: z.literal('leave'), room: roomId }).strict(),
  z.object({ type: z.literal('send'), room: roomId, clientId, body }).strict(),
  z
    .object({ type: z.literal('edit'), room: roomId, clientId, messageId: z.string().min(1).max(400), body })
    .strict(),
  z
    .object({ type: z.literal('delete'), room: roomId, clientId, messageId: z.string().min(1).max(400) })
    .strict(),
  z.object({ type: z.literal('typing'), room: roomId }).strict(),
  z.object({ type: z.literal('read'), room: roomId, seq: z.number().int().min(0) }).strict(),
  /** The heartbeat: keeps the caller's presence alive for the TTL; `away` when idle. */
  z.object({ type: z.literal('presence'), status: z.enum(['online', 'away']) }).strict(),
]);
export type ClientFrame = z.infer<typeof clientFrame>;

export type PresenceStatus = 'online' | 'away' | 'offline';

/** Close codes of the protocol (4000-4999 are the application's, RFC 6455 section 7.4.2). */
export const closeCodes = {
  tokenExpired: 4001,
  tooSlow: 4008,
} as const;

export function errorFrame(code: string, message: string, ref?: string): string {
  return JSON.stringify({ type: 'error', code, message, ...(ref === undefined ? {} : { ref }) });
}
