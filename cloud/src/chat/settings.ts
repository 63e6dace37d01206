import { loadConfig, setting } from '@bitv/shared';
import { writeIntervalDefault } from './store.js';

/** The chat module's settings (`BV_CHAT_*`, see cloud/src/config.ts and docs/chat.md). */
export interface ChatSettings {
  /** This deployment's site id: the origin of its writes and its HLC node id's prefix. */
  site: string;
  /** Largest client frame in bytes (the socket is closed with 1009 above it). */
  maxFrameBytes: number;
  /** Frames per second a socket may send on average, and at once. */
  ratePerSecond: number;
  rateBurst: number;
  /** Presence lifetime after the last heartbeat, and the batching of a room's presence frames. */
  presenceTtlMs: number;
  presenceCoalesceMs: number;
  /** Rooms with more sockets than this on an instance get no member presence frames. */
  presenceMaxMembers: number;
  /** Events a join without `since` gets, and the most a reconnect may catch up in one join. */
  historyLimit: number;
  maxCatchUp: number;
  /** How often each followed room is checked for events whose announcement was lost. */
  syncMs: number;
  /** A socket whose unsent data exceeds this is too slow and is closed. */
  maxBufferedBytes: number;
  pingIntervalMs: number;
  /** A write batch starts at most this often (ms; `writeIntervalDefault` in store.ts says why). */
  writeIntervalMs: number;
}

export const chatDefaults: ChatSettings = {
  site: 'local',
  maxFrameBytes: 16 * 1024,
  ratePerSecond: 20,
  rateBurst: 40,
  presenceTtlMs: 30_000,
  presenceCoalesceMs: 500,
  presenceMaxMembers: 500,
  historyLimit: 200,
  maxCatchUp: 10_000,
  syncMs: 2_000,
  maxBufferedBytes: 1 << 20,
  pingIntervalMs: 30_000,
  writeIntervalMs: writeIntervalDefault,
};

/** The chat settings as the environment gives them (`BV_CHAT_*`); `cli.ts` loads it once. */
export const chatSettingsSpec = {
  site: setting.string('BV_CHAT_SITE', {
    default: chatDefaults.site,
    description:
      'this deployment’s site id for chat replication (the origin of its writes; each site of an active-active pair needs its own)',
  }),
  maxFrameBytes: setting.int('BV_CHAT_MAX_FRAME_BYTES', {
    default: String(chatDefaults.maxFrameBytes),
    min: 256,
    max: 1 << 20,
    description: 'largest chat WebSocket frame a client may send (bigger closes the socket, 1009)',
  }),
  ratePerSecond: setting.int('BV_CHAT_RATE_PER_SECOND', {
    default: String(chatDefaults.ratePerSecond),
    min: 1,
    description: 'frames per second a chat socket may send on average (more are dropped and counted)',
  }),
  rateBurst: setting.int('BV_CHAT_RATE_BURST', {
    default: String(chatDefaults.rateBurst),
    min: 1,
    description: 'frames a chat socket may send at once',
  }),
  presenceTtlMs: setting.int('BV_CHAT_PRESENCE_TTL_MS', {
    default: String(chatDefaults.presenceTtlMs),
    min: 500,
    description: 'how long a user stays online after their last heartbeat (clients beat every 10 s)',
  }),
  presenceCoalesceMs: setting.int('BV_CHAT_PRESENCE_COALESCE_MS', {
    default: String(chatDefaults.presenceCoalesceMs),
    min: 10,
    description: 'a room hears presence changes at most once per this many ms (batched)',
  }),
  presenceMaxMembers: setting.int('BV_CHAT_PRESENCE_MAX_MEMBERS', {
    default: String(chatDefaults.presenceMaxMembers),
    min: 1,
    description:
      'rooms with more sockets than this on an instance get no member presence (broadcast channels)',
  }),
  historyLimit: setting.int('BV_CHAT_HISTORY_LIMIT', {
    default: String(chatDefaults.historyLimit),
    min: 1,
    max: 10_000,
    description: 'events a join without a sequence gets (the latest page)',
  }),
  syncMs: setting.int('BV_CHAT_SYNC_MS', {
    default: String(chatDefaults.syncMs),
    min: 50,
    description: 'how often each followed room is checked for events whose pub/sub message was lost',
  }),
  writeIntervalMs: setting.int('BV_CHAT_WRITE_INTERVAL_MS', {
    default: String(chatDefaults.writeIntervalMs),
    min: 0,
    max: 1_000,
    description: 'a chat write batch starts at most this often, in ms; writes in between go together',
  }),
};

export function chatSettingsOf(env: NodeJS.ProcessEnv): Partial<ChatSettings> {
  return loadConfig(chatSettingsSpec, env);
}
