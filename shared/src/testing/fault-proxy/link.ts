import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Stream, ToxicSpec } from './toxics.js';

/** What a link needs from its proxy: the toxics in force now, randomness, and counters. */
export interface LinkHost {
  toxics(): readonly ToxicSpec[];
  random(): number;
  counted(event: 'bytes' | 'reset' | 'closed', stream?: Stream, bytes?: number): void;
}

/** Per connection state of one toxic: whether it applies here (toxicity) and its timers/counters. */
interface ToxicState {
  applies: boolean;
  timer?: NodeJS.Timeout;
  bytes: number;
}

/** Pausing the sender past this many queued bytes bounds memory under slow toxics. */
const highWater = 1 << 20;

/**
 * One proxied connection: the client's socket and ours to the upstream, and a pipe each way that
 * runs every chunk through the toxics of its direction in the order they were added.
 */
export class Link {
  private readonly states = new Map<string, ToxicState>();
  private readonly aborter = new AbortController();
  private readonly pipes: Pipe[];
  closed = false;

  constructor(
    readonly client: Socket,
    readonly server: Socket,
    private readonly host: LinkHost,
    private readonly onDone: (link: Link) => void,
  ) {
    this.pipes = [new Pipe(this, 'upstream', client, server), new Pipe(this, 'downstream', server, client)];
    for (const socket of [client, server]) {
      // a reset or error on one side is passed on as a reset to the other, as the wire would
      socket.on('error', () => this.reset(false));
      socket.on('close', () => {
        if (client.destroyed && server.destroyed) this.finish();
      });
    }
    this.sync();
  }

  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  random(): number {
    return this.host.random();
  }

  count(stream: Stream, bytes: number): void {
    this.host.counted('bytes', stream, bytes);
  }

  /** Brings the per connection toxic state in line with the proxy's toxics (called on every change). */
  sync(): void {
    const current = this.host.toxics();
    const names = new Set(current.map((t) => t.name));
    for (const [name, state] of this.states) {
      if (!names.has(name)) {
        clearTimeout(state.timer);
        this.states.delete(name);
      }
    }
    for (const toxic of current) {
      if (this.states.has(toxic.name)) continue;
      const state: ToxicState = { applies: this.host.random() < toxic.toxicity, bytes: 0 };
      this.states.set(toxic.name, state);
      if (state.applies) this.attach(toxic, state);
    }
    for (const pipe of this.pipes) pipe.pump();
  }

  private attach(toxic: ToxicSpec, state: ToxicState): void {
    if (toxic.type === 'timeout' && toxic.attributes.timeout > 0) {
      state.timer = setTimeout(() => this.close(), toxic.attributes.timeout);
    }
    if (toxic.type === 'reset_peer') {
      state.timer = setTimeout(() => this.reset(true), toxic.attributes.timeout);
    }
  }

  /** The toxics of one direction that apply to this connection, in order. */
  active(stream: Stream): Array<{ toxic: ToxicSpec; state: ToxicState }> {
    const out: Array<{ toxic: ToxicSpec; state: ToxicState }> = [];
    for (const toxic of this.host.toxics()) {
      const state = this.states.get(toxic.name);
      if (toxic.stream === stream && state?.applies) out.push({ toxic, state });
    }
    return out;
  }

  /** Closes both sides at once (FIN where the socket can still send). */
  close(): void {
    if (this.closed) return;
    this.stop();
    this.client.destroy();
    this.server.destroy();
  }

  /** Resets both sides (RST): the peers see ECONNRESET. */
  reset(count: boolean): void {
    if (this.closed) return;
    this.stop();
    if (count) this.host.counted('reset');
    for (const socket of [this.client, this.server]) {
      if (!socket.destroyed) socket.resetAndDestroy();
    }
  }

  private stop(): void {
    this.closed = true;
    this.aborter.abort();
    for (const state of this.states.values()) clearTimeout(state.timer);
  }

  private finish(): void {
    this.stop();
    this.onDone(this);
  }
}

