import { createHash } from 'node:crypto';
import type {
  BootReason,
  NackReason,
  OtaBeginMessage,
  OtaChunkMessage,
  OtaEndMessage,
  OtaReason,
  OtaResult,
  OtaStatusMessage,
  ShelfMessage,
} from '@bitv/shared/shelf-link';
import { crc16, messageType } from '@bitv/shared/shelf-link';
import type { Timer } from '../clock/scheduler.js';
import { buildSimImage, readSimImage } from './image.js';

/** What the firmware lends the update logic. */
export interface OtaFirmwareHooks {
  after(ms: number, fn: () => void): Timer;
  send(m: ShelfMessage): void;
  ack(seq: number, opcode: number): void;
  nack(seq: number, opcode: number, reason: NackReason): void;
  /** READINGS kept and not yet covered by a STORED [SL-REPLAY-1]. */
  unstoredReadings(): number;
  /** Stops taking samples until the next boot (the flush before an update reboot). */
  stopSampling(): void;
  reboot(reason: BootReason): void;
}

export interface OtaOptions {
  /** Largest image a slot holds. */
  slotBytes: number;
  /** From the trial boot to its health check [SL-OTA-5]. */
  healthCheckMs: number;
  /** Longest wait for the host to store kept readings before an update reboot [SL-OTA-5]. */
  flushTimeoutMs: number;
}

export const defaultOtaOptions: OtaOptions = {
  slotBytes: 4 * 1024 * 1024,
  healthCheckMs: 3_000,
  flushTimeoutMs: 5_000,
};

interface Slot {
  version: string;
  image: Uint8Array;
}

interface Receiving {
  size: number;
  sha256: string;
  version: string;
  buffer: Uint8Array;
  received: number;
}

/**
 * The controller's two flash slots and its bootloader (docs/shelf-link.md [SL-OTA-1..8]): receives
 * an image into the inactive slot, checks it, reboots into it on trial, commits it after a passed
 * health check, and otherwise boots the untouched previous slot again and says why.
 */
export class OtaSlots {
  private readonly slots: [Slot | undefined, Slot | undefined];
  /** The committed slot: what a plain boot starts. */
  private committed: 0 | 1 = 0;
  /** The slot running now (differs from `committed` during a trial). */
  private running: 0 | 1 = 0;
  /** Set by an ACKed commit: the next boot is a trial of this slot. */
  private bootNext: 0 | 1 | undefined;
  private trial = false;
  private receiving: Receiving | undefined;
  private lastResult: OtaResult = 'none';
  private lastReason: OtaReason = 'none';
  private healthTimer: Timer | undefined;
  private rebooting = false;
  /**
   * A board fault the next trials run into: whatever the image, its health check fails (a sensor
   * the new firmware's self-test rejects). Lets a test pick which controllers of a rollout fail
   * while every one receives the same release.
   */
  failHealthChecks = false;
  /** Bumped when the MCU stops (power cut, reboot): a pending flush wait of an older run ends. */
  private epoch = 0;
  readonly options: OtaOptions;

  constructor(
    firmwareVersion: string,
    private readonly hooks: OtaFirmwareHooks,
    options: Partial<OtaOptions> = {},
  ) {
    this.options = { ...defaultOtaOptions, ...options };
    this.slots = [
      { version: firmwareVersion, image: buildSimImage({ version: firmwareVersion, selfTest: 'pass' }) },
      undefined,
    ];
  }

  /** The version HELLO reports: the running slot's. */
  get version(): string {
    return this.slots[this.running]!.version;
  }

  /**
   * The bootloader, at every boot: picks the slot and may change the boot reason. A trial that
   * did not end in a passed health check (power cut, watchdog) falls back to the committed slot.
   */
  boot(reason: BootReason): BootReason {
    this.halt();
    this.rebooting = false;
    if (this.bootNext !== undefined) {
      this.running = this.bootNext;
      this.bootNext = undefined;
      this.trial = true;
      return 'update';
    }
    if (this.trial) {
      // The trial slot never passed its check: the bootloader goes back to the committed one.
      this.trial = false;
      this.running = this.committed;
      if (reason !== 'rollback') this.finish('rolled_back', 'power_loss');
      return 'rollback';
    }
    this.running = this.committed;
    return reason;
  }

  /** The MCU stopped (power cut, reset): its timers are gone; flash state stays. */
  halt(): void {
    this.healthTimer?.cancel();
    this.healthTimer = undefined;
    this.epoch++;
  }

  /** After the boot's HELLO: report, and start the trial's health check. */
  afterHello(): void {
    this.status();
    if (!this.trial) return;
    const header = readSimImage(this.slots[this.running]!.image);
    if (!header) {
      this.fail('boot_failed');
      return;
    }
    this.healthTimer = this.hooks.after(this.options.healthCheckMs, () => {
      this.healthTimer = undefined;
      if (header.selfTest === 'pass' && !this.failHealthChecks) {
        this.committed = this.running;
        this.trial = false;
        this.finish('success', 'none');
        this.status();
      } else this.fail('health_check');
    });
  }

