import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { BitvError, UnauthenticatedError } from '@bitv/shared';
import type { Logger } from '@bitv/shared/log';
import { decodeJwt } from 'jose';
import type { Counter, Gauge } from 'prom-client';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { type Principal, personOf } from '../api/principal.js';
import { credentialOf, refuse, turnCorker, type UpgradeHandler } from '../live/ws.js';
import { CatchUpTooFarError, type ChatPeer, type RoomFeeds } from './feeds.js';
import type { Presence } from './presence.js';
import { type ClientFrame, clientFrame, closeCodes, errorFrame } from './protocol.js';
import { TokenBucket } from './rate.js';
import { type FindOrder, mayEnter, mentionsIn, parseRoomId } from './rooms.js';
import type { ChatService } from './service.js';
import type { ChatSettings } from './settings.js';

export const chatPath = '/api/v1/chat';

export interface ChatMetrics {
  connections: Gauge;
  frames: Counter<'type'>;
  bad: Counter<'reason'>;
  dropped: Counter<'reason'>;
}

export interface ChatServerDeps {
  service: ChatService;
  feeds: RoomFeeds;
  presence: Presence;
  settings: ChatSettings;
  resolve(credential: string): Promise<Principal>;
  findOrder(): FindOrder | undefined;
  /** Publishes a room signal (typing, read) to every instance. */
  signal(message: { type: 'typing' | 'read'; room: string; user: string; seq?: number }): Promise<void>;
  metrics: ChatMetrics;
  logger: Logger;
}

/** When a credential stops being valid (a JWT's `exp`); API keys have none. */
function expiryOf(credential: string): number | undefined {
  try {
    const { exp } = decodeJwt(credential);
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    // Not a JWT (an API key): it lives until revoked.
    return undefined;
  }
}

/**
 * The chat WebSocket endpoint: authenticated at the upgrade like `/api/v1/live`, frames validated
 * by `protocol.ts`, each socket rate limited by a token bucket (excess frames dropped and
 * counted, the socket told once a second), closed with 4001 when its token expires unless a
 * fresh one came in band, and with 4008 when it cannot keep up.
 */
