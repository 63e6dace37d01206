import { type ClientRequest, request } from 'node:http';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** A raw SSE client on node:http, so a test can cut its socket the way a vanished browser would. */
export interface SseClient {
  events: SseEvent[];
  status: Promise<number>;
  /** Resolves when `events` has at least `n` (after `predicate`), or rejects after `ms`. */
  waitFor(n: number, ms?: number): Promise<void>;
  /** Destroys the socket without a goodbye. */
  cut(): void;
}

export function openSse(url: string, headers: Record<string, string>): SseClient {
  const events: SseEvent[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let req: ClientRequest;
  const status = new Promise<number>((resolve, reject) => {
    req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      resolve(res.statusCode ?? 0);
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const e: SseEvent = { event: 'message', data: '' };
          let data: string[] | undefined;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
            if (field === 'id') e.id = value;
            else if (field === 'event') e.event = value;
            else if (field === 'data') {
              data = data ?? [];
              data.push(value);
            }
          }
          if (data === undefined) continue;
          e.data = data.join('\n');
          events.push(e);
          for (const w of [...waiters]) {
            if (events.length >= w.n) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve();
            }
          }
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', (error) => reject(error));
    req.end();
  });
  return {
    events,
    status,
    waitFor: (n, ms = 60_000) =>
      new Promise<void>((resolve, reject) => {
        if (events.length >= n) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`got ${events.length} of ${n} events in ${ms} ms`)),
          ms,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      }),
    cut: () => req.destroy(),
  };
}
