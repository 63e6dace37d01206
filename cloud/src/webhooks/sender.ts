import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { TimeoutError, UnavailableError } from '@bitv/shared';
import { guardedLookup, resolvePublic, SsrfError } from './ssrf.js';

export interface SendResult {
  status: number;
  /** The first bytes of the response body (the rest is never read). */
  snippet: string;
}

export interface SendOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  snippetBytes: number;
  allowPrivate: boolean;
  signal?: AbortSignal;
  /** A keep-alive agent for the endpoint (`agentFor`); without one, a connection per request. */
  agent?: http.Agent;
}

/**
 * A keep-alive agent for one endpoint, up to `maxSockets` connections (its bulkhead's limit).
 * A pooled connection was opened through the SSRF-guarded lookup, so reusing it is as safe.
 */
export function agentFor(url: string, maxSockets: number): http.Agent {
  const options = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: 30_000 };
  return new URL(url).protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
}

/**
 * One POST to a receiver. Connects only to addresses the SSRF guard passed, gives up after
 * `timeoutMs` in all, follows no redirects (a 3xx is a failed attempt, as Svix treats it), reads
 * at most `snippetBytes` of the answer. A connection whose answer ended within that goes back to
 * the agent's pool; one with more to read (or timed out) is dropped.
 */
export async function sendWebhook(o: SendOptions): Promise<SendResult> {
  const url = new URL(o.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // A literal address skips `lookup`, so it is checked here.
  if (isIP(host)) await resolvePublic(host, o.allowPrivate);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve, reject) => {
    let done = false;
    let ended = false;
    const finish = (error: Error | undefined, result?: SendResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (!ended) req.destroy();
      if (error) reject(error);
      else if (result) resolve(result);
    };
    const req = client.request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(o.body)),
        'user-agent': 'BitVelocity-Webhooks/1',
        ...o.headers,
      },
      lookup: guardedLookup(o.allowPrivate) as never,
      agent: o.agent ?? false,
    });
    const timer = setTimeout(
      () => finish(new TimeoutError(`no answer from ${url.host} within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    const onAbort = () => finish(new TimeoutError(`request to ${url.host} aborted (time limit)`));
    o.signal?.addEventListener('abort', onAbort);
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error instanceof SsrfError) return finish(error);
      finish(new UnavailableError(`${url.host}: ${error.code ?? error.message}`, { cause: error }));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const complete = () =>
        finish(undefined, {
          status: res.statusCode ?? 0,
          snippet: Buffer.concat(chunks).subarray(0, o.snippetBytes).toString('utf8'),
        });
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size > o.snippetBytes) complete(); // bounded: the rest of a huge answer is never read
      });
      res.on('end', () => {
        ended = true;
        complete();
      });
      res.on('error', complete); // a cut body still has its status
    });
    req.end(o.body);
  });
}
