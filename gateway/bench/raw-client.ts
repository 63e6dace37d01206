import { type Socket, connect as tcpConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';

/**
 * A minimal MQTT 3.1.1 client for load generation: CONNECT, pipelined QoS 1 PUBLISH with a
 * window of unacknowledged messages, PUBACK counting. Much cheaper per message than a full
 * client, so the broker, not the generator, is what gets measured. The same code drives
 * Mosquitto and the gateway.
 */
export class RawClient {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  #connack: ((code: number) => void) | undefined;
  #nextId = 1;
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

  /** Sends one QoS 1 PUBLISH (ids cycle through 1..65535). */
  publish(topic: string, payload: Buffer): void {
    const messageId = this.#nextId;
    this.#nextId = this.#nextId === 65535 ? 1 : this.#nextId + 1;
    this.inflight++;
    this.socket.write(
      mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 1, messageId, retain: false, dup: false }),
    );
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
