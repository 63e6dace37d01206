import { randomInt } from 'node:crypto';
import type { Random } from '@bitv/shared/random';
import {
  type BadFrame,
  type BootReason,
  type Command,
  type CommandOp,
  capability,
  commandOpcode,
  commandTimeoutMs,
  type EventKind,
  encodeFrame,
  FrameDecoder,
  messageType,
  type NackReason,
  PROTOCOL_VERSION,
  type ReadingsMessage,
  type ShelfMessage,
  type StoredMessage,
} from '@bitv/shared/shelf-link';
import type { Scheduler, Timer } from '../clock/scheduler.js';
import { OtaSlots } from '../ota/slots.js';
import { LoadCell } from '../physics/load-cell.js';
import { FirmwareBin } from './firmware-bin.js';
import { ReplayStore } from './replay-store.js';
import type { ShelfState } from './state-file.js';
import type { LedState, ShelfCounters, ShelfOptions, ShelfSnapshot } from './types.js';

export interface FirmwareDeps {
  scheduler: Scheduler;
  random: Random;
  /** Writes bytes to the link; returns false when the bytes were dropped (nobody reading). */
  transmit(bytes: Uint8Array): boolean;
  /** A fresh random nonzero u32 for each boot [SL-REPLAY-1]; default: crypto random. */
  newBootId?: () => number;
  /** Told when something kept across a power cycle changed (tare, calibration, sample rate). */
  onPersistentChange?: () => void;
}

interface PendingWait {
  op: 'tare' | 'calibrate';
  seq: number;
  bins: number[];
  deadline: number;
  knownG: number;
}

const REPLAY_CAPACITY = 4096;
const otaRequestTypes = new Set<number>([messageType.ota_begin, messageType.ota_chunk, messageType.ota_end]);
function isOtaRequest(
  m: ShelfMessage,
): m is Extract<ShelfMessage, { type: 'ota_begin' | 'ota_chunk' | 'ota_end' }> {
  return otaRequestTypes.has(messageType[m.type]);
}
const MIN_RATE_MHZ = 100;
const MAX_RATE_MHZ = 100_000;

/**
 * The shelf controller's firmware: boots and says HELLO, samples every bin at the configured
 * rate and sends READINGS, sends HEARTBEAT every second, raises EVENTs, and answers COMMANDs with
 * ACK/NACK (docs/shelf-link.md). Runs on the simulation's virtual clock.
 */
export class ShelfFirmware {
  readonly bins: FirmwareBin[];
  readonly leds: LedState[];
  readonly counters: ShelfCounters = {
    framesSent: 0,
    bytesSent: 0,
    readingsSent: 0,
    commandsReceived: 0,
    acks: 0,
    nacks: 0,
    txDropped: 0,
    boots: 0,
    replayEvicted: 0,
  };
  readonly rx: FrameDecoder;
  powered = false;
  /** A hung main loop: nothing is sent or answered until it ends. */
  stalledUntil = -1;
  private running = false;
  /** Why the controller last booted; HELLO repeats it until the next boot. */
  private bootReason: BootReason = 'power_on';
  private seq = 0;
  private bootAt = 0;
  private clockOffsetMs = 0;
  private sampleRateMilliHz: number;
  private identifyUntil = -1;
  private sampleTimer: Timer | undefined;
  private heartbeatTimer: Timer | undefined;
  private bootTimer: Timer | undefined;
  private pending: PendingWait | undefined;
  private readonly replay: boolean;
  private readonly newBootId: () => number;
  private bootId = 0;
  private readonly kept: ReplayStore;
  /** A/B slots and bootloader (docs/shelf-link.md [SL-OTA-1]); undefined without the capability. */
  readonly ota: OtaSlots | undefined;

