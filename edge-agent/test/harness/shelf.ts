import { encodeFrame, FrameDecoder, type ShelfMessage } from '@bitv/shared/shelf-link';
import { SerialPort } from 'serialport';

export interface ProducedReading {
  linkSeq: number;
  deviceTimeMs: number;
  weightsDg: number[];
}

/**
 * A scripted shelf controller for the agent's integration tests: speaks the shelf link with the
 * shared codec on the device side of a pty, streams READINGS with known contents, answers
 * request_hello (ACK, HELLO) and commands (ACK; NACK invalid_bin for a bin it lacks).
 */
export class TestShelf {
  readonly produced: ProducedReading[] = [];
  readonly commands: ShelfMessage[] = [];
  private port: SerialPort | undefined;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private heart: NodeJS.Timeout | undefined;
  private deviceTimeMs = 0;
  private readonly decoder = new FrameDecoder();

  constructor(
    readonly serialNumber: string,
    readonly bins: number,
    private readonly devicePath: string,
  ) {}

  async open(): Promise<void> {
    const port = new SerialPort({ path: this.devicePath, baudRate: 115_200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      for (const f of this.decoder.push(chunk)) this.onFrame(f.seq, f.message);
    });
    this.heart = setInterval(() => this.send({ type: 'heartbeat', timeMs: this.deviceTimeMs }), 1000);
  }

  /** Streams one READINGS frame every `intervalMs` (device time advances by the same). */
  stream(intervalMs: number): void {
    this.timer = setInterval(() => this.emitReading(intervalMs), intervalMs);
  }

  stopStreaming(): void {
    clearInterval(this.timer);
  }

  emitReading(stepMs = 100): void {
    this.deviceTimeMs += stepMs;
    const n = this.produced.length;
    const weightsDg = Array.from({ length: this.bins }, (_, b) => n * 10 + b);
    const linkSeq = this.send({
      type: 'readings',
      deviceTimeMs: this.deviceTimeMs,
      temperatureCentiC: 2150,
      weightsDg,
      binFlags: weightsDg.map(() => 1),
    });
    this.produced.push({ linkSeq, deviceTimeMs: this.deviceTimeMs, weightsDg });
  }

  /** Consumes `n` link sequence numbers without sending (frames lost on the wire). */
  skipFrames(n: number): void {
    this.seq = (this.seq + n) & 0xffff;
  }

  writeRaw(bytes: Uint8Array): void {
    this.port?.write(Buffer.from(bytes));
  }

  private send(message: ShelfMessage): number {
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    this.port?.write(Buffer.from(encodeFrame(message, seq)));
    return seq;
  }

  private onFrame(seq: number, m: ShelfMessage): void {
    if (m.type !== 'command') return;
    this.commands.push(m);
    const opcode = {
      tare: 1,
      calibrate: 2,
      set_led: 3,
      set_sample_rate: 4,
      reboot: 5,
      identify: 6,
      request_hello: 7,
    }[m.command.op];
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
        capabilities: 0x1f,
        sampleRateMilliHz: 10_000,
        bootReason: 'power_on',
      });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.heart);
    const p = this.port;
    this.port = undefined;
    if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
  }
}
