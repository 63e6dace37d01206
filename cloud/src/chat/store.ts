import { ForbiddenError, NotFoundError } from '@bitv/shared';
import { type Database, tables } from '@bitv/shared/db';
import { outboxCommitted, queueOutbox } from '@bitv/shared/event-store';
import { type ChatRoomEvent, chatEventV1, createEvent, topics } from '@bitv/shared/events';
import type { HybridLogicalClock } from '@bitv/shared/hlc';
import { type Kysely, sql } from 'kysely';

/** A room event as this site stored it: the replicated event plus its local, gapless sequence. */
export interface StoredChatEvent extends ChatRoomEvent {
  seq: number;
}

interface EventRow {
  room_id: string;
  seq: number;
  event_id: string;
  kind: ChatRoomEvent['kind'];
  message_id: string;
  author: string;
  body: string;
  mentions: string[] | string;
  hlc: string;
  origin: string;
  at: Date | string;
}

interface ChatTables {
  chat_room_heads: { room_id: string; seq: number };
  chat_events: EventRow;
  chat_reads: { room_id: string; member: string; seq: number; updated_at: Date | string };
}

export interface WriteInput {
  roomId: string;
  /** The client's id of this write: a resend with the same id is stored once. */
  clientId: string;
  kind: ChatRoomEvent['kind'];
  /** For edits and deletes: the message changed (only its author may). */
  messageId?: string;
  author: string;
  body: string;
  mentions: string[];
}

export interface WriteResult {
  event: StoredChatEvent;
  /** The write was already stored (a resend): nothing new was written or published. */
  duplicate: boolean;
}

function toEvent(r: EventRow): StoredChatEvent {
  return {
    roomId: r.room_id,
    seq: Number(r.seq),
    eventId: r.event_id,
    kind: r.kind,
    messageId: r.message_id,
    author: r.author,
    body: r.body,
    mentions: typeof r.mentions === 'string' ? (JSON.parse(r.mentions) as string[]) : r.mentions,
    hlc: r.hlc,
    origin: r.origin,
    at: new Date(r.at).toISOString(),
  };
}

/** Thrown inside a transaction to roll it back when the event is already stored. */
class AlreadyStored {
  constructor(readonly event: StoredChatEvent) {}
}

/**
 * The chat tables of one site: each room's events with a local gapless sequence (the cursor of
 * history and reconnects), idempotent by event id, and each member's "read up to". Local writes
 * are stamped by the site's hybrid logical clock and queued in the transactional outbox on
 * `bv.chat` (other sites apply them with `apply`); replicated events keep their origin's stamp.
 */
export class ChatStore {
  private readonly db: Kysely<ChatTables>;

  constructor(
    private readonly database: Database,
    private readonly clock: HybridLogicalClock,
    /** This site's id, the `origin` of its writes. */
    readonly site: string,
  ) {
    this.db = tables<ChatTables>(database);
  }

  async write(input: WriteInput): Promise<WriteResult> {
    const eventId = `${input.author}/${input.clientId}`;
    try {
      const event = await this.db.transaction().execute(async (trx) => {
        const seq = await this.nextSeq(trx, input.roomId);
        const existing = await this.byEventId(trx, input.roomId, eventId);
        if (existing) throw new AlreadyStored(existing);
        let messageId = eventId;
        if (input.kind !== 'message') {
          const target = input.messageId
            ? await this.byEventId(trx, input.roomId, input.messageId)
            : undefined;
          if (target?.kind !== 'message') throw new NotFoundError('message not found in this room');
          if (target.author !== input.author)
            throw new ForbiddenError('only its author may change a message');
          messageId = target.eventId;
        }
        const event: StoredChatEvent = {
          roomId: input.roomId,
          seq,
          eventId,
          kind: input.kind,
          messageId,
          author: input.author,
          body: input.kind === 'delete' ? '' : input.body,
          mentions: input.kind === 'delete' ? [] : input.mentions,
          hlc: this.clock.tick(),
          origin: this.site,
          at: new Date().toISOString(),
        };
        await this.insert(trx, event);
        const { seq: _local, ...replicated } = event;
        await queueOutbox<ChatTables>(
          trx,
          topics.chat,
          createEvent(chatEventV1, { source: `bv-chat/${this.site}`, key: input.roomId, data: replicated }),
        );
        return event;
      });
      outboxCommitted(this.database);
      return { event, duplicate: false };
    } catch (error) {
      if (error instanceof AlreadyStored) return { event: error.event, duplicate: true };
      throw error;
    }
  }

  /**
   * Stores another site's event (a replica); an event already here is a no-op. The clock hears its
   * stamp, so this site's next writes order after everything it has seen.
   */
  async apply(remote: ChatRoomEvent): Promise<WriteResult> {
    try {
      const event = await this.db.transaction().execute(async (trx) => {
        const seq = await this.nextSeq(trx, remote.roomId);
        const existing = await this.byEventId(trx, remote.roomId, remote.eventId);
        if (existing) throw new AlreadyStored(existing);
        const event: StoredChatEvent = { ...remote, seq };
        await this.insert(trx, event);
        return event;
      });
      this.clock.receive(remote.hlc);
      return { event, duplicate: false };
    } catch (error) {
      if (error instanceof AlreadyStored) return { event: error.event, duplicate: true };
      throw error;
    }
  }

