import pg from 'pg';
import type { Logger } from 'pino';
import { backoffDelay } from '../retry/index.js';
import { notifyChannel } from './notify.js';

/**
 * Wakes a follower (outbox relay, projection runner) when another process commits to the same
 * PostgreSQL database: commits that append or queue outbox rows NOTIFY on `notifyChannel`. One
 * dedicated connection (a pooled one cannot keep LISTEN), reconnected with backoff; while it is
 * down, the follower's poll still finds the work.
 */
export function listenForCommits(
  url: string,
  onCommit: (what: string) => void,
  logger: Logger,
  connectTimeoutMs = 5_000,
): { close(): Promise<void> } {
  let client: pg.Client | undefined;
  let closed = false;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
    client = c;
    c.on('notification', (n) => onCommit(n.payload ?? ''));
    c.on('error', (error) => {
      logger.warn({ err: error }, 'commit listener lost its connection; reconnecting');
      void c.end().catch(() => undefined); // already broken; ending only frees the socket
      retryLater();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${notifyChannel}`);
      attempt = 0;
      // Whatever was committed while we were away is found by this one wake-up.
      onCommit('reconnected');
    } catch (error) {
      logger.warn({ err: error }, 'commit listener could not connect; retrying');
      void c.end().catch(() => undefined); // never connected; ending only frees the socket
      retryLater();
    }
  };
  const retryLater = () => {
    if (closed || timer) return;
    attempt += 1;
    timer = setTimeout(
      () => {
        timer = undefined;
        void connect();
      },
      backoffDelay(attempt, { initialDelayMs: 200, maxDelayMs: 10_000, factor: 2, jitter: 0.5 }),
    );
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await client?.end().catch(() => undefined); // closing: a broken connection has nothing left to end
    },
  };
}
