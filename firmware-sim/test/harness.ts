import { Random } from '@bitv/shared/random';
import {
  type Command,
  type DecodedFrame,
  encodeFrame,
  FrameDecoder,
  type ShelfMessage,
} from '@bitv/shared/shelf-link';
import { Scheduler } from '../src/clock/scheduler.js';
import { ShelfFirmware } from '../src/shelf/firmware.js';
import type { ShelfOptions } from '../src/shelf/types.js';

/**
 * A firmware on a virtual clock with no transport: the test plays the host, feeding frames in
 * and decoding what comes out, and advances time explicitly (fully deterministic).
 */
export class FirmwareHarness {
  readonly scheduler = new Scheduler({ speed: 1 });
  readonly firmware: ShelfFirmware;
  readonly out: Uint8Array[] = [];
  readonly decoder = new FrameDecoder();
  readonly frames: DecodedFrame[] = [];
  /** false: the host is not reading, the link refuses every write (USB CDC with the port closed). */
  accepting = true;
  private hostSeq = 0;

  constructor(options: Partial<ShelfOptions> = {}, seed = 7) {
    this.firmware = new ShelfFirmware(
      {
        serialNumber: 'T0001',
        firmwareVersion: '1.4.2',
        bins: [
          { unitWeightG: 250, count: 10 },
          { unitWeightG: 35, count: 40 },
          { unitWeightG: 1000, count: 3 },
        ],
        sampleRateHz: 10,
        temperatureC: 21,
        bootMs: 250,
        heartbeatMs: 1000,
        ...options,
      },
      {
        scheduler: this.scheduler,
        random: Random.derive(seed, 'shelf-0'),
        newBootId: (() => {
          const ids = Random.derive(seed, 'boot-ids');
          return () => ids.int(1, 0xffff_ffff);
        })(),
        transmit: (bytes) => {
          if (!this.accepting) return false;
          this.out.push(bytes);
          this.frames.push(...this.decoder.push(bytes));
          return true;
        },
      },
    );
  }

  run(ms: number): void {
    this.scheduler.advanceTo(this.scheduler.now() + ms);
  }

  /** Sends a command; returns its frame sequence number. */
  command(command: Command): number {
    const seq = this.hostSeq++;
    this.firmware.receive(encodeFrame({ type: 'command', command }, seq));
    return seq;
  }

  /** Sends any host frame (HEARTBEAT, STORED); returns its sequence number. */
  send(message: ShelfMessage): number {
    const seq = this.hostSeq++;
    this.firmware.receive(encodeFrame(message, seq));
    return seq;
  }

  messages<T extends ShelfMessage['type']>(type: T): Extract<ShelfMessage, { type: T }>[] {
    return this.frames
      .map((f) => f.message)
      .filter((m): m is Extract<ShelfMessage, { type: T }> => m.type === type);
  }

  lastReadings() {
    const r = this.messages('readings').at(-1);
    if (!r) throw new Error('no readings yet');
    return r;
  }

  answerTo(seq: number) {
    return this.frames
      .map((f) => f.message)
      .find((m) => (m.type === 'ack' || m.type === 'nack') && m.commandSeq === seq);
  }
}