  /** Handles an OTA frame; the answer (ACK/NACK, OTA_STATUS) goes out through the hooks. */
  onFrame(seq: number, m: OtaBeginMessage | OtaChunkMessage | OtaEndMessage): void {
    const opcode = messageType[m.type];
    if (this.trial || this.rebooting) {
      this.hooks.nack(seq, opcode, 'busy');
      return;
    }
    switch (m.type) {
      case 'ota_begin':
        this.begin(seq, opcode, m);
        return;
      case 'ota_chunk':
        this.chunk(seq, opcode, m);
        return;
      case 'ota_end':
        this.end(seq, opcode, m);
        return;
    }
  }

  private begin(seq: number, opcode: number, m: OtaBeginMessage): void {
    if (m.size > this.options.slotBytes) {
      this.hooks.nack(seq, opcode, 'invalid_argument');
      return;
    }
    const r = this.receiving;
    // [SL-OTA-2] the same image again: a resumed transfer keeps what arrived.
    if (!r || r.sha256 !== m.sha256 || r.size !== m.size || r.version !== m.version) {
      this.receiving = {
        size: m.size,
        sha256: m.sha256,
        version: m.version,
        buffer: new Uint8Array(m.size),
        received: 0,
      };
      this.slots[this.inactive] = undefined; // erased
    }
    this.hooks.ack(seq, opcode);
    this.status();
  }

  private chunk(seq: number, opcode: number, m: OtaChunkMessage): void {
    const r = this.receiving;
    if (!r || m.offset !== r.received || m.offset + m.data.length > r.size) {
      this.hooks.nack(seq, opcode, 'invalid_argument');
      return;
    }
    r.buffer.set(m.data, m.offset);
    // Read back what flash holds now and compare with the host's CRC [SL-OTA-3].
    if (crc16(r.buffer, m.offset, m.offset + m.data.length) !== m.crc) {
      this.hooks.nack(seq, opcode, 'malformed');
      return;
    }
    r.received += m.data.length;
    this.hooks.ack(seq, opcode);
  }

  private end(seq: number, opcode: number, m: OtaEndMessage): void {
    const r = this.receiving;
    if (m.action === 'abort') {
      this.receiving = undefined;
      this.finish('aborted', 'host_abort');
      this.hooks.ack(seq, opcode);
      this.status();
      return;
    }
    if (!r || r.received !== r.size) {
      if (r) this.lastReason = 'incomplete';
      this.hooks.nack(seq, opcode, 'invalid_argument');
      this.status();
      return;
    }
    if (createHash('sha256').update(r.buffer).digest('hex') !== r.sha256) {
      this.receiving = undefined;
      this.finish('refused', 'digest');
      this.hooks.nack(seq, opcode, 'invalid_argument');
      this.status();
      return;
    }
    this.slots[this.inactive] = { version: r.version, image: r.buffer };
    this.receiving = undefined;
    this.bootNext = this.inactive;
    this.hooks.ack(seq, opcode);
    this.status();
    this.flushThenReboot('update');
  }

  private fail(reason: OtaReason): void {
    this.finish('rolled_back', reason);
    this.trial = false;
    this.flushThenReboot('rollback');
  }

  /** [SL-OTA-5] no kept reading may die with the RAM: wait until the host stored them all. */
  private flushThenReboot(reason: BootReason): void {
    this.rebooting = true;
    this.hooks.stopSampling();
    const deadline = this.options.flushTimeoutMs;
    const epoch = this.epoch;
    let waited = 0;
    const check = () => {
      if (epoch !== this.epoch) return;
      if (this.hooks.unstoredReadings() === 0 || waited >= deadline) {
        this.hooks.reboot(reason);
        return;
      }
      waited += 50;
      this.hooks.after(50, check);
    };
    check();
  }

  private finish(result: OtaResult, reason: OtaReason): void {
    this.lastResult = result;
    this.lastReason = reason;
  }

  private get inactive(): 0 | 1 {
    return this.running === 0 ? 1 : 0;
  }

  statusMessage(): OtaStatusMessage {
    return {
      type: 'ota_status',
      activeSlot: this.running,
      state: this.trial ? 'trial' : this.receiving ? 'receiving' : 'idle',
      activeVersion: this.version,
      otherVersion: this.slots[this.inactive]?.version ?? '',
      received: this.receiving?.received ?? 0,
      lastResult: this.lastResult,
      lastReason: this.lastReason,
    };
  }

  private status(): void {
    this.hooks.send(this.statusMessage());
  }
}