  /** The room's events after `seq` in sequence order (a cursor page; gapless). */
  async after(roomId: string, seq: number, limit: number): Promise<StoredChatEvent[]> {
    const rows = await this.db
      .selectFrom('chat_events')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('seq', '>', seq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(toEvent);
  }

  /** The `limit` events before `seq` (older history), in sequence order. */
  async before(roomId: string, seq: number, limit: number): Promise<StoredChatEvent[]> {
    const rows = await this.db
      .selectFrom('chat_events')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('seq', '<', seq)
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toEvent).reverse();
  }

  async head(roomId: string): Promise<number> {
    const row = await this.db
      .selectFrom('chat_room_heads')
      .select('seq')
      .where('room_id', '=', roomId)
      .executeTakeFirst();
    return row ? Number(row.seq) : 0;
  }

  /** Rooms with events, and their heads; for the dashboard's room list. */
  async rooms(prefix: string, limit: number): Promise<{ roomId: string; seq: number }[]> {
    const rows = await this.db
      .selectFrom('chat_room_heads')
      .select(['room_id', 'seq'])
      .where('room_id', 'like', `${prefix.replace(/[\\%_]/g, '\\$&')}%`)
      .orderBy('room_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ roomId: r.room_id, seq: Number(r.seq) }));
  }

  /** Moves a member's "read up to" forward (never back); returns the stored value. */
  async markRead(roomId: string, member: string, seq: number): Promise<number> {
    const row = await this.db
      .insertInto('chat_reads')
      .values({ room_id: roomId, member, seq, updated_at: new Date() })
      .onConflict((oc) =>
        oc.columns(['room_id', 'member']).doUpdateSet({
          seq: sql`GREATEST(chat_reads.seq, excluded.seq)`,
          updated_at: sql`excluded.updated_at`,
        }),
      )
      .returning('seq')
      .executeTakeFirstOrThrow();
    return Number(row.seq);
  }

  async reads(roomId: string): Promise<{ member: string; seq: number }[]> {
    const rows = await this.db
      .selectFrom('chat_reads')
      .select(['member', 'seq'])
      .where('room_id', '=', roomId)
      .orderBy('member')
      .execute();
    return rows.map((r) => ({ member: r.member, seq: Number(r.seq) }));
  }

  private async nextSeq(trx: Kysely<ChatTables>, roomId: string): Promise<number> {
    const row = await trx
      .insertInto('chat_room_heads')
      .values({ room_id: roomId, seq: 1 })
      .onConflict((oc) => oc.column('room_id').doUpdateSet({ seq: sql`chat_room_heads.seq + 1` }))
      .returning('seq')
      .executeTakeFirstOrThrow();
    return Number(row.seq);
  }

  private async byEventId(
    trx: Kysely<ChatTables>,
    roomId: string,
    eventId: string,
  ): Promise<StoredChatEvent | undefined> {
    const row = await trx
      .selectFrom('chat_events')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return row ? toEvent(row) : undefined;
  }

  private async insert(trx: Kysely<ChatTables>, e: StoredChatEvent): Promise<void> {
    await trx
      .insertInto('chat_events')
      .values({
        room_id: e.roomId,
        seq: e.seq,
        event_id: e.eventId,
        kind: e.kind,
        message_id: e.messageId,
        author: e.author,
        body: e.body,
        mentions: JSON.stringify(e.mentions),
        hlc: e.hlc,
        origin: e.origin,
        at: e.at,
      })
      .execute();
  }
}

/**
 * The room as members see it: messages ordered by their hybrid logical clock stamp (the same at
 * every site, whatever order they arrived in), each with its latest edit (by stamp) or deleted.
 */
export interface ChatMessageView {
  messageId: string;
  author: string;
  body: string;
  mentions: string[];
  hlc: string;
  at: string;
  edited: boolean;
  deleted: boolean;
}

export function roomView(events: readonly ChatRoomEvent[]): ChatMessageView[] {
  const sorted = [...events].sort((a, b) => (a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : 0));
  const byId = new Map<string, ChatMessageView>();
  const order: ChatMessageView[] = [];
  for (const e of sorted) {
    if (e.kind === 'message') {
      const view: ChatMessageView = {
        messageId: e.eventId,
        author: e.author,
        body: e.body,
        mentions: e.mentions,
        hlc: e.hlc,
        at: e.at,
        edited: false,
        deleted: false,
      };
      byId.set(e.eventId, view);
      order.push(view);
      continue;
    }
    // An edit or delete stamped before its message cannot happen at one site; replicas keep the
    // stamp order, so a change always meets its message first here.
    const target = byId.get(e.messageId);
    if (!target || target.deleted) continue;
    if (e.kind === 'delete') {
      target.deleted = true;
      target.body = '';
      target.mentions = [];
    } else {
      target.body = e.body;
      target.mentions = e.mentions;
      target.edited = true;
    }
  }
  return order;
}
