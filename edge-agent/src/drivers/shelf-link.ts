import type { CommandAction } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { backoffDelay } from '@bitv/shared/retry';
import {
  binFlag,
  type Command,
  capability,
  commandTimeoutMs,
  encodeFrame,
  FrameDecoder,
  type HelloMessage,
  type OtaBeginMessage,
  type OtaChunkMessage,
  type OtaEndMessage,
  type OtaStatusMessage,
  type ReadingsMessage,
} from '@bitv/shared/shelf-link';
import { lightMetrics, type Metric } from '@bitv/shared/sparkplug';
import type { DeviceInfo } from '../devices.js';
import type { NewReading, ReplayPosition } from '../outbox/index.js';
import type { CommandOutcome, Driver, DriverSink, DriverStatus } from './driver.js';
import { toLinkCommand } from './shelf-commands.js';
import { ShelfLights } from './shelf-lights.js';
import { ReplayTracker } from './shelf-replay.js';
import { openTransport, type Transport } from './transport.js';

export interface ShelfLinkOptions {
  /** Serial device path (`/dev/ttyUSB0`, a pty) or `tcp://host:port`. */
  path: string;
  baudRate: number;
  reopenInitialDelayMs: number;
  reopenMaxDelayMs: number;
  /** Host heartbeat period; also how often staleness is checked. */
  heartbeatIntervalMs: number;
  /** No frame for this long: the controller is stalled, its device goes offline [SL-HEART-1]. */
  staleAfterMs: number;
  /** Resend `request_hello` when no HELLO came within this time [SL-HELLO-3]. */
  helloTimeoutMs: number;
  /** Readings frames held while the device is not identified yet (beyond: dropped, counted). */
  maxUnidentifiedFrames: number;
}

export const defaultShelfLinkOptions: Omit<ShelfLinkOptions, 'path'> = {
  baudRate: 115_200,
  reopenInitialDelayMs: 200,
  reopenMaxDelayMs: 5_000,
  heartbeatIntervalMs: 1_000,
  staleAfterMs: 3_500,
  helloTimeoutMs: 1_000,
  maxUnidentifiedFrames: 1_000,
};

const REPLAY_GAP_REASON = 'readings not replayed (device time ms)';

/** What an answer to a `set_led`/`set_leds` says about the LEDs [SL-LED-1]: NACK = no effect. */
const ledAnswer = (outcome: CommandOutcome): 'ack' | 'nack' | 'unknown' =>
  outcome.status === 'done' ? 'ack' : outcome.reason.startsWith('NACK') ? 'nack' : 'unknown';

interface Pending {
  resolve: (outcome: CommandOutcome) => void;
  timer: NodeJS.Timeout;
}

/**
 * One shelf controller on one serial line. Opens (and after an unplug, reopens with backoff) the
 * port, asks for HELLO, turns READINGS into outbox readings (one transaction per chunk of input,
 * synchronously), notices a replaced controller by its serial number, and runs commands with the
 * ACK/NACK matched by frame sequence.
 */
export class ShelfLinkDriver implements Driver {
  readonly link: string;
  private readonly opts: ShelfLinkOptions;
  private transport: Transport | undefined;
  private decoder = new FrameDecoder();
  private device: (DeviceInfo & { hello: HelloMessage }) | undefined;
  private online = false;
  private identifiedThisOpen = false;
  private held: { seq: number; message: ReadingsMessage }[] = [];
  private readonly replay = new ReplayTracker();
  private readonly lights = new ShelfLights();
  private txSeq = 0;
  private readonly pending = new Map<number, Pending>();
  private attempt = 0;
  private reopenTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private lastFrameAt = 0;
  private lastHelloRequestAt = 0;
  private clockOffset: number | undefined;
  private closed = false;
  private opens = 0;
  /** Why the port cannot be opened, while it cannot (warned once per outage, not per retry). */
  private openError: string | undefined;
  private failedOpens = 0;
  private readonly otaListeners = new Set<(m: OtaStatusMessage | HelloMessage) => void>();

  constructor(
    options: Partial<ShelfLinkOptions> & { path: string },
    /** `deviceMetrics`: the shelf's pick-to-light state (`bin/NN/led`) for its DBIRTH and DDATA. */
    private readonly sink: DriverSink & { deviceMetrics?: (device: string, metrics: Metric[]) => void },
    private readonly logger: Logger,
    /** Runs `firmware_update` commands (docs/ota.md); absent when no firmware store is configured. */
    private readonly firmware?: (link: ShelfLinkDriver, version: string) => Promise<CommandOutcome>,
  ) {
    this.opts = { ...defaultShelfLinkOptions, ...options };
    this.link = `serial:${this.opts.path}`;
  }

