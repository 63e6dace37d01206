import type { CommandAction } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { backoffDelay } from '@bitv/shared/retry';
import type { Metric } from '@bitv/shared/sparkplug';
import type { Pin } from 'johnny-five';
import { SerialPort } from 'serialport';
import type { CommandOutcome, Driver, DriverSink, DriverStatus } from './driver.js';

export interface FirmataOptions {
  path: string;
  baudRate: number;
  /** Input pins: digital numbers (`2`) or analog names (`A0`). */
  inputs: readonly string[];
  /** Digital output pins commands may drive. */
  outputs: readonly string[];
  deviceName: string;
  reopenInitialDelayMs?: number;
  reopenMaxDelayMs?: number;
}

/** Metric name of an input pin: `pin/2` (Boolean) or `pin/A0` (Double, 0..1023). */
export function pinMetric(pin: string): string {
  return `pin/${pin}`;
}

/**
 * A johnny-five board over Firmata: input pins become device metrics (published live in DDATA,
 * current values in DBIRTH), output pins are driven by `set_led` commands (`bin` = pin number;
 * colour `#000000` or blink `off` = LOW, anything else HIGH). johnny-five gets an `io` built from
 * firmata.js over a serialport 13 port (its own serialport 8 binding is not used).
 */
export class FirmataDriver implements Driver {
  readonly link: string;
  private port: SerialPort | undefined;
  private ready = false;
  private readonly outputs = new Map<number, Pin>();
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private firmware = 'unknown';

  constructor(
    private readonly opts: FirmataOptions,
    private readonly sink: DriverSink & { deviceMetrics?: (device: string, metrics: Metric[]) => void },
    private readonly logger: Logger,
  ) {
    this.link = `firmata:${opts.path}`;
  }

  start(): void {
    void this.open();
  }

  owns(device: string): boolean {
    return this.ready && device === this.opts.deviceName;
  }

  status(): DriverStatus {
    return {
      link: this.link,
      up: this.ready,
      devices: this.ready ? [this.opts.deviceName] : [],
      detail: { firmware: this.firmware, inputs: this.opts.inputs, outputs: this.opts.outputs },
    };
  }

  private async open(): Promise<void> {
    if (this.closed) return;
    // Loaded only when a board is configured: johnny-five and firmata.js weigh ~17 MB of RSS.
    // firmata-io, not the `firmata` package: that one binds serialport 8 at load and fails where
    // its native binding is not built; the transport here is always a serialport 13 port.
    const [{ default: firmataIo }, { default: five }] = await Promise.all([
      import('firmata-io'),
      import('johnny-five'),
    ]);
    const { Firmata } = firmataIo;
    // Firmata and the board are attached before the port opens: firmata.js turns the port's
    // `open` into the `connect` johnny-five waits for before it reports `ready`.
    const port = new SerialPort({ path: this.opts.path, baudRate: this.opts.baudRate, autoOpen: false });
    const io = new Firmata(port, { reportVersionTimeout: 2000 });
    const board = new five.Board({ io, repl: false, debug: false, sigint: false, timeout: 15_000 });
    try {
      await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    } catch (error) {
      this.logger.debug({ err: String(error) }, 'firmata port open failed');
      return this.scheduleReopen();
    }
    if (this.closed) {
      port.close(() => undefined); // closing a port we just opened cannot fail in a way that matters
      return;
    }
    this.port = port;
    board.on('error', (error: unknown) => this.lost(port, `board error: ${String(error)}`));
    port.on('close', () => this.lost(port, 'port closed'));
    port.on('error', (error) => this.lost(port, error.message));
    board.on('ready', () => {
      if (this.port !== port) return;
      this.attempt = 0;
      this.ready = true;
      this.firmware = `${io.firmware?.name ?? 'firmata'} ${io.firmware?.version?.major ?? 0}.${io.firmware?.version?.minor ?? 0}`;
      this.logger.info({ firmware: this.firmware }, 'firmata board ready');
      this.sink.linkState(this.link, true);
      this.sink.deviceOnline({
        name: this.opts.deviceName,
        serialNumber: 'firmata',
        firmware: this.firmware,
        binCount: 0,
      });
      for (const pin of this.opts.inputs) {
        const analog = /^A\d+$/i.test(pin);
        const sensor = new five.Sensor({
          pin: analog ? pin.toUpperCase() : Number(pin),
          type: analog ? 'analog' : 'digital',
          freq: 100,
          board,
        });
        sensor.on('change', () => {
          const value = sensor.value;
          this.sink.deviceMetrics?.(this.opts.deviceName, [
            analog
              ? { name: pinMetric(pin), type: 'Double', value, timestamp: Date.now() }
              : { name: pinMetric(pin), type: 'Boolean', value: value > 0, timestamp: Date.now() },
          ]);
        });
      }
      for (const pin of this.opts.outputs)
        this.outputs.set(Number(pin), new five.Pin({ pin: Number(pin), board }));
    });
  }

  private lost(port: SerialPort, why: string): void {
    if (this.port !== port) return;
    this.port = undefined;
    this.logger.warn({ why }, 'firmata board lost');
    if (this.ready) {
      this.ready = false;
      this.sink.linkState(this.link, false);
      this.sink.deviceOffline(this.opts.deviceName);
    }
    this.outputs.clear();
    // Closing an already-failed port can only fail again; there is nothing more to release.
    if (port.isOpen) port.close(() => undefined);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.closed || this.timer) return;
    this.attempt++;
    const delay = backoffDelay(this.attempt, {
      initialDelayMs: this.opts.reopenInitialDelayMs ?? 500,
      maxDelayMs: this.opts.reopenMaxDelayMs ?? 10_000,
      factor: 2,
      jitter: 0.5,
    });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.open();
    }, delay);
  }

  async execute(device: string, action: CommandAction): Promise<CommandOutcome> {
    if (!this.owns(device)) return { status: 'failed', reason: 'device not linked' };
    if (action.action !== 'set_led' && action.action !== 'set_leds')
      return { status: 'failed', reason: `${action.action} is not supported by a Firmata board` };
    const leds = action.action === 'set_led' ? [action] : action.leds;
    // All or none, like a shelf controller's set_leds [SL-LED-2].
    const missing = leds.find((l) => !this.outputs.has(l.bin));
    if (missing) return { status: 'failed', reason: `pin ${missing.bin} is not a configured output` };
    for (const l of leds) {
      const pin = this.outputs.get(l.bin)!;
      if (l.blink !== 'off' && l.color !== '#000000') pin.high();
      else pin.low();
    }
    return { status: 'done' };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const port = this.port;
    this.port = undefined;
    if (this.ready) this.sink.deviceOffline(this.opts.deviceName);
    this.ready = false;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
