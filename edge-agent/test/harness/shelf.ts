import { randomInt } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  capability,
  commandOpcode,
  encodeFrame,
  FrameDecoder,
  type ReadingsMessage,
  type ShelfMessage,
} from '@bitv/shared/shelf-link';
import { SerialPort } from 'serialport';

export interface ProducedReading {
  linkSeq: number;
  deviceTimeMs: number;
  weightsDg: number[];
}

export interface TestShelfOptions {
  /** Announce `replay`: keep readings until STORED, send them again after request_hello. */
  replay?: boolean;
}

/**
 * A scripted shelf controller for the agent's integration tests: speaks the shelf link with the
 * shared codec, streams READINGS with known contents, answers request_hello (ACK, HELLO) and
 * commands (ACK; NACK invalid_bin for a bin it lacks). With `replay` it keeps every reading until
 * a STORED covers it and answers request_hello with ACK, HELLO, HEARTBEAT and the kept readings
 * (docs/shelf-link.md [SL-REPLAY-1..3]).
 *
 * On the device side of a pty (`devicePath`): the kernel keeps what it writes while no host has
 * the port open. Without `devicePath` it serves TCP (`hostPath` is `tcp://127.0.0.1:<port>`) and
 * loses its output as USB CDC does: what it writes while no host is connected is discarded
 * (counted in `discarded`), and what was in flight when a host died is gone with the socket.
 */
export class TestShelf {
  readonly produced: ProducedReading[] = [];
  readonly commands: ShelfMessage[] = [];
  /** Frames written while no host was connected (TCP only): lost. */
  discarded = 0;
  /** Readings sent again after request_hello. */
  replayed = 0;
  /** false: STOREDs are lost on the way (the shelf keeps, and replays, what the host stored). */
  honourStored = true;
  readonly bootId = randomInt(1, 0x1_0000_0000);
  private port: SerialPort | undefined;
  private server: Server | undefined;
  private socket: Socket | undefined;
  private tcpPort = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private heart: NodeJS.Timeout | undefined;
  private deviceTimeMs = 0;
  private rateMilliHz = 10_000;
  private decoder = new FrameDecoder();
  private readonly replay: boolean;
  /** [SL-REPLAY-1] readings sent and not yet covered by a STORED, oldest first. */
  private kept: ReadingsMessage[] = [];

  constructor(
    readonly serialNumber: string,
    readonly bins: number,
    private readonly devicePath?: string,
    options: TestShelfOptions = {},
  ) {
    this.replay = options.replay ?? false;
  }

  /** What the agent opens: the pty's host side is the caller's; this is the TCP address. */
  get hostPath(): string {
    return `tcp://127.0.0.1:${this.tcpPort}`;
  }

  /** A host is connected (TCP). */
  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  /** Stored readings the shelf still keeps for replay. */
  get keptReadings(): number {
    return this.kept.length;
  }

  async open(): Promise<void> {
    if (this.devicePath) await this.openPty(this.devicePath);
    else await this.listen();
    this.heart = setInterval(() => this.send({ type: 'heartbeat', timeMs: this.deviceTimeMs }), 1000);
  }

  private async openPty(path: string): Promise<void> {
    const port = new SerialPort({ path, baudRate: 115_200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    this.port = port;
    port.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  private async listen(): Promise<void> {
    const server = createServer((socket) => {
      // One host at a time, like a serial line: a new connection replaces the old one.
      this.socket?.destroy();
      this.socket = socket;
      this.decoder = new FrameDecoder();
      socket.setNoDelay(true);
      socket.on('data', (chunk) => this.receive(chunk));
      socket.on('error', () => socket.destroy()); // the host died; its 'close' clears it below
      socket.on('close', () => {
        if (this.socket === socket) this.socket = undefined;
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.tcpPort = (server.address() as { port: number }).port;
    this.server = server;
  }

  private receive(chunk: Uint8Array): void {
    for (const f of this.decoder.push(chunk)) this.onFrame(f.seq, f.message);
  }

  /** Streams one READINGS frame every `intervalMs` (device time advances by the same). */
  stream(intervalMs: number): void {
    this.rateMilliHz = Math.round(1_000_000 / intervalMs);
    this.timer = setInterval(() => this.emitReading(intervalMs), intervalMs);
  }

  stopStreaming(): void {
    clearInterval(this.timer);
  }

  emitReading(stepMs = 100): void {
    this.deviceTimeMs += stepMs;
    const n = this.produced.length;
    const weightsDg = Array.from({ length: this.bins }, (_, b) => n * 10 + b);
    const readings: ReadingsMessage = {
      type: 'readings',
      deviceTimeMs: this.deviceTimeMs,
      temperatureCentiC: 2150,
      weightsDg,
      binFlags: weightsDg.map(() => 1),
    };
    if (this.replay) this.kept.push(readings);
    const linkSeq = this.send(readings);
    this.produced.push({ linkSeq, deviceTimeMs: this.deviceTimeMs, weightsDg });
  }

  /** Drops the `n` oldest kept readings, as a full store would [SL-REPLAY-4]. */
  evictOldest(n: number): void {
    this.kept.splice(0, n);
  }

  /** Consumes `n` link sequence numbers without sending (frames lost on the wire). */
  skipFrames(n: number): void {
    this.seq = (this.seq + n) & 0xffff;
  }

  writeRaw(bytes: Uint8Array): void {
    if (this.port) this.port.write(Buffer.from(bytes));
    else if (this.socket && !this.socket.destroyed) this.socket.write(bytes);
    else this.discarded++;
  }

  private send(message: ShelfMessage): number {
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    this.writeRaw(encodeFrame(message, seq));
    return seq;
  }

  private onFrame(seq: number, m: ShelfMessage): void {
    if (m.type === 'stored') {
      // [SL-STORED-2] only this boot's; everything up to that device time is the host's now.
      if (this.replay && this.honourStored && m.bootId === this.bootId) {
        const n = this.kept.findIndex((r) => r.deviceTimeMs > m.deviceTimeMs);
        this.kept.splice(0, n === -1 ? this.kept.length : n);
      }
      return;
    }
    if (m.type !== 'command') return;
    this.commands.push(m);
    const opcode = commandOpcode[m.command.op];
    // This stand-in has no `group_led` (its HELLO says so): the opcode is unknown to it [SL-LED-2].
    if (m.command.op === 'set_leds') {
      this.send({ type: 'nack', commandSeq: seq, opcode, reason: 'unknown_opcode' });
      return;
    }
    if ('bin' in m.command && m.command.bin !== 255 && m.command.bin >= this.bins) {
      this.send({ type: 'nack', commandSeq: seq, opcode, reason: 'invalid_bin' });
      return;
    }
    this.send({ type: 'ack', commandSeq: seq, opcode });
    if (m.command.op === 'request_hello') {
      this.send({
        type: 'hello',
        protocolVersion: 1,
        firmwareVersion: '1.0.0',
        serialNumber: this.serialNumber,
        binCount: this.bins,
        capabilities: 0x1f | (this.replay ? capability.replay : 0),
        sampleRateMilliHz: this.rateMilliHz,
        bootReason: 'power_on',
        ...(this.replay ? { bootId: this.bootId } : {}),
      });
      if (this.replay) {
        // [SL-REPLAY-3] the clock, then every kept reading again as new frames, oldest first.
        this.send({ type: 'heartbeat', timeMs: this.deviceTimeMs });
        for (const r of this.kept) this.send(r);
        this.replayed += this.kept.length;
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.heart);
    const p = this.port;
    this.port = undefined;
    if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
    this.socket?.destroy();
    this.socket = undefined;
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
