import { decodeJwt } from 'jose';
import { WebSocket } from 'ws';

export type Frame = Record<string, unknown> & { type: string };

/** A test's chat socket: every frame it got, and a wait for the next one that matches. */
export class ChatClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private closeWaiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as Frame;
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(f)) return true;
        w.resolve(f);
        return false;
      });
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w();
    });
    ws.on('error', () => undefined);
  }

  /** Opens a socket to `<base>/api/v1/chat` with a bearer token; rejects with the HTTP status when refused. */
  static connect(baseUrl: string, token: string | undefined): Promise<ChatClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/v1/chat`, {
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      handshakeTimeout: 10_000,
    });
    const client = new ChatClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  next(pred: (f: Frame) => boolean, timeoutMs = 10_000, what = 'a frame'): Promise<Frame> {
    const seen = this.frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`no ${what} in ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`)),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  /** Waits for a frame that arrives from now on (not one already received). */
  nextNew(pred: (f: Frame) => boolean, timeoutMs = 10_000, what = 'a frame'): Promise<Frame> {
    const from = this.frames.length;
    return this.next((f) => this.frames.indexOf(f) >= from && pred(f), timeoutMs, what);
  }

  waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket not closed')), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve(this.closed as { code: number; reason: string });
      });
    });
  }

  /** Every chat event this socket received (history and live), in arrival order. */
  events(room: string): Frame[] {
    const out: Frame[] = [];
    for (const f of this.frames) {
      if (f.room !== room) continue;
      if (f.type === 'history') out.push(...(f.events as Frame[]));
      if (f.type === 'event') out.push(f.event as Frame);
    }
    return out;
  }

  close(): void {
    this.ws.terminate();
  }
}

export const userOf = (token: string): string => decodeJwt(token).sub as string;
