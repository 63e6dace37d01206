import { type Socket, connect as tcpConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';

/** A PUBLISH encoded once; each send copies it and writes its packet id in place. */
interface Template {
  topic: string;
  bytes: Buffer;
  idOffset: number;
}

/**
 * A minimal MQTT 3.1.1 client for load generation: CONNECT, pipelined QoS 1 PUBLISH with a
 * window of unacknowledged messages, PUBACK counting. Much cheaper per message than a full
 * client, so the broker, not the generator, is what gets measured: each payload is encoded once,
 * and the PUBLISHes issued in one turn of the event loop (say, answering the PUBACKs of one read)
 * leave in one write. The same code drives Mosquitto and the gateway.
 */
export class RawClient {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  #connack: ((code: number) => void) | undefined;
  #nextId = 1;
  readonly #templates = new WeakMap<Buffer, Template>();
  #pending: { template: Template; id: number }[] = [];
  #pendingBytes = 0;
  inflight = 0;
  acked = 0;
  onAck: (() => void) | undefined;
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.#connack?.(-1);
    });
    socket.on('error', () => undefined);
  }

  static async connect(
    port: number,
    options: { clientId: string; username?: string; password?: string; keepalive?: number },
  ): Promise<RawClient> {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    const code = await new Promise<number>((resolve) => {
      client.#connack = resolve;
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId: options.clientId,
          keepalive: options.keepalive ?? 0,
          ...(options.username ? { username: options.username } : {}),
          ...(options.password ? { password: Buffer.from(options.password) } : {}),
        }),
      );
    });
    if (code !== 0) {
      socket.destroy();
      throw new Error(`CONNACK ${code} for ${options.clientId}`);
    }
    return client;
  }

  /** Queues one QoS 1 PUBLISH (ids cycle through 1..65535), written with the others of this turn. */
  publish(topic: string, payload: Buffer): void {
    const id = this.#nextId;
    this.#nextId = this.#nextId === 65535 ? 1 : this.#nextId + 1;
    this.inflight++;
    const template = this.#template(topic, payload);
    if (this.#pending.length === 0) queueMicrotask(() => this.#flush());
    this.#pending.push({ template, id });
    this.#pendingBytes += template.bytes.length;
  }

  #template(topic: string, payload: Buffer): Template {
    const known = this.#templates.get(payload);
    if (known?.topic === topic) return known;
    const bytes = mqttPacket.generate({
      cmd: 'publish',
      topic,
      payload,
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
    });
    // fixed header (type byte, remaining length), then the topic (2-byte length + UTF-8), then the id
    let header = 1;
    while (bytes[header]! & 0x80) header++;
    const template = { topic, bytes, idOffset: header + 1 + 2 + Buffer.byteLength(topic) };
    this.#templates.set(payload, template);
    return template;
  }

  #flush(): void {
    const out = Buffer.allocUnsafe(this.#pendingBytes);
    let at = 0;
    for (const { template, id } of this.#pending) {
      template.bytes.copy(out, at);
      out.writeUInt16BE(id, at + template.idOffset);
      at += template.bytes.length;
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    if (!this.closed) this.socket.write(out);
  }

  close(): void {
    this.socket.destroy();
  }

  #read(chunk: Buffer): void {
    let buf = this.#buffer.length > 0 ? Buffer.concat([this.#buffer, chunk]) : chunk;
    for (;;) {
      if (buf.length < 2) break;
      let length = 0;
      let multiplier = 1;
      let i = 1;
      let complete = false;
      for (; i < 5 && i < buf.length; i++) {
        const byte = buf[i]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || buf.length < i + 1 + length) break;
      const type = buf[0]! >> 4;
      if (type === 2) this.#connack?.(buf[i + 2] ?? -1);
      else if (type === 4) {
        this.inflight--;
        this.acked++;
        this.onAck?.();
      }
      buf = buf.subarray(i + 1 + length);
    }
    this.#buffer = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }
}
