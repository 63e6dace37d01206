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

export const chatMigrations: Record<string, Migration> = { '0001_events': events };

export function migrateChat(database: Database): Promise<string[]> {
  return migrate(database, 'chat', chatMigrations);
}
