import type { Logger } from '@bitv/shared';
import { ValidationError } from '@bitv/shared';
import type { Random } from '@bitv/shared/random';
import { encodeFrame } from '@bitv/shared/shelf-link';
import type { Scheduler } from '../clock/scheduler.js';
import type { DeviceLink } from '../transport/link.js';
import { ShelfFirmware } from './firmware.js';
import type { ShelfState } from './state-file.js';
import type { LedState, ShelfOptions, ShelfSnapshot } from './types.js';

/** What tests, the control API and the launcher get for each simulated shelf. */
export interface SimulatedShelfHandle {
  readonly serialNumber: string;
  /** What the host opens: a pty path or `tcp://host:port`. */
  readonly path: string;
  readonly bins: number;
  /** Takes `count` items off `bin` (a hand rests on the shelf for `handMs`); returns how many were taken. */
  pick(bin: number, count: number, handMs?: number): number;
  restock(bin: number, count: number, handMs?: number): number;
  /** The bin's LED as the firmware last set it (pick-to-light). */
  led(bin: number): LedState;
  snapshot(): ShelfSnapshot;
  unplug(): Promise<void>;
  replug(): Promise<void>;
  /** Writes `n` random bytes onto the link (line noise). */
  injectGarbage(n: number): void;
  /** Writes the first half of a valid frame and stops (a frame cut by a reset). */
  cutFrame(): void;
  stall(durationMs: number): void;
  setCellDead(bin: number, dead: boolean): void;
  clockJump(deltaMs: number): void;
  brownOut(millivolts?: number): void;
  tamper(bin?: number): void;
  /** From now on every trial boot fails its health check and rolls back [SL-OTA-6]. */
  failHealthChecks(fail: boolean): void;
}

/** One simulated controller: firmware, physics and the link it talks over. */
export class SimulatedShelf implements SimulatedShelfHandle {
  readonly firmware: ShelfFirmware;
  /** Called when something a power cycle keeps changed (goods, tare, calibration, sample rate). */
  onPersistentChange: (() => void) | undefined;
  private plugging: Promise<void> | undefined;

  constructor(
    options: ShelfOptions,
    readonly link: DeviceLink,
    private readonly scheduler: Scheduler,
    private readonly random: Random,
    private readonly logger: Logger,
    /**
     * Boot ids [SL-REPLAY-1]; default crypto random, so a restarted simulator never repeats one a
     * host has stored readings under. Tests that compare bytes across runs pass a seeded source.
     */
    newBootId?: () => number,
  ) {
    this.firmware = new ShelfFirmware(options, {
      scheduler,
      random,
      transmit: (bytes) => link.write(bytes),
      onPersistentChange: () => this.onPersistentChange?.(),
      ...(newBootId ? { newBootId } : {}),
    });
    link.onData((chunk) => this.firmware.receive(chunk));
    link.onError((error) => {
      this.logger.warn({ err: error, shelf: this.serialNumber }, 'shelf link broke; power cycling it');
      void this.unplug()
        .then(() => this.replug())
        .catch((e: unknown) => this.logger.error({ err: e, shelf: this.serialNumber }, 'replug failed'));
    });
  }

  get serialNumber(): string {
    return this.firmware.options.serialNumber;
  }

  get path(): string {
    return this.link.path;
  }

  get bins(): number {
    return this.firmware.bins.length;
  }

  /** Connects and powers on (USB cable in: the MCU boots). */
  async start(): Promise<void> {
    await this.link.plug();
    this.firmware.powerOn('power_on');
  }

  private bin(bin: number) {
    const b = this.firmware.bins[bin];
    if (!b) throw new ValidationError(`shelf ${this.serialNumber} has no bin ${bin}`);
    return b;
  }

  pick(bin: number, count: number, handMs = 600): number {
    const moved = -this.bin(bin).cell.change(this.scheduler.now(), -count, handMs);
    this.onPersistentChange?.();
    return moved;
  }

  restock(bin: number, count: number, handMs = 1200): number {
    const moved = this.bin(bin).cell.change(this.scheduler.now(), count, handMs);
    this.onPersistentChange?.();
    return moved;
  }

  /** What a power cycle keeps (for the simulation's state file). */
  persistentState(): ShelfState {
    return this.firmware.persistentState();
  }

  /** Takes back a saved state; call before `start()` (the controller boots with it). */
  restore(state: ShelfState): void {
    this.firmware.restore(state);
  }

  led(bin: number): LedState {
    this.bin(bin);
    return { ...this.firmware.leds[bin]! };
  }

  snapshot(): ShelfSnapshot {
    return this.firmware.snapshot();
  }

  async unplug(): Promise<void> {
    await this.plugging;
    this.firmware.powerOff();
    await this.link.unplug();
  }

  async replug(): Promise<void> {
    if (this.link.plugged) return;
    this.plugging = this.link.plug();
    try {
      await this.plugging;
    } finally {
      this.plugging = undefined;
    }
    this.firmware.powerOn('power_on');
  }

  injectGarbage(n: number): void {
    this.firmware.transmitRaw(this.random.bytes(n));
  }

  cutFrame(): void {
    const f = encodeFrame(
      { type: 'heartbeat', timeMs: this.firmware.deviceTimeMs },
      this.random.int(0, 0xffff),
    );
    this.firmware.transmitRaw(f.subarray(0, Math.max(2, f.length >> 1)));
  }

  stall(durationMs: number): void {
    this.firmware.stall(durationMs);
  }

  setCellDead(bin: number, dead: boolean): void {
    this.bin(bin).cell.dead = dead;
  }

  clockJump(deltaMs: number): void {
    this.firmware.clockJump(deltaMs);
  }

  brownOut(millivolts = 4100): void {
    this.firmware.brownOut(millivolts);
  }

  tamper(bin?: number): void {
    if (bin !== undefined) this.bin(bin);
    this.firmware.event('tamper', bin ?? null, 0);
  }

  failHealthChecks(fail: boolean): void {
    if (this.firmware.ota) this.firmware.ota.failHealthChecks = fail;
  }

  async close(): Promise<void> {
    this.firmware.powerOff();
    await this.link.close();
  }
}