  start(): void {
    this.tickTimer = setInterval(() => this.tick(), this.opts.heartbeatIntervalMs);
    this.tickTimer.unref();
    void this.open();
  }

  owns(device: string): boolean {
    return this.online && this.device?.name === device;
  }

  status(): DriverStatus {
    return {
      link: this.link,
      up: this.transport !== undefined,
      devices: this.online && this.device ? [this.device.name] : [],
      detail: {
        opens: this.opens,
        serialNumber: this.device?.serialNumber,
        firmware: this.device?.firmware,
        badFrames: this.decoder.badFramesTotal,
        lostFrames: this.decoder.stats.lostFrames,
        ...(this.openError !== undefined ? { openError: this.openError, failedOpens: this.failedOpens } : {}),
      },
    };
  }

  private async open(): Promise<void> {
    if (this.closed) return;
    try {
      const t = await openTransport(this.opts.path, this.opts.baudRate);
      if (this.closed) return void (await t.close());
      this.transport = t;
      this.opens++;
      this.attempt = 0;
      this.decoder = new FrameDecoder({ onBadFrame: (bad) => this.sink.badFrame(bad.reason) });
      this.identifiedThisOpen = false;
      this.held = [];
      this.replay.reset();
      this.clockOffset = undefined;
      this.lastFrameAt = Date.now();
      this.sink.linkState(this.link, true);
      if (this.openError !== undefined) {
        this.logger.info({ path: this.opts.path, failedOpens: this.failedOpens }, 'shelf link open again');
        this.openError = undefined;
        this.failedOpens = 0;
      } else this.logger.info({ path: this.opts.path }, 'shelf link open');
      t.stream.on('data', (chunk: Buffer) => this.onData(chunk));
      t.stream.once('close', () => this.onClosed(t, 'closed'));
      t.stream.on('error', (error: Error) => this.onClosed(t, error.message));
      this.requestHello();
    } catch (error) {
      this.openFailed(error instanceof Error ? error.message : String(error));
      this.scheduleReopen();
    }
  }

  /**
   * A port that cannot be opened (missing, no permission, busy) is a fault someone has to fix:
   * warned once per outage with the reason, every attempt counted, and reported upward (the
   * agent's `links/down` health metric) so the cloud shows the gateway degraded.
   */
  private openFailed(reason: string): void {
    this.failedOpens++;
    if (this.openError === undefined) {
      this.logger.warn(
        { path: this.opts.path, reason },
        'shelf link cannot be opened; retrying with backoff (next warning when it opens again)',
      );
    } else if (reason !== this.openError) {
      this.logger.warn(
        { path: this.opts.path, reason, was: this.openError },
        'shelf link still cannot be opened',
      );
    } else {
      this.logger.debug(
        { path: this.opts.path, reason, failedOpens: this.failedOpens },
        'shelf link open failed',
      );
    }
    this.openError = reason;
    this.sink.linkState(this.link, false, reason);
  }

