import type { Cache } from '@bitv/shared/cache';
import type { Logger } from '@bitv/shared/log';
import { z } from 'zod';
import type { PresenceStatus } from './protocol.js';

export interface PresenceOptions {
  /** A user's presence lives this long after their last heartbeat. */
  ttlMs: number;
  /** A room's members hear presence changes at most once per this many ms (batched). */
  coalesceMs: number;
  /**
   * Rooms with more sockets than this here get no member presence (a broadcast channel): one
   * change would go to every socket, and a wave of joins would be members x sockets frames.
   */
  maxMembers: number;
}

/** What an instance announces about one of its users: their status and the rooms they are in. */
export const presenceSignal = z.object({
  type: z.literal('presence'),
  user: z.string().min(1).max(200),
  status: z.enum(['online', 'away', 'offline']),
  rooms: z.array(z.string().min(1).max(300)).max(1_000),
});
export type PresenceSignal = z.infer<typeof presenceSignal>;

const stored = z.object({ status: z.enum(['online', 'away']) });

const keyOf = (user: string) => `chat:presence:${user}`;

/** Users a sweep checks between two turns of the event loop. */
const sweepSlice = 200;

/**
 * Presence on the cache port: a user's heartbeat stores `online`/`away` under a key with a TTL
 * (Redis shares it between instances); a user whose key lapsed is offline, so an instance that
 * died takes its users offline within the TTL (plus one sweep). Changes reach a room's members
 * batched: at most one `presence` frame per room per `coalesceMs`, with each member's latest status.
 */
export class Presence {
  /** Per followed room (rooms with local sockets), the members this instance has heard of. */
  private readonly rooms = new Map<string, Map<string, PresenceStatus>>();
  private readonly pending = new Map<string, Map<string, PresenceStatus>>();

  constructor(
    private readonly cache: Cache,
    private readonly options: PresenceOptions,
    private readonly announce: (signal: PresenceSignal) => Promise<void>,
    private readonly toRoom: (roomId: string, text: string) => void,
    /** Sockets following the room on this instance. */
    private readonly roomSize: (roomId: string) => number,
    private readonly logger: Logger,
  ) {}

  /** A heartbeat (or a connect, or a join): stores the status with a fresh TTL and announces it. */
  async beat(user: string, status: 'online' | 'away', rooms: readonly string[]): Promise<void> {
    await this.cache.set(keyOf(user), { status }, this.options.ttlMs);
    await this.announce({ type: 'presence', user, status, rooms: [...rooms] });
  }

  /** The user's last socket here closed. */
  async gone(user: string, rooms: readonly string[]): Promise<void> {
    await this.cache.delete(keyOf(user));
    await this.announce({ type: 'presence', user, status: 'offline', rooms: [...rooms] });
  }

  follow(roomId: string): void {
    if (!this.rooms.has(roomId)) this.rooms.set(roomId, new Map());
  }

  unfollow(roomId: string): void {
    this.rooms.delete(roomId);
    this.pending.delete(roomId);
  }

  /** Every member heard of in a room, for a joining socket. */
  snapshot(roomId: string): { user: string; status: PresenceStatus }[] {
    if (this.roomSize(roomId) > this.options.maxMembers) return [];
    return [...(this.rooms.get(roomId) ?? [])].map(([user, status]) => ({ user, status }));
  }

  /** A signal from any instance (this one included). */
  heard(signal: PresenceSignal): void {
    for (const roomId of signal.rooms) this.change(roomId, signal.user, signal.status);
  }

  /**
   * Users whose key lapsed (their instance died, or they stopped beating) become offline. Each
   * user's rooms are gathered in one pass, and the sweep yields to the event loop every
   * `sweepSlice` users: a user-by-room scan (10,000 users x 100 rooms) over an in-process cache,
   * whose reads never yield, held every room's deliveries for the whole sweep.
   */
  async sweep(): Promise<void> {
    const roomsOf = new Map<string, string[]>();
    for (const [roomId, members] of this.rooms) {
      for (const [user, status] of members) {
        if (status === 'offline') continue;
        const list = roomsOf.get(user);
        if (list) list.push(roomId);
        else roomsOf.set(user, [roomId]);
      }
    }
    let n = 0;
    for (const [user, rooms] of roomsOf) {
      if (++n % sweepSlice === 0) await new Promise((resolve) => setImmediate(resolve));
      const value = stored.safeParse(await this.cache.get(keyOf(user)));
      const status: PresenceStatus = value.success ? value.data.status : 'offline';
      for (const roomId of rooms) this.change(roomId, user, status);
    }
  }

  /** Sends each room its batched changes; on a timer every `coalesceMs`. */
  flush(): void {
    for (const [roomId, changes] of this.pending) {
      if (this.roomSize(roomId) > this.options.maxMembers) continue;
      const members = [...changes].map(([user, status]) => ({ user, status }));
      try {
        this.toRoom(roomId, JSON.stringify({ type: 'presence', room: roomId, members }));
      } catch (error) {
        this.logger.warn({ err: error, room: roomId }, 'chat presence flush failed');
      }
    }
    this.pending.clear();
  }

  private change(roomId: string, user: string, status: PresenceStatus): void {
    const members = this.rooms.get(roomId);
    if (!members) return;
    if (members.get(user) === status) return;
    members.set(user, status);
    const p = this.pending.get(roomId) ?? new Map<string, PresenceStatus>();
    p.set(user, status);
    this.pending.set(roomId, p);
  }
}
