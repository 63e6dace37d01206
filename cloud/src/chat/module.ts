import { randomBytes } from 'node:crypto';
import { type OutboxRelay, startOutboxRelay } from '@bitv/shared/event-store';
import { type BvEvent, chatEventV1, topics } from '@bitv/shared/events';
import { HybridLogicalClock } from '@bitv/shared/hlc';
import { counter, gauge, histogram } from '@bitv/shared/metrics';
import { z } from 'zod';
import type { CloudModule, ModuleContext } from '../module.js';
import { chatChannels, RoomFeeds } from './feeds.js';
import { migrateChat } from './migrations.js';
import { chatNav, chatPages } from './pages.js';
import { Presence, presenceSignal } from './presence.js';
import type { FindOrder } from './rooms.js';
import { chatRoutes } from './routes.js';
import { ChatService } from './service.js';
import { type ChatSettings, chatDefaults } from './settings.js';
import { chatServer } from './sockets.js';
import { ChatStore } from './store.js';

const roomSignal = z.discriminatedUnion('type', [
  z.object({ type: z.literal('typing'), room: z.string().max(300), user: z.string().max(200) }),
  z.object({
    type: z.literal('read'),
    room: z.string().max(300),
    user: z.string().max(200),
    seq: z.number().int().min(0),
  }),
  presenceSignal,
]);

/**
 * Chat: site channels, direct messages and order support rooms over a WebSocket
 * (`/api/v1/chat`) and REST; messages in this site's database with a gapless per-room sequence,
 * shared between instances through the cache's pub/sub (Redis), replicated between sites through
 * `bv.chat` on the event log and ordered by a hybrid logical clock; presence on the cache with a TTL.
 */
export async function createChatModule(
  ctx: ModuleContext,
  options: Partial<ChatSettings> = {},
): Promise<CloudModule> {
  const settings: ChatSettings = { ...chatDefaults, ...options };
  await migrateChat(ctx.database);
  const logger = ctx.logger.child({ module: 'chat' });
  // One clock per process: a site's instances share its database, so a node id per instance keeps
  // their stamps distinct.
  const clock = new HybridLogicalClock(`${settings.site}.${randomBytes(3).toString('hex')}`);
  const store = new ChatStore(ctx.database, clock, settings.site, settings.writeIntervalMs);
  const invalid = counter(
    ctx.metrics,
    'bv_chat_invalid_pubsub_total',
    'Chat pub/sub messages that did not parse',
  );
  const delivered = counter(ctx.metrics, 'bv_chat_delivered_total', 'Chat events sent to sockets (fan-out)');
  // Writing one event to every local socket of a room blocks the event loop for its whole length:
  // the floor of a big room's delivery latency.
  const fanout = histogram(
    ctx.metrics,
    'bv_chat_fanout_seconds',
    'Time to write one chat event to all of a room’s sockets on this instance',
  );
  const written = counter(ctx.metrics, 'bv_chat_writes_total', 'Chat writes, by outcome', ['outcome']);
  const replicated = counter(ctx.metrics, 'bv_chat_replicas_total', 'Other sites’ chat events, by outcome', [
    'outcome',
  ]);
  const feeds = new RoomFeeds(store, ctx.cache, {
    historyLimit: settings.historyLimit,
    maxCatchUp: settings.maxCatchUp,
    logger,
    onInvalid: () => invalid.inc(),
    onDelivered: (n, ms) => {
      delivered.inc(n);
      fanout.observe(ms / 1000);
    },
  });
  const service = new ChatService(store, feeds, (r) =>
    written.inc({ outcome: r.duplicate ? 'duplicate' : 'stored' }),
  );
  const presence = new Presence(
    ctx.cache,
    {
      ttlMs: settings.presenceTtlMs,
      coalesceMs: settings.presenceCoalesceMs,
      maxMembers: settings.presenceMaxMembers,
    },
    (signal) => ctx.cache.publish(chatChannels.signals, signal),
    (room, text) => feeds.toRoom(room, text),
    (room) => feeds.peersOf(room).size,
    logger,
  );
  const findOrder = (): FindOrder | undefined => {
    const orders = ctx.apis.orders;
    if (!orders) return undefined;
    return async (orderId) => {
      const o = await orders.find(orderId);
      return o ? { siteId: o.siteId, customerId: o.customerId } : undefined;
    };
  };
  const server = chatServer({
    service,
    feeds,
    presence,
    settings,
    resolve: ctx.authenticate,
    findOrder,
    signal: (m) => ctx.cache.publish(chatChannels.signals, m),
    metrics: {
      connections: gauge(ctx.metrics, 'bv_chat_connections', 'Open chat sockets'),
      frames: counter(ctx.metrics, 'bv_chat_frames_total', 'Chat client frames accepted, by type', ['type']),
      bad: counter(ctx.metrics, 'bv_chat_bad_frames_total', 'Chat client frames refused, by reason', [
        'reason',
      ]),
      dropped: counter(
        ctx.metrics,
        'bv_chat_dropped_total',
        'Chat frames dropped (rate limit, slow socket)',
        ['reason'],
      ),
    },
    logger,
  });
  let relay: OutboxRelay | undefined;
  const onSignal = (message: unknown) => {
    const parsed = roomSignal.safeParse(message);
    if (!parsed.success) {
      invalid.inc();
      return;
    }
    const s = parsed.data;
    if (s.type === 'presence') presence.heard(s);
    else feeds.toRoom(s.room, JSON.stringify(s), s.type === 'typing' ? s.user : undefined);
  };

  const replicate = async (event: BvEvent) => {
    if (event.type !== chatEventV1.type) return;
    const result = await service.replica(chatEventV1.schema.parse(event.data));
    replicated.inc({
      outcome: result === undefined ? 'own' : result.duplicate ? 'duplicate' : 'applied',
    });
  };

  return {
    name: 'chat',
    routes: chatRoutes({ service, findOrder }),
    pages: chatPages({ kit: ctx.dashboard, service, findOrder }),
    nav: [chatNav],
    upgrades: [server],
    consumers: [
      {
        // One group per site: sites sharing one log (a single Kafka cluster) must each see every
        // other site's events; instances of one site share the work.
        group: `chat.replicas.${settings.site}`,
        topics: [topics.chat],
        handle: replicate,
        // A run at once is committed with one statement: the log carries this site's own writes
        // too (skipped here), and an offset commit per event was a statement per chat message.
        handleBatch: async (events) => {
          for (const event of events) await replicate(event);
        },
      },
    ],
    timers: [
      { name: 'chat-sync', everyMs: settings.syncMs, run: () => feeds.sync() },
      {
        name: 'chat-presence-flush',
        everyMs: settings.presenceCoalesceMs,
        run: async () => presence.flush(),
      },
      {
        name: 'chat-presence-sweep',
        everyMs: Math.max(250, Math.floor(settings.presenceTtlMs / 4)),
        run: () => presence.sweep(),
      },
    ],
    health: {
      store: () => ctx.database.ping(),
      pubsub: () => ctx.cache.ping(),
    },
    async start() {
      await feeds.start(onSignal);
      relay = await startOutboxRelay({
        database: ctx.database,
        eventLog: ctx.eventLog,
        logger,
        metrics: ctx.metrics,
      });
    },
    async close() {
      await server.close();
      await feeds.close();
      await relay?.close();
    },
  };
}