  constructor(
    readonly options: ShelfOptions,
    private readonly deps: FirmwareDeps,
  ) {
    const r = deps.random;
    this.bins = options.bins.map(
      (b) => new FirmwareBin(new LoadCell(b, r), r.gaussian() * 0.002, r.gaussian() * 0.5),
    );
    this.leds = this.bins.map(() => ({ color: 0, blink: 'off' }));
    this.sampleRateMilliHz = Math.round(options.sampleRateHz * 1000);
    this.rx = new FrameDecoder({ onBadFrame: (bad) => this.onBadFrame(bad) });
    this.replay = options.replay ?? true;
    this.kept = new ReplayStore(options.replayCapacity ?? REPLAY_CAPACITY, () => {
      this.counters.replayEvicted++;
    });
    this.newBootId = deps.newBootId ?? (() => randomInt(1, 0x1_0000_0000));
    this.ota =
      options.ota === false
        ? undefined
        : new OtaSlots(
            options.firmwareVersion,
            {
              after: (ms, fn) => deps.scheduler.after(ms, fn),
              send: (m) => this.send(m),
              ack: (seq, opcode) => this.ack(seq, opcode),
              nack: (seq, opcode, reason) => this.nack(seq, opcode, reason),
              unstoredReadings: () => this.kept.size,
              stopSampling: () => {
                this.sampleTimer?.cancel();
                this.sampleTimer = undefined;
              },
              reboot: (reason) => this.restart(reason),
            },
            options.ota,
          );
  }

  /** Firmware version of the running slot. */
  get firmwareVersion(): string {
    return this.ota?.version ?? this.options.firmwareVersion;
  }

  /** Reset into `reason`'s boot after the boot delay (reboot command, update, rollback). */
  private restart(reason: BootReason): void {
    this.stopTimers();
    this.running = false;
    this.pending = undefined;
    this.bootTimer = this.deps.scheduler.after(this.options.bootMs, () => this.boot(reason));
  }

  get now(): number {
    return this.deps.scheduler.now();
  }

  /** Monotonic ms since boot, plus any injected clock jump. */
  get deviceTimeMs(): number {
    return Math.max(0, Math.round(this.now - this.bootAt + this.clockOffsetMs));
  }

  get stalled(): boolean {
    return this.now < this.stalledUntil;
  }

  get capabilities(): number {
    return (
      capability.led |
      capability.calibration |
      capability.blink |
      capability.identify |
      capability.tamper |
      (this.replay ? capability.replay : 0) |
      (this.ota ? capability.ota : 0) |
      (this.options.groupLed === false ? 0 : capability.group_led) |
      (this.options.temperatureC === null ? 0 : capability.temperature)
    );
  }

  powerOn(reason: BootReason = 'power_on'): void {
    this.stopTimers();
    this.powered = true;
    this.running = false;
    this.bootTimer = this.deps.scheduler.after(this.options.bootMs, () => this.boot(reason));
  }

  /** Power gone (USB unplugged): every timer stops, RAM state is lost. */
  powerOff(): void {
    this.stopTimers();
    this.powered = false;
    this.running = false;
    this.pending = undefined;
  }

  private stopTimers(): void {
    this.ota?.halt();
    this.sampleTimer?.cancel();
    this.heartbeatTimer?.cancel();
    this.bootTimer?.cancel();
    this.sampleTimer = this.heartbeatTimer = this.bootTimer = undefined;
  }

  private boot(bootReason: BootReason): void {
    const reason = this.ota ? this.ota.boot(bootReason) : bootReason;
    this.counters.boots++;
    this.bootReason = reason;
    this.running = true;
    this.seq = 0; // [SL-SEQ-1] numbering restarts at boot
    this.bootAt = this.now;
    this.clockOffsetMs = 0;
    this.identifyUntil = -1;
    this.pending = undefined;
    this.stalledUntil = -1;
    // [SL-REPLAY-1] kept readings lived in RAM; a new boot gets a new id.
    this.kept.clear();
    if (this.replay) {
      const previous = this.bootId;
      do this.bootId = this.newBootId() >>> 0;
      while (this.bootId === 0 || this.bootId === previous);
    }
    for (const b of this.bins) b.resetWindow();
    // LEDs are off after a reset; the host sets them again after the HELLO.
    for (const led of this.leds) Object.assign(led, { color: 0, blink: 'off' });
    this.rx.reset();
    this.transmitRaw(Uint8Array.of(0)); // [SL-FRAME-5] end whatever half frame the reset cut
    this.sendHello(reason);
    this.ota?.afterHello();
    this.scheduleSample(this.sampleInterval());
    this.scheduleHeartbeat();
  }

