import { type Socket, connect as tcpConnect } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

/**
 * A byte-level MQTT client for conformance tests: writes exact bytes (well-formed packets from
 * mqtt-packet, malformed ones built by hand) and reports what the broker sends back and whether
 * it closed the connection. Every wait is for an event (a packet or the close), never for a time.
 */
export class RawClient {
  readonly #socket: Socket;
  readonly #parser = mqttPacket.parser({ protocolVersion: 4 });
  readonly #packets: Packet[] = [];
  #waiters: (() => void)[] = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#parser.on('packet', (packet: Packet) => {
      this.#packets.push(packet);
      this.#wake();
    });
    socket.on('data', (chunk: Buffer) => this.#parser.parse(chunk));
    // a broker closing the connection may reset it: either way it is closed
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(packet: Packet | Buffer): void {
    if (this.#closed) return;
    this.#socket.write(Buffer.isBuffer(packet) ? packet : mqttPacket.generate(packet));
  }

  /** The next packet the broker sends, or undefined when it closes the connection first. */
  async next(): Promise<Packet | undefined> {
    for (;;) {
      const packet = this.#packets.shift();
      if (packet) return packet;
      if (this.#closed) return undefined;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** The next packet of this kind, skipping others (e.g. deliveries before an acknowledgement). */
  async nextOf<C extends Packet['cmd']>(cmd: C): Promise<Extract<Packet, { cmd: C }> | undefined> {
    for (;;) {
      const packet = await this.next();
      if (!packet || packet.cmd === cmd) return packet as Extract<Packet, { cmd: C }> | undefined;
    }
  }

  /** Resolves with the packets received until the broker closed the connection. */
  async untilClosed(): Promise<Packet[]> {
    const seen: Packet[] = [];
    for (;;) {
      const packet = await this.next();
      if (!packet) return seen;
      seen.push(packet);
    }
  }

  /** Closes without DISCONNECT: for the broker, a network failure (the will is published). */
  drop(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#socket.once('close', () => resolve());
      this.#socket.destroy();
    });
  }

  /** DISCONNECT, then waits for the broker to close [MQTT-3.14.4-1]. */
  async disconnect(): Promise<void> {
    this.send({ cmd: 'disconnect' });
    await this.untilClosed();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

export interface ConnectOptions {
  clientId?: string;
  clean?: boolean;
  keepalive?: number;
  username?: string;
  password?: Buffer;
  will?: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean };
}

/** A well-formed MQTT 3.1.1 CONNECT. */
export function connectPacket(o: ConnectOptions = {}): Packet {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: o.clientId ?? '',
    clean: o.clean ?? true,
    keepalive: o.keepalive ?? 60,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.will ? { will: o.will } : {}),
  };
}

/** Opens a connection and CONNECTs; resolves with the client and its CONNACK. */
export async function connected(port: number, o: ConnectOptions = {}) {
  const client = await RawClient.open(port);
  client.send(connectPacket(o));
  const connack = await client.next();
  if (connack?.cmd !== 'connack' || connack.returnCode !== 0)
    throw new Error(`CONNECT not accepted: ${JSON.stringify(connack)}`);
  return { client, sessionPresent: connack.sessionPresent };
}

/** An MQTT string (section 1.5.3) from raw bytes, however ill-formed. */
export function mqttString(bytes: Buffer | string): Buffer {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const length = Buffer.alloc(2);
  length.writeUInt16BE(b.length);
  return Buffer.concat([length, b]);
}

/** A packet from its first byte and body, with the Remaining Length encoded (section 2.2.3). */
export function rawPacket(firstByte: number, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  const length: number[] = [];
  let n = payload.length;
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit |= 0x80;
    length.push(digit);
  } while (n > 0);
  return Buffer.concat([Buffer.from([firstByte, ...length]), payload]);
}

/** A CONNECT built by hand: protocol name and level, flags, then the payload fields given. */
export function rawConnect(o: { name?: string; level?: number; flags: number; fields: Buffer[] }): Buffer {
  const keepalive = Buffer.from([0, 60]);
  return rawPacket(
    0x10,
    mqttString(o.name ?? 'MQTT'),
    Buffer.from([o.level ?? 4, o.flags]),
    keepalive,
    ...o.fields,
  );
}

/** Ill-formed UTF-8: a lone continuation byte, and a UTF-16 surrogate encoded as UTF-8 (CESU). */
export const badUtf8 = {
  continuation: Buffer.from([0x61, 0x80, 0x62]),
  surrogate: Buffer.from([0x61, 0xed, 0xa0, 0x80]),
};

/** A PUBLISH as mqtt-packet writes it. */
export function publishPacket(
  topic: string,
  payload: string,
  qos: 0 | 1 | 2,
  options: { messageId?: number; retain?: boolean; dup?: boolean } = {},
): Packet {
  return {
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: options.retain ?? false,
    dup: options.dup ?? false,
    ...(options.messageId !== undefined ? { messageId: options.messageId } : {}),
  } as Packet;
}

/** A connected client subscribed to `filters` (each at its QoS), its SUBACK granting them all. */
export async function subscribedClient(
  port: number,
  o: ConnectOptions,
  filters: Record<string, 0 | 1 | 2>,
): Promise<RawClient> {
  const { client } = await connected(port, o);
  const subscriptions = Object.entries(filters).map(([topic, qos]) => ({ topic, qos }));
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions });
  const suback = await client.nextOf('suback');
  const granted = suback?.granted ?? [];
  if (subscriptions.some((s, i) => granted[i] !== s.qos))
    throw new Error(`SUBSCRIBE not granted as asked: ${JSON.stringify(suback)}`);
  return client;
}

type PublishPacket = Extract<Packet, { cmd: 'publish' }>;

/**
 * The PUBLISH packets a client receives until one on `marker` (which is returned last), each
 * acknowledged so that QoS 1 and 2 flows complete. "Nothing arrived" is then an event: a marker
 * published after the thing under test arrived first.
 */
export async function publishesUntil(client: RawClient, marker: string): Promise<PublishPacket[]> {
  const seen: PublishPacket[] = [];
  for (;;) {
    const packet = await client.next();
    if (!packet) throw new Error(`closed before the marker ${marker} (got ${seen.map((p) => p.topic)})`);
    if (packet.cmd === 'pubrel') client.send({ cmd: 'pubcomp', messageId: packet.messageId });
    if (packet.cmd !== 'publish') continue;
    seen.push(packet);
    if (packet.qos === 1) client.send({ cmd: 'puback', messageId: packet.messageId });
    if (packet.qos === 2) client.send({ cmd: 'pubrec', messageId: packet.messageId });
    if (packet.topic === marker) return seen;
  }
}
