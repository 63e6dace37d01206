import type { Role } from '@bitv/shared/auth';
import { type Database, dropSchema, openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import {
  type BvEvent,
  createEvent,
  platformEvents,
  type Reading,
  telemetryReadingsV1,
  topics,
} from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { kafkaBrokers, postgresUrl, uniqueName } from '@bitv/shared/testing';
import { Tokens } from '../src/auth/tokens.js';
import type { CloudConfig } from '../src/config.js';
import { type CloudHandle, startCloud } from '../src/index.js';

/** `postgres+kafka` is the production pair: PostgreSQL and Kafka (`KAFKA_BROKERS`). */
export type DatabaseKind = 'pglite' | 'postgres' | 'postgres+kafka';

export interface TestCloud {
  cloud: CloudHandle;
  database: Database;
  eventLog: EventLog;
  /** An access token of a fresh user with this role (optionally limited to sites). */
  token(role: Role, sites?: string[]): Promise<string>;
  /** A token signed by the registry's key that expired a minute ago. */
  expiredToken(role: Role): Promise<string>;
  /** Every event published on a topic so far (read through the real log with its own group). */
  published(topic: string): BvEvent[];
  close(): Promise<void>;
}

/** A real cloud on a real database and the real database event log; port 0, nothing shared. */
export async function startTestCloud(
  kind: DatabaseKind,
  config: Partial<CloudConfig> = {},
): Promise<TestCloud> {
  const schema = uniqueName('cloud');
  const database =
    kind === 'pglite'
      ? await openDatabase()
      : await openDatabase({ url: postgresUrl(), schema, poolSize: 4 });
  const registry = createRegistry();
  const kafka = kind === 'postgres+kafka';
  const eventLog = await createEventLog({
    database,
    ...(kafka ? { kafka: { brokers: kafkaBrokers(), clientId: uniqueName('cloud-test') } } : {}),
    registry: platformEvents(),
    metrics: registry,
    databaseLog: { pollIntervalMs: 50, retentionIntervalMs: 0 },
  });
  // On a shared Kafka the topics hold other runs' events: own groups, starting at the end.
  const consumers = kafka ? { consumers: { groupPrefix: uniqueName('cloud'), fromBeginning: false } } : {};
  const cloud = await startCloud(
    { port: 0, grpcPort: -1, ...consumers, ...config },
    { database, eventLog, logger: silentLogger, registry },
  );
  const seen = new Map<string, BvEvent[]>();
  const watched = await eventLog.subscribe({
    group: uniqueName('watch'),
    topics: [topics.inventory, topics.registry, topics.commands],
    fromBeginning: !kafka,
    handler: async (event, ctx) => {
      const list = seen.get(ctx.topic) ?? [];
      list.push(event);
      seen.set(ctx.topic, list);
    },
  });
  let n = 0;
  const s = cloud.services;
  const expiring = new Tokens(s.keys, { ...s.tokens.settings, accessTtlSeconds: -60 });
  return {
    cloud,
    database,
    eventLog,
    token: async (role, sites) => {
      n += 1;
      const user = await s.users.create({
        email: `${role}${n}@test.local`,
        name: role,
        role,
        password: 'password-123',
        sites: sites ?? null,
      });
      return (await s.tokens.accessToken(user)).token;
    },
    expiredToken: async (role) => (await expiring.accessToken({ id: 'someone', role, sites: null })).token,
    published: (topic) => seen.get(topic) ?? [],
    close: async () => {
      await watched.close();
      await cloud.close();
      await eventLog.close();
      if (kind !== 'pglite') await dropSchema(database, schema);
      await database.close();
    },
  };
}

export function readingsEvent(
  edgeNodeId: string,
  deviceId: string,
  readings: Reading[],
  groupId = 'demo-site',
): BvEvent {
  return createEvent(telemetryReadingsV1, {
    source: `/bitv/gateway/${edgeNodeId}`,
    key: edgeNodeId,
    data: { groupId, edgeNodeId, deviceId, historical: false, readings },
  });
}

/** Readings of every bin at `weights`, `count` times, `stepMs` apart, numbered from `seq`. */
export function steadyReadings(
  seq: number,
  startMs: number,
  weights: number[],
  count: number,
  stepMs = 100,
): Reading[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: seq + i,
    time: new Date(startMs + i * stepMs).toISOString(),
    bins: weights.map((weightG, bin) => ({ bin, weightG })),
  }));
}

export async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

export function authed(token: string, body?: unknown, method = 'POST'): RequestInit {
  return {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
}