  private sampleInterval(): number {
    return 1_000_000 / this.sampleRateMilliHz;
  }

  private scheduleSample(delay: number): void {
    this.sampleTimer = this.deps.scheduler.after(delay, () => this.onSample());
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.deps.scheduler.after(this.options.heartbeatMs, () => {
      if (!this.stalled) this.send({ type: 'heartbeat', timeMs: this.deviceTimeMs });
      this.pump(); // a slow sample rate must not hold a waiting replay back for long
      this.scheduleHeartbeat();
    });
  }

  private onSample(): void {
    this.scheduleSample(this.sampleInterval());
    const now = this.now;
    for (let i = 0; i < this.bins.length; i++) {
      const bin = this.bins[i]!;
      const change = bin.sample(now);
      if (this.stalled) continue;
      if (change.faultChanged) this.event(bin.fault ? 'cell_fault' : 'cell_recovered', i, 0);
      if (change.overloadStarted) this.event('overload', i, bin.weightDg);
    }
    if (this.stalled) return;
    const readings: ReadingsMessage = {
      type: 'readings',
      deviceTimeMs: this.deviceTimeMs,
      temperatureCentiC: this.temperatureCentiC(),
      weightsDg: this.bins.map((b) => b.weightDg),
      binFlags: this.bins.map((b) => b.flags),
    };
    if (this.replay) {
      this.kept.add(readings);
      this.pump();
    } else this.send(readings);
    this.counters.readingsSent++;
    this.checkPending();
  }

  /**
   * Puts kept readings not yet sent on the wire, in order, until the link refuses one: that one
   * is held and tried again later, so READINGS of a boot go out in deviceTimeMs order and none is
   * skipped while the host is not reading [SL-REPLAY-3].
   */
  private pump(): void {
    if (!this.running || !this.powered) return;
    for (let r = this.kept.next(); r && !this.stalled; r = this.kept.next()) {
      const bytes = encodeFrame(r, this.seq);
      if (!this.deps.transmit(bytes)) return;
      this.seq = (this.seq + 1) & 0xffff;
      this.counters.framesSent++;
      this.counters.bytesSent += bytes.length;
      this.kept.sent();
    }
  }

  /** [SL-STORED-1], [SL-STORED-2]: forget what the host has stored, if it is about this boot. */
  private onStored(m: StoredMessage): void {
    if (this.replay && m.bootId === this.bootId) this.kept.storedUpTo(m.deviceTimeMs);
  }

  private temperatureCentiC(): number | null {
    const t = this.options.temperatureC;
    if (t === null) return null;
    // Slow room-temperature swing plus sensor noise.
    const c = t + 0.5 * Math.sin((2 * Math.PI * this.now) / 3_600_000) + this.deps.random.gaussian() * 0.02;
    return Math.round(c * 100);
  }

  event(kind: EventKind, bin: number | null, value: number): void {
    if (!this.running || this.stalled) return;
    this.send({ type: 'event', deviceTimeMs: this.deviceTimeMs, kind, bin, value });
  }

