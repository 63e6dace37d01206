/**
 * One cloud instance for chat-instances.test.ts: the chat module on the test's PostgreSQL schema
 * with the cache (presence, pub/sub between instances) on Redis. With `BV_CHAT_TEST_USERS=<n>` it
 * first creates n staff users of `BV_CHAT_TEST_SITE` and prints their access tokens;
 * `BV_CHAT_TEST_PRESENCE_TTL_MS` shortens presence's TTL. Prints `ready <url>` once it serves.
 */
import { openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { z } from 'zod';
import { startCloud } from '../src/index.js';

const env = z
  .object({
    BV_CHAT_TEST_DB: z.string().url(),
    BV_CHAT_TEST_SCHEMA: z.string(),
    BV_CHAT_TEST_REDIS: z.string().url(),
    BV_CHAT_TEST_SITE: z.string(),
    BV_CHAT_TEST_USERS: z.coerce.number().int().default(0),
    BV_CHAT_TEST_PRESENCE_TTL_MS: z.coerce.number().int().positive().optional(),
  })
  .parse(process.env);

const database = await openDatabase({
  url: env.BV_CHAT_TEST_DB,
  schema: env.BV_CHAT_TEST_SCHEMA,
  poolSize: 4,
});
const registry = createRegistry();
const eventLog = await createEventLog({
  database,
  registry: platformEvents(),
  metrics: registry,
  databaseLog: { pollIntervalMs: 100, retentionIntervalMs: 0 },
});
const cloud = await startCloud(
  {
    port: 0,
    grpcPort: -1,
    modules: ['chat'],
    redisUrl: env.BV_CHAT_TEST_REDIS,
    chat: {
      syncMs: 500,
      ...(env.BV_CHAT_TEST_PRESENCE_TTL_MS ? { presenceTtlMs: env.BV_CHAT_TEST_PRESENCE_TTL_MS } : {}),
    },
  },
  { database, eventLog, logger: silentLogger, registry },
);
const tokens: string[] = [];
for (let i = 0; i < env.BV_CHAT_TEST_USERS; i++) {
  const user = await cloud.services.users.create({
    // The site too: each test of a file makes its own users in the file's schema.
    email: `chat${i}-${env.BV_CHAT_TEST_SITE}@test.local`,
    name: `chat ${i}`,
    role: 'staff',
    password: 'password-123',
    sites: [env.BV_CHAT_TEST_SITE],
  });
  tokens.push((await cloud.services.tokens.accessToken(user)).token);
}
if (tokens.length > 0) process.stdout.write(`tokens ${JSON.stringify(tokens)}\n`);
process.stdout.write(`ready ${cloud.url}\n`);
