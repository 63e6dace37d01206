import type { Cache } from '@bitv/shared/cache';
import { chatRoomEvent } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { z } from 'zod';
import type { ChatStore, StoredChatEvent } from './store.js';

/** One socket as the feeds see it: who it is and how far it has seen each room. */
export interface ChatPeer {
  readonly user: string;
  /** Per room, the last sequence this peer was sent (it is never sent one twice). */
  readonly cursor: Map<string, number>;
  /** Sends one text frame; a Buffer is the UTF-8 of a frame shared by many peers (sent as is). */
  send(frame: string | Buffer): void;
  /** Whether the peer may read the room (for mentions of rooms it has not joined). */
  mayRead(roomId: string): Promise<boolean>;
}

/** Channels on the cache's pub/sub (Redis across instances; in-process on one). */
export const chatChannels = { events: 'bv-chat.events', signals: 'bv-chat.signals' } as const;

const storedEvent = chatRoomEvent.extend({ seq: z.number().int().positive() });

interface Feed {
  /** The last sequence delivered to this instance's peers of the room. */
  last: number;
  peers: Set<ChatPeer>;
  /** A room's deliveries and joins run one at a time, in order. */
  chain: Promise<void>;
}

export interface RoomFeedsOptions {
  /** Events a join without `since` gets (the latest page). */
  historyLimit: number;
  /** A join further behind than this many events is refused (join again without `since`). */
  maxCatchUp: number;
  logger: Logger;
  /** Counted: events from the pub/sub that did not parse. */
  onInvalid(): void;
  /** One event fanned out: to how many peers, and how long the sends held the event loop. */
  onDelivered(count: number, ms: number): void;
}

const page = 500;

/**
 * This instance's rooms that have local sockets. Each write is published on the cache's pub/sub
 * after its commit; each instance delivers a room's events to its peers gaplessly in sequence:
 * an event out of turn (a lost or reordered pub/sub message) makes the feed read the missing ones
 * from the database, and `sync` does the same on a timer for a tail whose message was lost.
 */