  private sendHello(reason: BootReason): void {
    this.send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      firmwareVersion: this.firmwareVersion,
      serialNumber: this.options.serialNumber,
      binCount: this.bins.length,
      capabilities: this.capabilities,
      sampleRateMilliHz: this.sampleRateMilliHz,
      bootReason: reason,
      ...(this.replay ? { bootId: this.bootId } : {}),
    });
  }

  private send(m: ShelfMessage): void {
    if (this.stalled) return; // a hung main loop sends nothing, not even late answers
    const bytes = encodeFrame(m, this.seq);
    this.seq = (this.seq + 1) & 0xffff;
    this.counters.framesSent++;
    this.transmitRaw(bytes);
  }

  /** Bytes straight onto the link (also used to inject garbage). */
  transmitRaw(bytes: Uint8Array): void {
    if (!this.powered) return;
    if (this.deps.transmit(bytes)) this.counters.bytesSent += bytes.length;
    else this.counters.txDropped++;
  }

  /** Bytes from the host. */
  receive(chunk: Uint8Array): void {
    if (!this.running || this.stalled) return; // a hung or unpowered MCU reads nothing
    for (const f of this.rx.push(chunk)) {
      if (f.message.type === 'command') this.onCommand(f.seq, f.message.command);
      else if (f.message.type === 'stored') this.onStored(f.message);
      else if (isOtaRequest(f.message)) {
        if (this.ota) this.ota.onFrame(f.seq, f.message);
        // [SL-OTA-1] without the capability these are frames we do not know: no answer.
      }
      // HEARTBEAT from the host needs no answer [SL-HEART-1]; other types are not for us.
    }
  }

  private onBadFrame(bad: BadFrame): void {
    // [SL-CMD-4] a checksummed COMMAND we cannot read still gets its answer.
    if (bad.seq === undefined) return;
    if (this.ota && otaRequestTypes.has(bad.type ?? -1)) {
      this.nack(bad.seq, bad.type!, 'malformed'); // [SL-OTA-1] answered like a COMMAND
      return;
    }
    if (bad.type !== messageType.command) return;
    const opcode = bad.payload?.[0] ?? 0;
    const known = Object.values(commandOpcode).includes(opcode as never);
    this.counters.commandsReceived++;
    this.nack(bad.seq, opcode, known ? 'malformed' : 'unknown_opcode');
  }

  private ack(seq: number, opcode: number): void {
    this.counters.acks++;
    this.send({ type: 'ack', commandSeq: seq, opcode });
  }

  private nack(seq: number, opcode: number, reason: NackReason): void {
    this.counters.nacks++;
    this.send({ type: 'nack', commandSeq: seq, opcode, reason });
  }

  private binsFor(bin: number): number[] | undefined {
    if (bin === 0xff) return this.bins.map((_, i) => i);
    return bin < this.bins.length ? [bin] : undefined;
  }

  private onCommand(seq: number, c: Command): void {
    this.counters.commandsReceived++;
    const opcode = commandOpcode[c.op];
    const result = this.execute(seq, c);
    if (result === 'pending') return; // tare/calibrate answer once the bins are stable
    if (result !== 'ack') {
      this.nack(seq, opcode, result);
      return;
    }
    this.ack(seq, opcode);
    if (c.op === 'request_hello') {
      this.sendHello(this.bootReason);
      if (this.replay) {
        // [SL-REPLAY-3] the clock first, so the host can date the old readings; then all of them.
        this.send({ type: 'heartbeat', timeMs: this.deviceTimeMs });
        this.kept.rewind();
        this.pump();
      }
    }
    if (c.op === 'reboot') this.restart('command');
  }

  /** Carries out a command; says whether to ACK, NACK (with why) or answer later. */
  private execute(seq: number, c: Command): 'ack' | 'pending' | NackReason {
    switch (c.op) {
      case 'tare':
      case 'calibrate': {
        const bins = this.binsFor(c.bin);
        if (!bins || (c.op === 'calibrate' && c.bin === 0xff)) return 'invalid_bin';
        if (c.op === 'calibrate' && c.knownWeightDg === 0) return 'invalid_argument';
        if (this.pending) return 'busy';
        if (bins.some((b) => this.bins[b]!.fault)) return 'cell_fault';
        this.pending = {
          op: c.op,
          seq,
          bins,
          // Answer before the host gives up, leaving room for the link [SL-CMD-2].
          deadline: this.now + commandTimeoutMs[c.op] * 0.8,
          knownG: c.op === 'calibrate' ? c.knownWeightDg / 10 : 0,
        };
        // Also look at the deadline between samples (a slow sample rate must not delay the NACK).
        this.deps.scheduler.after(commandTimeoutMs[c.op] * 0.8, () => this.checkPending());
        this.checkPending();
        return 'pending';
      }
      case 'set_led': {
        const bins = this.binsFor(c.bin);
        if (!bins) return 'invalid_bin';
        for (const b of bins) this.leds[b] = { color: c.color, blink: c.blink };
        return 'ack';
      }
      case 'set_leds':
        // Without the capability the opcode is one this firmware does not know [SL-CMD-4].
        if (this.options.groupLed === false) return 'unknown_opcode';
        // [SL-LED-2] all or none: one bin it does not have refuses the whole command.
        if (c.leds.some((l) => l.bin >= this.leds.length)) return 'invalid_bin';
        for (const l of c.leds) this.leds[l.bin] = { color: l.color, blink: l.blink };
        return 'ack';
      case 'set_sample_rate':
        if (c.milliHz < MIN_RATE_MHZ || c.milliHz > MAX_RATE_MHZ) return 'invalid_argument';
        this.sampleRateMilliHz = c.milliHz;
        this.sampleTimer?.cancel();
        this.scheduleSample(this.sampleInterval());
        this.deps.onPersistentChange?.();
        return 'ack';
      case 'identify':
        if (c.seconds > 600) return 'invalid_argument';
        this.identifyUntil = c.seconds === 0 ? -1 : this.now + c.seconds * 1000;
        return 'ack';
      case 'reboot':
      case 'request_hello':
        return 'ack';
    }
  }

  /** Finishes a tare/calibration once every bin it covers is stable, or gives up at the deadline. */
  private checkPending(): void {
    const p = this.pending;
    if (!p) return;
    const bins = p.bins.map((b) => this.bins[b]!);
    const opcode = commandOpcode[p.op as CommandOp];
    let result: 'ack' | NackReason | undefined;
    if (bins.some((b) => b.fault)) result = 'cell_fault';
    else if (bins.every((b) => b.stable)) {
      if (p.op === 'tare') {
        for (const b of bins) b.tare();
        result = 'ack';
      } else result = bins[0]!.calibrate(p.knownG) ? 'ack' : 'invalid_argument';
    } else if (this.now >= p.deadline) result = 'not_stable';
    if (result === undefined) return;
    this.pending = undefined;
    if (result === 'ack') {
      this.ack(p.seq, opcode);
      this.deps.onPersistentChange?.();
    } else this.nack(p.seq, opcode, result);
  }

  /** What a power cycle keeps: the goods on the bins and the EEPROM settings; never the LEDs. */
  persistentState(): ShelfState {
    return {
      version: 1,
      serialNumber: this.options.serialNumber,
      sampleRateMilliHz: this.sampleRateMilliHz,
      bins: this.bins.map((b) => ({
        count: b.cell.count,
        tareCounts: b.tareCounts,
        gramsPerCount: b.gramsPerCount,
      })),
    };
  }

  /** Takes back a saved state (before power-on); the caller checked that it is this shelf's. */
  restore(state: ShelfState): void {
    for (const [i, saved] of state.bins.entries()) {
      const bin = this.bins[i];
      if (!bin) break;
      bin.cell.restore(saved.count);
      bin.tareCounts = saved.tareCounts;
      bin.gramsPerCount = saved.gramsPerCount;
    }
    this.sampleRateMilliHz = state.sampleRateMilliHz;
  }

  // --- scenario hooks ---

  stall(durationMs: number): void {
    this.stalledUntil = this.now + durationMs;
  }

  clockJump(deltaMs: number): void {
    this.clockOffsetMs += deltaMs;
  }

  brownOut(millivolts: number): void {
    if (!this.running) return;
    this.event('brown_out', null, millivolts);
    this.stopTimers();
    this.running = false;
    this.pending = undefined;
    this.bootTimer = this.deps.scheduler.after(this.options.bootMs, () => this.boot('brown_out'));
  }

  get identifying(): boolean {
    return this.now < this.identifyUntil;
  }

  snapshot(): ShelfSnapshot {
    return {
      serialNumber: this.options.serialNumber,
      firmwareVersion: this.firmwareVersion,
      binCount: this.bins.length,
      powered: this.powered,
      stalled: this.stalled,
      deviceTimeMs: this.running ? this.deviceTimeMs : 0,
      sampleRateMilliHz: this.sampleRateMilliHz,
      identifying: this.identifying,
      bootId: this.replay && this.running ? this.bootId : null,
      keptReadings: this.kept.size,
      bins: this.bins.map((b, i) => ({
        bin: i,
        count: b.cell.count,
        unitWeightG: b.cell.options.unitWeightG,
        netG: b.cell.netG,
        reportedG: b.weightDg / 10,
        stable: b.stable,
        fault: b.fault,
        overload: b.overload,
        led: { ...this.leds[i]! },
      })),
      counters: { ...this.counters },
      rxBadFrames: { ...this.rx.stats.badFrames },
    };
  }
}
