import { connect, createServer, type Server, type Socket } from 'node:net';
import { Link } from './link.js';
import { type Stream, type ToxicInput, type ToxicSpec, toxicSchema } from './toxics.js';

export interface FaultProxyOptions {
  /** Where connections go, `host:port` or parts. */
  upstream: string | { host: string; port: number };
  /** Shown in errors and the CLI; default `proxy`. */
  name?: string;
  /** Listening address; loopback by default (test machinery, never exposed). */
  listenHost?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Connecting to the upstream gives up after this long and resets the client; default 5 s. */
  connectTimeoutMs?: number;
  /** For toxicity, jitter and slice sizes; seeded tests pass their own. Default Math.random. */
  random?: () => number;
}

export interface FaultProxyStats {
  connectionsTotal: number;
  connectionsActive: number;
  /** Bytes read from clients (client -> server). */
  bytesUpstream: number;
  /** Bytes read from the upstream (server -> client). */
  bytesDownstream: number;
  /** Connections reset by a `reset_peer` toxic or by `disable()`. */
  resets: number;
  /** Connections whose upstream could not be reached. */
  upstreamFailures: number;
}

/**
 * A TCP proxy in front of one upstream that injects faults with Toxiproxy's toxics (latency,
 * bandwidth, slow_close, timeout, reset_peer, slicer, limit_data), each per direction and with a
 * toxicity; toxics are added and removed while connections are open and apply to those too.
 * `disable()` is Toxiproxy's "down": new connections are refused and open ones are reset.
 */
export class FaultProxy {
  readonly name: string;
  private readonly server: Server;
  private readonly upstream: { host: string; port: number };
  private readonly links = new Set<Link>();
  /** Clients whose upstream connection is still being made. */
  private readonly pending = new Set<Socket>();
  private list: ToxicSpec[] = [];
  private listening = false;
  private boundPort = 0;
  private readonly counters: FaultProxyStats = {
    connectionsTotal: 0,
    connectionsActive: 0,
    bytesUpstream: 0,
    bytesDownstream: 0,
    resets: 0,
    upstreamFailures: 0,
  };

  private constructor(private readonly options: FaultProxyOptions) {
    this.name = options.name ?? 'proxy';
    this.upstream = typeof options.upstream === 'string' ? parseHostPort(options.upstream) : options.upstream;
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) =>
      this.accept(client),
    );
    this.server.on('error', () => {
      // listen errors reach start()/enable() through their callbacks; nothing else is fatal
    });
  }

  /** Starts listening (loopback, port 0 unless told). */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await proxy.listen(options.port ?? 0);
    return proxy;
  }

  get host(): string {
    return this.options.listenHost ?? '127.0.0.1';
  }

  get port(): number {
    return this.boundPort;
  }

  /** `host:port` clients should connect to. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get enabled(): boolean {
    return this.listening;
  }

  stats(): FaultProxyStats {
    return { ...this.counters, connectionsActive: this.links.size };
  }

  toxics(): readonly ToxicSpec[] {
    return this.list;
  }

  /** Adds a toxic (validated; a name defaults to `<type>_<stream>`); it applies to open connections too. */
  addToxic(input: ToxicInput): ToxicSpec {
    const parsed = toxicSchema.parse(input);
    const name = parsed.name ?? `${parsed.type}_${parsed.stream}`;
    if (this.list.some((t) => t.name === name))
      throw new Error(`${this.name}: toxic "${name}" already exists`);
    const toxic = { ...parsed, name } as ToxicSpec;
    this.list = [...this.list, toxic];
    this.resync();
    return toxic;
  }

  removeToxic(name: string): void {
    const before = this.list.length;
    this.list = this.list.filter((t) => t.name !== name);
    if (this.list.length === before) throw new Error(`${this.name}: no toxic "${name}"`);
    this.resync();
  }

  /** Removes every toxic (Toxiproxy's reset). */
  clearToxics(): void {
    this.list = [];
    this.resync();
  }

  /** Down: stops listening (new connections are refused) and resets every open connection. */
  async disable(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const link of [...this.links]) {
      this.counters.resets++;
      link.reset(false);
    }
    for (const client of [...this.pending]) {
      this.counters.resets++;
      client.resetAndDestroy();
    }
    await closed;
  }

  /** Up again, on the same port. */
  async enable(): Promise<void> {
    if (this.listening) return;
    await this.listen(this.boundPort);
  }

  async close(): Promise<void> {
    await this.disable();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, this.host, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        if (address && typeof address === 'object') this.boundPort = address.port;
        this.listening = true;
        resolve();
      });
    });
  }

  private resync(): void {
    for (const link of this.links) link.sync();
  }

  private accept(client: Socket): void {
    this.counters.connectionsTotal++;
    client.on('error', () => {
      // before the link exists a client error only ends this connection
    });
    this.pending.add(client);
    client.once('close', () => this.pending.delete(client));
    const upstream = connect({ ...this.upstream, allowHalfOpen: true, noDelay: true });
    // slices and small delayed chunks must leave as they are, not be merged by Nagle
    client.setNoDelay(true);
    const connectTimer = setTimeout(
      () => upstream.destroy(new Error('upstream connect timeout')),
      this.options.connectTimeoutMs ?? 5_000,
    );
    upstream.once('error', () => {
      clearTimeout(connectTimer);
      if (upstream.connecting || !upstream.remoteAddress) {
        this.pending.delete(client);
        this.counters.upstreamFailures++;
        if (!client.destroyed) client.resetAndDestroy();
      }
    });
    upstream.once('connect', () => {
      clearTimeout(connectTimer);
      this.pending.delete(client);
      if (client.destroyed || !this.listening) {
        upstream.destroy();
        if (!client.destroyed) client.resetAndDestroy();
        return;
      }
      const link = new Link(
        client,
        upstream,
        {
          toxics: () => this.list,
          random: this.options.random ?? Math.random,
          counted: (event, stream?: Stream, bytes = 0) => {
            if (event === 'reset') this.counters.resets++;
            if (event === 'bytes') {
              if (stream === 'upstream') this.counters.bytesUpstream += bytes;
              else this.counters.bytesDownstream += bytes;
            }
          },
        },
        (done) => this.links.delete(done),
      );
      this.links.add(link);
      client.resume();
    });
  }
}

export function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  return FaultProxy.start(options);
}

export function parseHostPort(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  const host = text.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new Error(`"${text}" is not host:port`);
  }
  return { host, port };
}