  private scheduleReopen(): void {
    if (this.closed || this.reopenTimer) return;
    this.attempt++;
    const delay = backoffDelay(this.attempt, {
      initialDelayMs: this.opts.reopenInitialDelayMs,
      maxDelayMs: this.opts.reopenMaxDelayMs,
      factor: 2,
      jitter: 0.5,
    });
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      void this.open();
    }, delay);
  }

  private onClosed(t: Transport, why: string): void {
    if (this.transport !== t) return;
    this.transport = undefined;
    this.logger.warn({ path: this.opts.path, why }, 'shelf link lost');
    this.sink.linkState(this.link, false);
    void t.close();
    this.goOffline();
    this.failPending('link down');
    this.scheduleReopen();
  }

  private goOffline(): void {
    if (this.online && this.device) this.sink.deviceOffline(this.device.name);
    this.online = false;
  }

  private send(command: Command): number {
    const seq = this.txSeq;
    this.txSeq = (this.txSeq + 1) & 0xffff;
    this.transport?.stream.write(encodeFrame({ type: 'command', command }, seq));
    return seq;
  }

  private requestHello(): void {
    this.lastHelloRequestAt = Date.now();
    this.send({ op: 'request_hello' });
  }

  private tick(): void {
    const t = this.transport;
    if (!t) return;
    const now = Date.now();
    t.stream.write(encodeFrame({ type: 'heartbeat', timeMs: Math.floor(performance.now()) }, this.nextSeq()));
    if (this.online && now - this.lastFrameAt > this.opts.staleAfterMs) {
      this.logger.warn({ device: this.device?.name }, 'shelf controller stalled (no frames)');
      this.goOffline();
      this.identifiedThisOpen = false;
    }
    if (!this.online && now - this.lastHelloRequestAt > this.opts.helloTimeoutMs) this.requestHello();
  }

  private nextSeq(): number {
    const seq = this.txSeq;
    this.txSeq = (this.txSeq + 1) & 0xffff;
    return seq;
  }

  private onData(chunk: Buffer): void {
    this.lastFrameAt = Date.now();
    const frames = this.decoder.push(chunk);
    let batch: NewReading[] = [];
    let batchSeq = -1;
    let batchFirst = -1;
    /** Newest deviceTimeMs in the batch (replay controllers only). */
    let batchUpTo: number | undefined;
    let duplicates = 0;
    let stored: ReplayPosition | undefined;
    const flush = () => {
      if (batch.length > 0 && this.device) {
        const position = batchUpTo === undefined ? undefined : this.replay.positionAt(batchUpTo);
        const ok = this.sink.readings(this.device.name, batch, batchSeq, batchFirst, position);
        if (ok && position) {
          this.replay.committed(position);
          stored = position;
        }
      }
      batch = [];
      batchUpTo = undefined;
    };
    for (const f of frames) {
      const m = f.message;
      if (f.lost > 0 && this.online && this.device) {
        flush();
        this.sink.linkGap(this.device.name, (f.seq - f.lost) & 0xffff, (f.seq - 1) & 0xffff, f.lost);
      }
      switch (m.type) {
        case 'hello':
          flush();
          this.onHello(m, f.seq);
          break;
        case 'readings':
          if (!this.online || !this.device) {
            if (this.held.length < this.opts.maxUnidentifiedFrames)
              this.held.push({ seq: f.seq, message: m });
            else this.sink.badFrame('unidentified');
            break;
          }
          if (this.replay.active) {
            const gap = this.replay.gapBefore(m.deviceTimeMs);
            if (gap) {
              flush();
              this.sink.linkGap(this.device.name, gap.fromMs, gap.toMs, gap.count, REPLAY_GAP_REASON);
            }
            // [SL-REPLAY-5] a replay of a stored reading: counted, not stored twice.
            if (this.replay.isDuplicate(m.deviceTimeMs, batchUpTo)) {
              duplicates++;
              break;
            }
            batchUpTo = m.deviceTimeMs;
          }
          if (batch.length === 0) batchFirst = f.seq;
          batch.push(this.toReading(m));
          batchSeq = f.seq;
          break;
        case 'ack':
        case 'nack':
          this.settle(
            m.commandSeq,
            m.type === 'ack' ? { status: 'done' } : { status: 'failed', reason: `NACK ${m.reason}` },
          );
          break;
        case 'event': {
          // A fault is someone's job to fix (the bin is left out of readings meanwhile, [SL-READ-2]):
          // a warning; a recovery is news.
          const level = m.kind === 'cell_recovered' ? 'info' : 'warn';
          this.logger[level](
            { device: this.device?.name, kind: m.kind, bin: m.bin, value: m.value },
            'shelf event',
          );
          break;
        }
        case 'heartbeat':
          if (!this.online) this.maybeRequestHello();
          // [SL-REPLAY-3] a replay controller's clock, sent before its kept readings: date them by it.
          else if (this.replay.active) this.clockOffset = Date.now() - m.timeMs;
          break;
        case 'ota_status':
          for (const listener of this.otaListeners) listener(m);
          break;
        case 'command':
        case 'stored':
        case 'ota_begin':
        case 'ota_chunk':
        case 'ota_end':
          this.sink.badFrame(`unexpected_${m.type}`);
          break;
      }
      // Remember every frame received, not only readings, so a later hole in the link sequence
      // counts frames really missed (readings first: the stored seq must only move forward).
      if (m.type !== 'readings' && m.type !== 'hello' && this.online && this.device) {
        flush();
        this.sink.linkSeen(this.device.name, f.seq);
      }
    }
    flush();
    if (duplicates > 0 && this.device) this.sink.duplicateReadings(this.device.name, duplicates);
    // [SL-STORED-1] only after the commit: from now on the controller may forget these readings.
    if (stored) this.sendStored(stored);
  }

  private sendStored(p: ReplayPosition): void {
    this.transport?.stream.write(
      encodeFrame({ type: 'stored', bootId: p.bootId, deviceTimeMs: p.deviceTimeMs }, this.nextSeq()),
    );
  }

  private maybeRequestHello(): void {
    if (Date.now() - this.lastHelloRequestAt > this.opts.helloTimeoutMs) this.requestHello();
  }

  private onHello(hello: HelloMessage, seq: number): void {
    const name = `shelf-${hello.serialNumber}`;
    if (this.device && this.device.name !== name) {
      this.logger.warn({ previous: this.device.name, now: name }, 'shelf controller replaced');
      this.goOffline();
    }
    const firstOfOpen = !this.identifiedThisOpen;
    this.identifiedThisOpen = true;
    this.device = {
      name,
      serialNumber: hello.serialNumber,
      firmware: hello.firmwareVersion,
      binCount: hello.binCount,
      hello,
    };
    // What the LEDs show goes out before the birth, which carries it (a reboot turned them off).
    const booted = this.lights.hello(name, hello, seq, this.sink.replayPosition(name)?.bootId ?? null);
    this.sink.deviceMetrics?.(name, lightMetrics(this.lights.list()));
    if (booted && this.online && !firstOfOpen)
      this.logger.info({ device: name, bootReason: hello.bootReason }, 'shelf controller rebooted');
    if (!this.online || firstOfOpen || booted) {
      this.online = true;
      this.sink.deviceOnline(this.device);
    }
    this.replay.hello(hello, this.sink.replayPosition(name));
    for (const listener of this.otaListeners) listener(hello);
    // A replay controller's losses are counted in device time [SL-REPLAY-6]; others' by the link
    // sequence across our restarts.
    if (firstOfOpen && !this.replay.active) {
      // Frames the controller sent while nobody stored them (agent down, port closed): the link
      // sequence continues across our restarts, so the hole is exact [SL-RX-3].
      const first = this.held[0]?.seq ?? seq;
      const last = this.sink.lastLinkSeq(name);
      if (last !== null) {
        const gap = (first - last - 1) & 0xffff;
        if (gap > 0 && gap < 0x8000) this.sink.linkGap(name, (last + 1) & 0xffff, (first - 1) & 0xffff, gap);
      }
    }
    if (this.held.length === 0 || this.replay.active) {
      // [SL-REPLAY-5] readings before the HELLO are of an unknown boot; a replay controller sends
      // them again after it, in order.
      this.held = [];
      this.sink.linkSeen(name, seq);
    } else {
      const held = this.held;
      this.held = [];
      this.sink.readings(
        name,
        held.map((h) => this.toReading(h.message)),
        held[held.length - 1]!.seq,
        held[0]!.seq,
      );
    }
  }

  /**
   * Device time (ms since boot) to wall time, anchored at the first reading and re-anchored on
   * drift. A replay controller's kept readings are old: for it the anchor is its heartbeat, and a
   * reading only re-anchors when the device clock runs ahead of ours [SL-REPLAY-3].
   */
  private toReading(m: ReadingsMessage): NewReading {
    const now = Date.now();
    let offset = this.clockOffset;
    const lag = offset === undefined ? 0 : now - (offset + m.deviceTimeMs);
    if (offset === undefined || (this.replay.active ? lag < -2_000 : Math.abs(lag) > 2_000)) {
      offset = now - m.deviceTimeMs;
      this.clockOffset = offset;
    }
    const bins: NewReading['bins'] = [];
    for (let bin = 0; bin < m.weightsDg.length; bin++) {
      // [SL-READ-2] a faulty cell's weight is meaningless: leave the bin out of the reading.
      if ((m.binFlags[bin]! & binFlag.fault) === 0) bins.push({ bin, weightG: m.weightsDg[bin]! / 10 });
    }
    const reading: NewReading = { timeMs: offset + m.deviceTimeMs, bins };
    if (m.temperatureCentiC !== null) reading.temperatureC = m.temperatureCentiC / 100;
    return reading;
  }

  async execute(device: string, action: CommandAction): Promise<CommandOutcome> {
    if (!this.owns(device) || !this.transport) return { status: 'failed', reason: 'device not linked' };
    if (action.action === 'firmware_update') {
      if (!this.firmware)
        return { status: 'failed', reason: 'no firmware store configured (BV_FIRMWARE_STORE)' };
      return this.firmware(this, action.version);
    }
    const command = toLinkCommand(action);
    if (typeof command === 'string') return { status: 'failed', reason: command };
    if (command.op === 'set_leds' && ((this.device?.hello.capabilities ?? 0) & capability.group_led) === 0)
      return this.ledsOneByOne(device, command);
    const outcome = await this.request(command);
    if (command.op === 'set_led') this.ledAnswered(device, command, outcome);
    if (command.op === 'set_leds') this.ledsAnswered(device, command, outcome);
    return outcome;
  }

  /**
   * A controller without `group_led` gets one `set_led` per entry, in order [SL-LED-2]; each is
   * answered on its own, so one refused bin does not keep the others dark. Done when all are.
   */
  private async ledsOneByOne(
    device: string,
    command: Extract<Command, { op: 'set_leds' }>,
  ): Promise<CommandOutcome> {
    const failed: string[] = [];
    for (const led of command.leds) {
      const single = { op: 'set_led' as const, ...led };
      const outcome = await this.request(single);
      this.ledAnswered(device, single, outcome);
      if (outcome.status !== 'done') failed.push(`bin ${led.bin}: ${outcome.reason}`);
    }
    return failed.length === 0 ? { status: 'done' } : { status: 'failed', reason: failed.join('; ') };
  }

  /** Sends one COMMAND and resolves with its ACK/NACK, or a failure at its timeout. */
  private async request(command: Command): Promise<CommandOutcome> {
    const seq = this.send(command);
    // Margin over the device's own deadline [SL-CMD-2] for serial latency.
    const timeoutMs = commandTimeoutMs[command.op] + 500;
    const outcome = await new Promise<CommandOutcome>((resolve) => {
      const timer = setTimeout(
        () => this.settle(seq, { status: 'failed', reason: `no ACK/NACK within ${timeoutMs} ms` }),
        timeoutMs,
      );
      this.pending.set(seq, { resolve, timer });
    });
    return outcome;
  }

  /** Pick-to-light after a `set_led`: ACK = done, NACK = no effect, anything else = unknown. */
  private ledAnswered(
    device: string,
    command: Extract<Command, { op: 'set_led' }>,
    outcome: CommandOutcome,
  ): void {
    if (this.device?.name !== device) return; // another controller answers on this port now
    const bins = this.lights.ledCommand(command.bin, command.color, command.blink, ledAnswer(outcome));
    if (bins.length > 0) this.sink.deviceMetrics?.(device, lightMetrics(this.lights.list(bins)));
  }

  /** Pick-to-light after a `set_leds`: all entries or none [SL-LED-2]. */
  private ledsAnswered(
    device: string,
    command: Extract<Command, { op: 'set_leds' }>,
    outcome: CommandOutcome,
  ): void {
    if (this.device?.name !== device) return;
    const bins = this.lights.ledsCommand(command.leds, ledAnswer(outcome));
    if (bins.length > 0) this.sink.deviceMetrics?.(device, lightMetrics(this.lights.list(bins)));
  }

  /** The controller's last HELLO (capabilities, firmware version), while it is linked. */
  get hello(): HelloMessage | undefined {
    return this.online ? this.device?.hello : undefined;
  }

  /** Sends an OTA frame and resolves with its ACK/NACK, matched by sequence [SL-OTA-1]. */
  otaRequest(
    m: OtaBeginMessage | OtaChunkMessage | OtaEndMessage,
    timeoutMs: number,
  ): Promise<CommandOutcome> {
    const t = this.transport;
    if (!t || !this.online) return Promise.resolve({ status: 'failed', reason: 'device not linked' });
    const seq = this.nextSeq();
    t.stream.write(encodeFrame(m, seq));
    return new Promise<CommandOutcome>((resolve) => {
      const timer = setTimeout(
        () => this.settle(seq, { status: 'failed', reason: `no ACK/NACK within ${timeoutMs} ms` }),
        timeoutMs,
      );
      this.pending.set(seq, { resolve, timer });
    });
  }

  /** OTA_STATUS and HELLO frames as they arrive (the updater follows a trial boot with them). */
  onOta(listener: (m: OtaStatusMessage | HelloMessage) => void): () => void {
    this.otaListeners.add(listener);
    return () => this.otaListeners.delete(listener);
  }

  private settle(seq: number, outcome: CommandOutcome): void {
    const p = this.pending.get(seq);
    if (!p) return; // an answer to request_hello or to a command that already timed out
    this.pending.delete(seq);
    clearTimeout(p.timer);
    p.resolve(outcome);
  }

  private failPending(reason: string): void {
    for (const seq of [...this.pending.keys()]) this.settle(seq, { status: 'failed', reason });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    clearInterval(this.tickTimer);
    this.failPending('agent stopping');
    const t = this.transport;
    this.transport = undefined;
    if (t) await t.close();
    this.goOffline();
  }
}
