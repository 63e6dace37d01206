import { ForbiddenError, NotFoundError } from '@bitv/shared';
import { type Database, GroupCommit, tables } from '@bitv/shared/db';
import { outboxCommitted, outboxInsert } from '@bitv/shared/event-store';
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

/**
 * Replication to other sites waits up to this long after a commit, so the outbox relay's round
 * (about ten statements, and the replication consumer's read and commit after it) is shared by
 * the commits of that time: at 100 ms the rounds were still a third of the database's time at the
 * benchmark's 100 messages/s. The local fan-out never waits for the relay.
 */
const relayNudgeMs = 500;

/**
 * A write batch starts at most this often (ms) unless `BV_CHAT_WRITE_INTERVAL_MS` says otherwise.
 * A batch is one statement however many writes it holds, and a write in a quiet spell goes at
 * once; under a steady trickle a write waits up to the interval so that the batch gathers more.
 * On PGlite it was 20 ms while a batch took six round trips, each waiting for a turn of the busy
 * event loop (the p50 was then about the interval, 19-21 ms); at one statement a batch, 5 ms gave
 * a p50 of 4-5 ms with the burst rate unchanged (docs/chat.md has the runs).
 */
export const writeIntervalDefault = 5;

/**
 * `wake` at most once per `everyMs`: at once after a quiet spell, else once at the end of the
 * window for every call within it.
 */
function throttledNudge(wake: () => void, everyMs: number): () => void {
  let last = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    timer = undefined;
    last = Date.now();
    wake();
  };
  return () => {
    if (timer) return;
    const wait = last + everyMs - Date.now();
    if (wait <= 0) fire();
    else {
      timer = setTimeout(fire, wait);
      // The relay's own poll publishes the rows if the process ends first.
      timer.unref();
    }
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
  private readonly writes: GroupCommit<WriteInput, WriteResult>;
  private readonly nudgeRelay: () => void;

  constructor(
    database: Database,
    private readonly clock: HybridLogicalClock,
    /** This site's id, the `origin` of its writes. */
    readonly site: string,
    writeIntervalMs: number = writeIntervalDefault,
  ) {
    this.db = tables<ChatTables>(database);
    // One batch at a time: PGlite runs one statement at a time anyway, and on PostgreSQL the
    // next batch gathers while this one commits.
    this.writes = new GroupCommit((inputs) => this.writeBatch(inputs), {
      maxBatch: 200,
      maxInFlight: 1,
      minIntervalMs: writeIntervalMs,
    });
    this.nudgeRelay = throttledNudge(() => outboxCommitted(database), relayNudgeMs);
  }

  /**
   * Stores a write, once per client id. Writes that come while a batch is being written go
   * together in the next one, one transaction (a lone write goes at once): a room's burst cost a
   * transaction, an outbox relay round and a replication read per message (the benchmark's 100
   * rooms pipelining 40 messages each ran at ~0.1x the bare server's delivery rate).
   */
  write(input: WriteInput): Promise<WriteResult> {
    return this.writes.submit(input);
  }

  /**
   * A batch in one statement, one round trip whatever its size (migrations.ts
   * `chat_write_batch`): the rooms' head locks in one order, each write checked against what is
   * stored (a resend, an edit's target), the new events numbered and inserted, and their replicas
   * queued in the outbox. Each write is stamped before the statement: a stamp a resend or a refusal
   * does not use is a gap in the clock's values, not in any order.
   */
  private async writeBatch(inputs: readonly WriteInput[]): Promise<(WriteResult | Error)[]> {
    // Rooms in one order in every batch: two batches (this instance's or another's) take the
    // rooms' head locks in the same order, so neither waits for a lock the other waits on.
    const order = inputs
      .map((input, i) => ({ input, i }))
      .sort((a, b) =>
        a.input.roomId < b.input.roomId ? -1 : a.input.roomId > b.input.roomId ? 1 : a.i - b.i,
      );
    const writes = order.map(({ input }, ord) => {
      const eventId = `${input.author}/${input.clientId}`;
      const deleted = input.kind === 'delete';
      return {
        ord,
        room_id: input.roomId,
        event_id: eventId,
        kind: input.kind,
        // An edit or delete names its message; the statement refuses it unless that is a message
        // of this room by the same author.
        message_id: input.kind === 'message' ? eventId : (input.messageId ?? ''),
        author: input.author,
        body: deleted ? '' : input.body,
        mentions: deleted ? [] : input.mentions,
        hlc: this.clock.tick(),
        origin: this.site,
        at: new Date().toISOString(),
      };
    });
    const replicas = writes.map((w) =>
      createEvent(chatEventV1, {
        source: `bv-chat/${this.site}`,
        // A site's events keep one order under one key: the relay publishes (and marks) each
        // key's rows as one group, so a key per room cost a round trip per room each round.
        key: this.site,
        data: {
          roomId: w.room_id,
          eventId: w.event_id,
          kind: w.kind,
          messageId: w.message_id,
          author: w.author,
          body: w.body,
          mentions: w.mentions,
          hlc: w.hlc,
          origin: w.origin,
          at: w.at,
        },
      }),
    );
    const { rows } = await sql<{ ord: number; outcome: string; stored: EventRow | null }>`
      WITH written AS MATERIALIZED (SELECT * FROM chat_write_batch(${JSON.stringify(writes)}::jsonb)),
        ${outboxInsert(topics.chat, replicas, sql`SELECT ord FROM written WHERE outcome = 'stored'`)}
      SELECT ord, outcome, stored FROM written`.execute(this.db);
    const outcomes: (WriteResult | Error)[] = [];
    let storedAny = false;
    for (const row of rows) {
      const { i } = order[row.ord]!;
      if (row.outcome === 'not-found') outcomes[i] = new NotFoundError('message not found in this room');
      else if (row.outcome === 'forbidden')
        outcomes[i] = new ForbiddenError('only its author may change a message');
      else if (row.stored) {
        outcomes[i] = { event: toEvent(row.stored), duplicate: row.outcome === 'duplicate' };
        storedAny ||= row.outcome === 'stored';
      }
    }
    for (const { i } of order) outcomes[i] ??= new Error('the chat write batch gave no answer for a write');
    if (storedAny) this.nudgeRelay();
    return outcomes;
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
        await this.insert(trx, [event]);
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

  /** The heads of these rooms (rooms without events are absent): the feeds' sync, in few queries. */
  async heads(roomIds: readonly string[]): Promise<Map<string, number>> {
    const heads = new Map<string, number>();
    for (let i = 0; i < roomIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('chat_room_heads')
        .select(['room_id', 'seq'])
        .where('room_id', 'in', roomIds.slice(i, i + 500))
        .execute();
      for (const r of rows) heads.set(r.room_id, Number(r.seq));
    }
    return heads;
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

  private async insert(trx: Kysely<ChatTables>, events: readonly StoredChatEvent[]): Promise<void> {
    if (events.length === 0) return;
    await trx
      .insertInto('chat_events')
      .values(
        events.map((e) => ({
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
        })),
      )
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
