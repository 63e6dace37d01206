import { type Database, type Migration, migrate } from '@bitv/shared/db';
import { type Kysely, sql } from 'kysely';

const events: Migration = {
  async up(db: Kysely<unknown>) {
    // One row per room holding its last sequence: the row lock serialises a room's writers, and a
    // rolled-back write gives its number back, so a room's sequence has no gaps.
    await sql`CREATE TABLE chat_room_heads (
      room_id text PRIMARY KEY,
      seq integer NOT NULL
    )`.execute(db);
    await sql`CREATE TABLE chat_events (
      room_id text NOT NULL,
      seq integer NOT NULL,
      event_id text NOT NULL,
      kind text NOT NULL,
      message_id text NOT NULL,
      author text NOT NULL,
      body text NOT NULL,
      mentions jsonb NOT NULL,
      hlc text NOT NULL,
      origin text NOT NULL,
      at timestamptz NOT NULL,
      PRIMARY KEY (room_id, seq),
      UNIQUE (room_id, event_id)
    )`.execute(db);
    await sql`CREATE TABLE chat_reads (
      room_id text NOT NULL,
      member text NOT NULL,
      seq integer NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (room_id, member)
    )`.execute(db);
  },
};

/**
 * A write batch in one statement (store.ts `writeBatch`): the batch went in six round trips (begin,
 * heads, duplicates, insert, outbox, commit) and on PGlite each one waited for a turn of the chat
 * process's busy event loop, which made the slow batches of the fan-out's p99. The function takes
 * the writes in the order their rooms' head locks are taken and answers each one: stored (with
 * its sequence), a resend of a stored event, or refused. A function's statements each see what
 * committed before them, so a write that waited for a head lock held by another instance finds
 * that instance's events, as separate statements did.
 */
const writeBatch: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE FUNCTION chat_write_batch(writes jsonb)
      RETURNS TABLE (ord integer, outcome text, stored jsonb)
      LANGUAGE plpgsql AS $$
      DECLARE
        w record;
        room text;
        head integer;
        found_event chat_events%ROWTYPE;
        target chat_events%ROWTYPE;
      BEGIN
        FOR w IN SELECT * FROM jsonb_to_recordset(writes) AS x (ord integer, room_id text,
            event_id text, kind text, message_id text, author text, body text, mentions jsonb,
            hlc text, origin text, at timestamptz) ORDER BY x.ord LOOP
          IF room IS DISTINCT FROM w.room_id THEN
            IF room IS NOT NULL THEN
              UPDATE chat_room_heads h SET seq = head WHERE h.room_id = room;
            END IF;
            room := w.room_id;
            -- the head's row lock: concurrent writers to the room wait here
            INSERT INTO chat_room_heads AS h (room_id, seq) VALUES (room, 0)
              ON CONFLICT (room_id) DO UPDATE SET seq = h.seq
              RETURNING h.seq INTO head;
          END IF;
          ord := w.ord;
          SELECT * INTO found_event FROM chat_events e WHERE e.room_id = room AND e.event_id = w.event_id;
          IF FOUND THEN
            outcome := 'duplicate';
            stored := to_jsonb(found_event);
            RETURN NEXT;
            CONTINUE;
          END IF;
          stored := NULL;
          IF w.kind <> 'message' THEN
            SELECT * INTO target FROM chat_events e WHERE e.room_id = room AND e.event_id = w.message_id;
            IF NOT FOUND OR target.kind <> 'message' THEN
              outcome := 'not-found';
              RETURN NEXT;
              CONTINUE;
            END IF;
            IF target.author <> w.author THEN
              outcome := 'forbidden';
              RETURN NEXT;
              CONTINUE;
            END IF;
          END IF;
          head := head + 1;
          INSERT INTO chat_events (room_id, seq, event_id, kind, message_id, author, body, mentions,
              hlc, origin, at)
            VALUES (room, head, w.event_id, w.kind, w.message_id, w.author, w.body, w.mentions,
              w.hlc, w.origin, w.at)
            RETURNING * INTO found_event;
          outcome := 'stored';
          stored := to_jsonb(found_event);
          RETURN NEXT;
        END LOOP;
        IF room IS NOT NULL THEN
          UPDATE chat_room_heads h SET seq = head WHERE h.room_id = room;
        END IF;
      END
      $$`.execute(db);
  },
};

export const chatMigrations: Record<string, Migration> = {
  '0001_events': events,
  '0002_write_batch': writeBatch,
};

export function migrateChat(database: Database): Promise<string[]> {
  return migrate(database, 'chat', chatMigrations);
}
