import { ForbiddenError, NotFoundError } from '@bitv/shared';
import { type Database, GroupCommit, tables } from '@bitv/shared/db';
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

const keyOf = (roomId: string, eventId: string) => `${roomId}\u0000${eventId}`;

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
 * A write batch starts at most this often (ms), by database, unless `BV_CHAT_WRITE_INTERVAL_MS`
 * says otherwise. A batch costs about six round trips however many writes it holds, and a write
 * in a quiet spell goes at once; under a steady trickle a write waits up to the interval so that
 * the batch gathers more. On PGlite the statements run on this process's thread: at 100 rooms
 * writing a message a second each, one or two writes a batch made the process the bottleneck, and
 * 20 ms holds it to about 50 batches a second. On PostgreSQL the statements run elsewhere and the
 * writes that come while a batch commits go in the next one anyway, so a short interval only caps
 * the rate of batches: at 20 ms the interval was most of the p50 (about 19 ms), at 5 ms the p50
 * was about 6 ms and the p99 within the runs' noise (docs/chat.md has the runs).
 */
export const writeIntervalDefaults = { pglite: 20, postgres: 5 } as const;

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

/** A room's head in a batch: before it, the numbers it reserved, and the last one handed out. */
interface RoomHead {
  before: number;
  reserved: number;
  last: number;
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
    writeIntervalMs: number = writeIntervalDefaults[database.kind],
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
   * A batch in a fixed number of statements whatever its size: one upsert bumps every room's head
   * by its number of writes (taking the rows' locks), one select finds the batch's event ids and
   * edit targets already stored, one insert stores the new events, and a room whose writes were
   * not all stored (resends, refusals) gives the unused numbers back in one update. Three
   * statements per write (head, duplicate check, insert) made PGlite the bottleneck of the
   * benchmark's 100 messages/s.
   */
  private async writeBatch(inputs: readonly WriteInput[]): Promise<(WriteResult | Error)[]> {
    const outcomes: (WriteResult | Error)[] = [];
    // Rooms in one order in every batch: two batches (this instance's or another's) take the
    // rooms' head locks in the same order, so neither waits for a lock the other waits on.
    const order = inputs
      .map((input, i) => ({ input, i }))
      .sort((a, b) =>
        a.input.roomId < b.input.roomId ? -1 : a.input.roomId > b.input.roomId ? 1 : a.i - b.i,
      );
    const writes = new Map<string, number>();
    for (const { input } of order) writes.set(input.roomId, (writes.get(input.roomId) ?? 0) + 1);
    await this.db.transaction().execute(async (trx) => {
      // The heads' row locks first: a concurrent write of the same id (another instance) waits
      // here and then finds it stored.
      const heads = await this.reserve(trx, writes);
      const known = await this.stored(trx, inputs);
      const stored: StoredChatEvent[] = [];
      for (const { input, i } of order) {
        const outcome = this.decide(input, known, heads);
        outcomes[i] = outcome;
        if (outcome instanceof Error || outcome.duplicate) continue;
        known.set(keyOf(input.roomId, outcome.event.eventId), outcome.event);
        stored.push(outcome.event);
      }
      const unused = [...heads].flatMap(([roomId, h]) =>
        h.reserved > h.last - h.before
          ? [sql`(${roomId}::text, ${h.reserved - (h.last - h.before)}::integer)`]
          : [],
      );
      if (unused.length > 0)
        await sql`UPDATE chat_room_heads h SET seq = h.seq - u.n FROM (VALUES ${sql.join(unused)}) AS u(room_id, n)
          WHERE h.room_id = u.room_id`.execute(trx);
      await this.insert(trx, stored);
      // The batch's replicas in one outbox insert (one turn at the store's order lock).
      await queueOutbox<ChatTables>(
        trx,
        topics.chat,
        stored.map(({ seq: _local, ...replicated }) =>
          createEvent(chatEventV1, {
            source: `bv-chat/${this.site}`,
            // A site's events keep one order under one key: the relay publishes (and marks) each
            // key's rows as one group, so a key per room cost a round trip per room each round.
            key: this.site,
            data: replicated,
          }),
        ),
      );
    });
    if (outcomes.some((o) => !(o instanceof Error) && !o.duplicate)) this.nudgeRelay();
    return outcomes;
  }

  /** Bumps each room's head by its number of writes, under the rows' locks. */
  private async reserve(
    trx: Kysely<ChatTables>,
    writes: ReadonlyMap<string, number>,
  ): Promise<Map<string, RoomHead>> {
    const rows = await trx
      .insertInto('chat_room_heads')
      .values([...writes].map(([room_id, seq]) => ({ room_id, seq })))
      .onConflict((oc) => oc.column('room_id').doUpdateSet({ seq: sql`chat_room_heads.seq + excluded.seq` }))
      .returning(['room_id', 'seq'])
      .execute();
    const heads = new Map<string, RoomHead>();
    for (const r of rows) {
      const reserved = writes.get(r.room_id) ?? 0;
      const before = Number(r.seq) - reserved;
      heads.set(r.room_id, { before, reserved, last: before });
    }
    return heads;
  }

  /** The batch's event ids and edit targets already stored, by room and event id. */
  private async stored(trx: Kysely<ChatTables>, inputs: readonly WriteInput[]) {
    const rooms = new Set<string>();
    const ids = new Set<string>();
    for (const input of inputs) {
      rooms.add(input.roomId);
      ids.add(`${input.author}/${input.clientId}`);
      if (input.messageId) ids.add(input.messageId);
    }
    const rows = await trx
      .selectFrom('chat_events')
      .selectAll()
      .where('room_id', 'in', [...rooms])
      .where('event_id', 'in', [...ids])
      .execute();
    return new Map(rows.map((r) => [keyOf(r.room_id, r.event_id), toEvent(r)]));
  }

  /** One write of a batch: stored (taking the room's next number), a resend, or refused. */
  private decide(
    input: WriteInput,
    known: ReadonlyMap<string, StoredChatEvent>,
    heads: ReadonlyMap<string, RoomHead>,
  ): WriteResult | Error {
    const eventId = `${input.author}/${input.clientId}`;
    const existing = known.get(keyOf(input.roomId, eventId));
    if (existing) return { event: existing, duplicate: true };
    let messageId = eventId;
    if (input.kind !== 'message') {
      const target = input.messageId ? known.get(keyOf(input.roomId, input.messageId)) : undefined;
      if (target?.kind !== 'message') return new NotFoundError('message not found in this room');
      if (target.author !== input.author) return new ForbiddenError('only its author may change a message');
      messageId = target.eventId;
    }
    const head = heads.get(input.roomId);
    if (!head) return new Error(`no head reserved for room ${input.roomId}`);
    head.last += 1;
    const seq = head.last;
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
    return { event, duplicate: false };
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