/** One direction of a link: reads from `source`, runs chunks through the toxics, writes to `dest`. */
class Pipe {
  private readonly queue: Array<{ data: Buffer; at: number }> = [];
  private queued = 0;
  private running = false;
  private ended = false;

  constructor(
    private readonly link: Link,
    private readonly stream: Stream,
    private readonly source: Socket,
    private readonly dest: Socket,
  ) {
    source.on('data', (data: Buffer) => {
      link.count(stream, data.length);
      this.queue.push({ data, at: Date.now() });
      this.queued += data.length;
      if (this.queued > highWater) source.pause();
      this.pump();
    });
    source.on('end', () => {
      this.ended = true;
      this.pump();
    });
  }

  pump(): void {
    if (this.running || this.link.closed) return;
    this.running = true;
    this.run()
      .catch(() => this.link.close())
      .finally(() => {
        this.running = false;
      });
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0 && !this.link.closed) {
      const item = this.queue.shift() as { data: Buffer; at: number };
      this.queued -= item.data.length;
      if (this.queued <= highWater / 2 && this.source.isPaused()) this.source.resume();
      await this.through(this.link.active(this.stream), 0, item.data, item.at);
    }
    if (this.ended && this.queue.length === 0 && !this.link.closed) {
      this.ended = false;
      const slow = this.link.active(this.stream).find((a) => a.toxic.type === 'slow_close');
      if (slow?.toxic.type === 'slow_close') await this.wait(slow.toxic.attributes.delay);
      if (!this.link.closed) this.dest.end();
    }
  }

  /** Runs `data` through toxics[i..] and writes what comes out. */
  private async through(
    toxics: Array<{ toxic: ToxicSpec; state: ToxicState }>,
    i: number,
    data: Buffer,
    at: number,
  ): Promise<void> {
    if (this.link.closed) return;
    const step = toxics[i];
    if (!step) return this.write(data);
    const next = (out: Buffer) => this.through(toxics, i + 1, out, at);
    const { toxic, state } = step;
    switch (toxic.type) {
      case 'latency': {
        const { latency, jitter } = toxic.attributes;
        const spread = jitter > 0 ? (this.link.random() * 2 - 1) * jitter : 0;
        await this.wait(at + Math.max(0, latency + spread) - Date.now());
        return next(data);
      }
      case 'bandwidth':
        // rate KB/s = rate bytes/ms
        await this.wait(data.length / toxic.attributes.rate);
        return next(data);
      case 'timeout':
        return; // the black hole: nothing goes through while the toxic is in force
      case 'slicer': {
        const { average_size, size_variation, delay: delayUs } = toxic.attributes;
        for (let offset = 0; offset < data.length && !this.link.closed; ) {
          const size = Math.max(1, Math.round(average_size + (this.link.random() * 2 - 1) * size_variation));
          await next(data.subarray(offset, offset + size));
          offset += size;
          if (delayUs > 0 && offset < data.length) await this.wait(delayUs / 1000);
        }
        return;
      }
      case 'limit_data': {
        const allowed = toxic.attributes.bytes - state.bytes;
        const out = allowed >= data.length ? data : data.subarray(0, Math.max(0, allowed));
        state.bytes += out.length;
        if (out.length > 0) await next(out);
        if (state.bytes >= toxic.attributes.bytes) this.link.close();
        return;
      }
      default:
        // reset_peer and slow_close act on the connection, not on its data
        return next(data);
    }
  }

  private async write(data: Buffer): Promise<void> {
    if (this.link.closed || this.dest.destroyed) return;
    if (!this.dest.write(data)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.dest.off('drain', done);
          this.dest.off('close', done);
          resolve();
        };
        this.dest.once('drain', done);
        this.dest.once('close', done);
      });
    }
  }

  private async wait(ms: number): Promise<void> {
    if (ms <= 0) return;
    try {
      await delay(ms, undefined, { signal: this.link.signal });
    } catch {
      // the link closed while waiting: the callers check `closed`
    }
  }
}