export class RoomFeeds {
  private readonly feeds = new Map<string, Feed>();
  private readonly userPeers = new Map<string, Set<ChatPeer>>();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly store: ChatStore,
    private readonly cache: Cache,
    private readonly options: RoomFeedsOptions,
  ) {}

  async start(onSignal: (message: unknown) => void): Promise<void> {
    const offEvents = await this.cache.subscribe(chatChannels.events, (m) => this.onPublished(m));
    const offSignals = await this.cache.subscribe(chatChannels.signals, onSignal);
    this.unsubscribe = async () => {
      await offEvents();
      await offSignals();
    };
  }

  async close(): Promise<void> {
    await this.unsubscribe?.();
    await Promise.all([...this.feeds.values()].map((f) => f.chain));
  }

  /** Announces a committed write to every instance (this one included). */
  async published(event: StoredChatEvent): Promise<void> {
    await this.cache.publish(chatChannels.events, event);
  }

  rooms(): string[] {
    return [...this.feeds.keys()];
  }

  peersOf(roomId: string): ReadonlySet<ChatPeer> {
    return this.feeds.get(roomId)?.peers ?? new Set();
  }

  connected(peer: ChatPeer): void {
    const set = this.userPeers.get(peer.user) ?? new Set();
    set.add(peer);
    this.userPeers.set(peer.user, set);
  }

  /** Removes the peer from every room; true when it was the user's last peer here. */
  disconnected(peer: ChatPeer): boolean {
    for (const roomId of [...peer.cursor.keys()]) this.leave(peer, roomId);
    const set = this.userPeers.get(peer.user);
    set?.delete(peer);
    if (set && set.size === 0) {
      this.userPeers.delete(peer.user);
      return true;
    }
    return false;
  }

  /**
   * Sends the peer the room's history after `since` (or the latest page) as one `history` frame
   * and then follows the room. Runs in the room's order, so no event falls between the history
   * and the live ones, and none is sent twice.
   */
  join(peer: ChatPeer, roomId: string, since: number | undefined): Promise<void> {
    let feed = this.feeds.get(roomId);
    const created = !feed;
    if (!feed) {
      feed = { last: -1, peers: new Set(), chain: Promise.resolve() };
      this.feeds.set(roomId, feed);
    }
    const f = feed;
    return this.enqueue(f, async () => {
      const head = await this.store.head(roomId);
      if (created || f.last < 0) f.last = head;
      let from = since ?? Math.max(0, head - this.options.historyLimit);
      if (from > head) from = head;
      if (head - from > this.options.maxCatchUp) {
        throw new CatchUpTooFarError(`${head - from} events behind (limit ${this.options.maxCatchUp})`);
      }
      const events: StoredChatEvent[] = [];
      for (;;) {
        const rows = await this.store.after(roomId, from, page);
        events.push(...rows);
        if (rows.length < page) break;
        from = (rows.at(-1) as StoredChatEvent).seq;
      }
      const last = events.at(-1)?.seq ?? Math.min(since ?? head, head);
      peer.cursor.set(roomId, last);
      peer.send(JSON.stringify({ type: 'history', room: roomId, events, head: last }));
      // The feed's own position stays where it is: moving it to this history's end would skip,
      // for the room's other peers, events the feed has not delivered yet (seen failing in
      // chat-instances.test). The new peer's cursor keeps it from getting those twice.
      f.peers.add(peer);
    });
  }

  leave(peer: ChatPeer, roomId: string): void {
    peer.cursor.delete(roomId);
    const feed = this.feeds.get(roomId);
    if (!feed) return;
    feed.peers.delete(peer);
    if (feed.peers.size === 0) this.feeds.delete(roomId);
  }

  /**
   * Reads what each followed room missed (a pub/sub message lost); on a timer. The heads come in
   * one query and only rooms behind them enter their chain: a read per room in every room's chain
   * held each room's deliveries behind the others' reads (PGlite runs one statement at a time; the
   * benchmark's 100 rooms saw p99 jumps of ~300 ms every sync).
   */
  async sync(): Promise<void> {
    const heads = await this.store.heads([...this.feeds.keys()]);
    const steps = [...this.feeds]
      .filter(([roomId, feed]) => feed.last >= 0 && (heads.get(roomId) ?? 0) > feed.last)
      .map(([roomId, feed]) => this.enqueue(feed, () => this.catchUp(feed, roomId)));
    await Promise.allSettled(steps);
  }

  /** Sends a text to the room's peers here (signals: typing, reads, presence). */
  toRoom(roomId: string, text: string, except?: string): void {
    const frame = Buffer.from(text);
    for (const peer of this.peersOf(roomId)) if (peer.user !== except) peer.send(frame);
  }

  private onPublished(message: unknown): void {
    const parsed = storedEvent.safeParse(message);
    if (!parsed.success) {
      this.options.onInvalid();
      return;
    }
    const event = parsed.data;
    if (event.kind === 'message' && event.mentions.length > 0) void this.notifyMentions(event);
    const feed = this.feeds.get(event.roomId);
    if (!feed) return;
    void this.enqueue(feed, async () => {
      if (event.seq <= feed.last) return;
      if (event.seq === feed.last + 1) this.deliver(feed, event);
      else await this.catchUp(feed, event.roomId);
    });
  }

  private async catchUp(feed: Feed, roomId: string): Promise<void> {
    if (feed.last < 0) return;
    for (;;) {
      const rows = await this.store.after(roomId, feed.last, page);
      for (const e of rows) this.deliver(feed, e);
      if (rows.length < page) return;
    }
  }

  private deliver(feed: Feed, event: StoredChatEvent): void {
    feed.last = Math.max(feed.last, event.seq);
    // Encoded once: a string would be encoded to UTF-8 again for every socket it goes to.
    let frame: Buffer | undefined;
    let n = 0;
    const start = performance.now();
    for (const peer of feed.peers) {
      if ((peer.cursor.get(event.roomId) ?? 0) >= event.seq) continue;
      peer.cursor.set(event.roomId, event.seq);
      frame ??= Buffer.from(JSON.stringify({ type: 'event', room: event.roomId, event }));
      peer.send(frame);
      n += 1;
    }
    if (n > 0) this.options.onDelivered(n, performance.now() - start);
  }

  private async notifyMentions(event: StoredChatEvent): Promise<void> {
    for (const user of event.mentions) {
      if (user === event.author) continue;
      for (const peer of this.userPeers.get(user) ?? []) {
        try {
          if (!(await peer.mayRead(event.roomId))) continue;
          peer.send(
            JSON.stringify({
              type: 'mention',
              room: event.roomId,
              messageId: event.messageId,
              by: event.author,
              body: event.body.slice(0, 200),
            }),
          );
        } catch (error) {
          this.options.logger.warn({ err: error, room: event.roomId }, 'chat mention check failed');
        }
      }
    }
  }

  private enqueue(feed: Feed, work: () => Promise<void>): Promise<void> {
    const run = feed.chain.then(work);
    // The chain itself never rejects, so one failed step does not stop the room; the caller of
    // this step still sees its error.
    feed.chain = run.catch((error: unknown) => {
      if (!(error instanceof CatchUpTooFarError))
        this.options.logger.warn({ err: error }, 'chat feed step failed');
    });
    return run;
  }
}

export class CatchUpTooFarError extends Error {
  override readonly name = 'CatchUpTooFarError';
}