export function chatServer(deps: ChatServerDeps): UpgradeHandler & { close(): Promise<void> } {
  const { settings, metrics, logger } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: settings.maxFrameBytes });
  // A batch of writes fans out in one turn: a socket in a busy room pays one system call for it,
  // not one per event (writev was 59 % of the server's samples in the benchmark's burst).
  const cork = turnCorker();

  const handle = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const credential = credentialOf(req, url);
    const authorise = async () => {
      if (!credential) throw new UnauthenticatedError('missing credentials');
      const principal = await deps.resolve(credential);
      if (personOf(principal) === null) throw new UnauthenticatedError('not a user credential');
      return principal;
    };
    authorise().then(
      (principal) =>
        wss.handleUpgrade(req, socket, head, (ws) =>
          connection(ws, socket, principal, expiryOf(credential as string)),
        ),
      (error: unknown) =>
        refuse(socket, 401, 'unauthenticated', error instanceof Error ? error.message : 'refused'),
    );
  };

  const connection = (ws: WebSocket, socket: Duplex, first: Principal, firstExpiry: number | undefined) => {
    let principal = first;
    const user = personOf(first) as string;
    const bucket = new TokenBucket(settings.ratePerSecond, settings.rateBurst);
    const access = new Map<string, boolean>();
    let lastLimitNotice = 0;
    let status: 'online' | 'away' = 'online';
    let expiry: NodeJS.Timeout | undefined;
    const armExpiry = (at: number | undefined) => {
      clearTimeout(expiry);
      if (at === undefined) return;
      // setTimeout's limit is ~24.8 days; an access token lives minutes.
      expiry = setTimeout(
        () => ws.close(closeCodes.tokenExpired, 'token expired'),
        Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1)),
      );
      expiry.unref();
    };
    armExpiry(firstExpiry);
    const send = (frame: string | Buffer) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (ws.bufferedAmount > settings.maxBufferedBytes) {
        metrics.dropped.inc({ reason: 'slow_consumer' });
        ws.close(closeCodes.tooSlow, 'too slow');
        return;
      }
      // A Buffer goes out as a text frame without a copy (the fan-out shares one per event).
      cork(socket);
      ws.send(frame, { binary: false });
    };
    const mayRead = async (roomId: string): Promise<boolean> => {
      const known = access.get(roomId);
      if (known !== undefined) return known;
      const room = parseRoomId(roomId);
      const ok = room ? await mayEnter(principal, room, deps.findOrder()) : false;
      access.set(roomId, ok);
      return ok;
    };
    const peer: ChatPeer = { user, cursor: new Map(), send, mayRead };
    const joined = () => [...peer.cursor.keys()];
    deps.feeds.connected(peer);
    metrics.connections.inc();
    void deps.presence
      .beat(user, 'online', [])
      .catch((e: unknown) => logger.warn({ err: e }, 'chat presence failed'));

    const onFrame = async (frame: ClientFrame): Promise<void> => {
      switch (frame.type) {
        case 'auth': {
          const next = await deps.resolve(frame.token);
          if (personOf(next) !== user)
            throw new BitvError('forbidden', 'a refreshed token must be the same user’s');
          principal = next;
          access.clear();
          armExpiry(expiryOf(frame.token));
          send(JSON.stringify({ type: 'auth', ok: true }));
          return;
        }
        case 'join': {
          await enter(frame.room);
          deps.presence.follow(frame.room);
          await deps.feeds.join(peer, frame.room, frame.since);
          send(
            JSON.stringify({
              type: 'presence',
              room: frame.room,
              members: deps.presence.snapshot(frame.room),
            }),
          );
          send(
            JSON.stringify({
              type: 'reads',
              room: frame.room,
              reads: await deps.service.store.reads(frame.room),
            }),
          );
          await deps.presence.beat(user, status, [frame.room]);
          return;
        }
        case 'leave':
          deps.feeds.leave(peer, frame.room);
          if (deps.feeds.peersOf(frame.room).size === 0) deps.presence.unfollow(frame.room);
          return;
        case 'send':
        case 'edit':
        case 'delete': {
          await enter(frame.room);
          const body = frame.type === 'delete' ? '' : frame.body;
          const { event, duplicate } = await deps.service.write({
            roomId: frame.room,
            clientId: frame.clientId,
            kind: frame.type === 'send' ? 'message' : frame.type,
            ...(frame.type === 'send' ? {} : { messageId: frame.messageId }),
            author: user,
            body,
            mentions: mentionsIn(body),
          });
          send(
            JSON.stringify({
              type: 'ack',
              room: frame.room,
              clientId: frame.clientId,
              seq: event.seq,
              eventId: event.eventId,
              hlc: event.hlc,
              duplicate,
            }),
          );
          return;
        }
        case 'typing':
          await enter(frame.room);
          await deps.signal({ type: 'typing', room: frame.room, user });
          return;
        case 'read': {
          await enter(frame.room);
          const seq = await deps.service.store.markRead(frame.room, user, frame.seq);
          await deps.signal({ type: 'read', room: frame.room, user, seq });
          return;
        }
        case 'presence':
          status = frame.status;
          await deps.presence.beat(user, status, joined());
          return;
      }
    };
    const enter = async (roomId: string) => {
      if (!parseRoomId(roomId)) throw new BitvError('validation', `not a room id: ${roomId.slice(0, 100)}`);
      // "Not found" tells nothing about rooms one may not see (same rule as orders).
      if (!(await mayRead(roomId))) throw new BitvError('not_found', 'no such room');
    };

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!bucket.take()) {
        metrics.dropped.inc({ reason: 'rate_limited' });
        const now = Date.now();
        if (now - lastLimitNotice >= 1000) {
          lastLimitNotice = now;
          send(
            errorFrame('rate_limited', `more than ${settings.ratePerSecond} frames a second: frames dropped`),
          );
        }
        return;
      }
      let raw: unknown;
      try {
        if (isBinary) throw new Error('binary frame');
        raw = JSON.parse(data.toString());
      } catch {
        // Not JSON: answered and counted; the socket stays open.
        metrics.bad.inc({ reason: 'not_json' });
        send(errorFrame('bad_frame', 'frames are JSON text objects'));
        return;
      }
      const parsed = clientFrame.safeParse(raw);
      const ref =
        typeof (raw as { clientId?: unknown })?.clientId === 'string'
          ? (raw as { clientId: string }).clientId.slice(0, 100)
          : undefined;
      if (!parsed.success) {
        metrics.bad.inc({ reason: 'invalid' });
        const issue = parsed.error.issues[0];
        send(
          errorFrame('bad_frame', `${issue?.path.join('.') || 'frame'}: ${issue?.message ?? 'invalid'}`, ref),
        );
        return;
      }
      metrics.frames.inc({ type: parsed.data.type });
      onFrame(parsed.data).catch((error: unknown) => {
        if (error instanceof CatchUpTooFarError) {
          send(errorFrame('too_far_behind', `${error.message}: join again without since`, ref));
          return;
        }
        const code = error instanceof BitvError ? error.code : 'internal';
        if (code === 'internal') logger.warn({ err: error, user }, 'chat frame failed');
        if (code === 'unauthenticated') metrics.bad.inc({ reason: 'auth' });
        send(errorFrame(code, error instanceof Error ? error.message : 'failed', ref));
      });
    });
    let alive = true;
    ws.on('pong', () => {
      alive = true;
    });
    const ping = setInterval(() => {
      if (!alive) ws.terminate();
      alive = false;
      ws.ping();
    }, settings.pingIntervalMs);
    ping.unref();
    ws.on('close', () => {
      clearInterval(ping);
      clearTimeout(expiry);
      metrics.connections.dec();
      const rooms = joined();
      const last = deps.feeds.disconnected(peer);
      for (const r of rooms) if (deps.feeds.peersOf(r).size === 0) deps.presence.unfollow(r);
      if (last)
        void deps.presence
          .gone(user, rooms)
          .catch((e: unknown) => logger.warn({ err: e }, 'chat presence failed'));
    });
    // A protocol error (oversized or malformed frame) closes that socket only.
    ws.on('error', (error) => {
      metrics.bad.inc({ reason: 'protocol' });
      logger.debug({ err: error }, 'chat client error');
    });
    send(JSON.stringify({ type: 'hello', user, site: settings.site }));
  };

  return {
    path: chatPath,
    handle,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
