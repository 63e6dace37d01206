import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SerialPort } from 'serialport';
import { type SocatPair, startSocatPair } from '../transport/socat.js';
import {
  ANALOG_MAPPING_QUERY,
  ANALOG_MAPPING_RESPONSE,
  ANALOG_MESSAGE,
  CAPABILITY_QUERY,
  CAPABILITY_RESPONSE,
  DIGITAL_MESSAGE,
  dataLength,
  END_SYSEX,
  PIN_MODE,
  PIN_STATE_QUERY,
  PIN_STATE_RESPONSE,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  REPORT_ANALOG,
  REPORT_DIGITAL,
  REPORT_FIRMWARE,
  REPORT_VERSION,
  SAMPLING_INTERVAL,
  SET_DIGITAL_PIN_VALUE,
  SET_PIN_MODE,
  START_SYSEX,
  SYSTEM_RESET,
  sevenBit,
} from './protocol.js';

/**
 * An Arduino-Uno-like board running StandardFirmata, wired to the aisle's door contact (pin 2,
 * to ground when the door is closed, read with the internal pull-up), a LED tower (red 8,
 * amber 9, green 10), a buzzer (11) and an ambient light sensor (A0 = pin 14).
 */
export const FIRMATA_PINS = {
  door: 2,
  towerRed: 8,
  towerAmber: 9,
  towerGreen: 10,
  buzzer: 11,
  light: 14,
} as const;

const PIN_COUNT = 20;
const FIRST_ANALOG = 14;
const PWM_PINS = new Set([3, 5, 6, 9, 10, 11]);
const FIRMWARE_NAME = 'BitvStandardFirmata';

export interface FirmataSnapshot {
  path: string;
  doorOpen: boolean;
  tower: { red: boolean; amber: boolean; green: boolean };
  buzzer: boolean;
  /** Per pin: mode and output value as the host set them. */
  pins: { pin: number; mode: number | null; value: number }[];
  hostCommands: number;
}

export interface FirmataBoardHandle {
  readonly path: string;
  setDoorOpen(open: boolean): void;
  snapshot(): FirmataSnapshot;
  /** Resolves when `predicate` holds for the board state (checked after every host command). */
  waitFor(predicate: (s: FirmataSnapshot) => boolean, timeoutMs: number): Promise<FirmataSnapshot>;
}

interface Pin {
  mode: number | null;
  /** Output value written by the host (digital 0/1 or PWM duty). */
  value: number;
  /** Input level the outside world applies. */
  input: number;
}

/** The board's firmware: parses host bytes, keeps pin state, reports inputs. Transport-free. */
export class FirmataFirmware {
  readonly pins: Pin[] = Array.from({ length: PIN_COUNT }, () => ({ mode: null, value: 0, input: 0 }));
  private readonly reportPort = new Array<boolean>(3).fill(false);
  private readonly reportAnalog = new Array<boolean>(6).fill(false);
  private samplingMs = 19;
  private analogTimer: NodeJS.Timeout | undefined;
  private cmd: number[] = [];
  private sysex: number[] | undefined;
  hostCommands = 0;
  private readonly listeners = new Set<() => void>();
  doorOpen = false;
  private lightLevel = 600;

  constructor(private readonly send: (bytes: number[]) => void) {
    this.setDoorOpen(false);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /** What a freshly reset board says first: version and firmware name. */
  announce(): void {
    this.send([REPORT_VERSION, PROTOCOL_MAJOR, PROTOCOL_MINOR]);
    this.sendFirmware();
  }

  setDoorOpen(open: boolean): void {
    this.doorOpen = open;
    // Closed door shorts the contact to ground; open, the pull-up reads HIGH.
    this.pins[FIRMATA_PINS.door]!.input = open ? 1 : 0;
    this.reportDigitalPort(FIRMATA_PINS.door >> 3);
    this.changed();
  }

  stop(): void {
    if (this.analogTimer) clearInterval(this.analogTimer);
    this.analogTimer = undefined;
  }

  receive(chunk: Uint8Array): void {
    for (const b of chunk) this.byte(b);
  }

  private byte(b: number): void {
    if (this.sysex) {
      if (b === END_SYSEX) {
        const s = this.sysex;
        this.sysex = undefined;
        this.onSysex(s);
      } else if (b & 0x80)
        this.sysex = undefined; // a command byte inside sysex: drop the broken sysex
      else if (this.sysex.length < 1024) this.sysex.push(b);
      return;
    }
    if (b === START_SYSEX) {
      this.sysex = [];
      this.cmd = [];
      return;
    }
    if (b & 0x80) this.cmd = [b];
    else if (this.cmd.length === 0)
      return; // data byte without a command: line noise
    else this.cmd.push(b);
    const c = this.cmd[0]!;
    if (this.cmd.length - 1 >= dataLength(c)) {
      const bytes = this.cmd;
      this.cmd = [];
      this.onCommand(c, bytes.slice(1));
    }
  }

  private onCommand(c: number, d: number[]): void {
    this.hostCommands++;
    const high = c & 0xf0;
    if (high === DIGITAL_MESSAGE) {
      const port = c & 0x0f;
      const mask = d[0]! | (d[1]! << 7);
      for (let i = 0; i < 8; i++) {
        const p = this.pins[port * 8 + i];
        if (p && p.mode === PIN_MODE.OUTPUT) p.value = (mask >> i) & 1;
      }
    } else if (high === ANALOG_MESSAGE) {
      const p = this.pins[c & 0x0f];
      if (p) p.value = d[0]! | (d[1]! << 7);
    } else if (high === REPORT_DIGITAL) {
      const port = c & 0x0f;
      if (port < this.reportPort.length) {
        this.reportPort[port] = d[0] === 1;
        if (d[0] === 1) this.reportDigitalPort(port);
      }
    } else if (high === REPORT_ANALOG) {
      const ch = c & 0x0f;
      if (ch < this.reportAnalog.length) this.reportAnalog[ch] = d[0] === 1;
      this.armAnalog();
    } else if (c === SET_PIN_MODE) {
      const p = this.pins[d[0]!];
      if (p) {
        p.mode = d[1]!;
        if (p.mode === PIN_MODE.OUTPUT) p.value = 0;
      }
    } else if (c === SET_DIGITAL_PIN_VALUE) {
      const p = this.pins[d[0]!];
      if (p) p.value = d[1]! ? 1 : 0;
    } else if (c === REPORT_VERSION) {
      this.send([REPORT_VERSION, PROTOCOL_MAJOR, PROTOCOL_MINOR]);
    } else if (c === SYSTEM_RESET) {
      for (const p of this.pins) Object.assign(p, { mode: null, value: 0 });
      this.reportPort.fill(false);
      this.reportAnalog.fill(false);
      this.armAnalog();
    }
    this.changed();
  }

  private onSysex(s: number[]): void {
    this.hostCommands++;
    const [id, ...d] = s;
    switch (id) {
      case REPORT_FIRMWARE:
        this.sendFirmware();
        break;
      case CAPABILITY_QUERY: {
        const out = [START_SYSEX, CAPABILITY_RESPONSE];
        for (let pin = 0; pin < PIN_COUNT; pin++) {
          // Pins 0 and 1 carry the serial link itself.
          if (pin >= 2) out.push(PIN_MODE.INPUT, 1, PIN_MODE.OUTPUT, 1, PIN_MODE.PULLUP, 1);
          if (PWM_PINS.has(pin)) out.push(PIN_MODE.PWM, 8);
          if (pin >= FIRST_ANALOG) out.push(PIN_MODE.ANALOG, 10);
          out.push(0x7f);
        }
        out.push(END_SYSEX);
        this.send(out);
        break;
      }
      case ANALOG_MAPPING_QUERY: {
        const out = [START_SYSEX, ANALOG_MAPPING_RESPONSE];
        for (let pin = 0; pin < PIN_COUNT; pin++) out.push(pin >= FIRST_ANALOG ? pin - FIRST_ANALOG : 0x7f);
        out.push(END_SYSEX);
        this.send(out);
        break;
      }
      case PIN_STATE_QUERY: {
        const pin = d[0] ?? 0;
        const p = this.pins[pin];
        if (p) this.send([START_SYSEX, PIN_STATE_RESPONSE, pin, p.mode ?? 0x7f, p.value & 0x7f, END_SYSEX]);
        break;
      }
      case SAMPLING_INTERVAL:
        this.samplingMs = Math.max(10, (d[0] ?? 19) | ((d[1] ?? 0) << 7));
        this.armAnalog();
        break;
      default:
        break; // StandardFirmata ignores sysex it does not implement
    }
    this.changed();
  }

  private sendFirmware(): void {
    const out = [START_SYSEX, REPORT_FIRMWARE, PROTOCOL_MAJOR, PROTOCOL_MINOR];
    for (const ch of FIRMWARE_NAME) out.push(...sevenBit(ch.charCodeAt(0)));
    out.push(END_SYSEX);
    this.send(out);
  }

  private reportDigitalPort(port: number): void {
    if (!this.reportPort[port]) return;
    let mask = 0;
    for (let i = 0; i < 8; i++) {
      const p = this.pins[port * 8 + i];
      if (!p) continue;
      const isInput = p.mode === PIN_MODE.INPUT || p.mode === PIN_MODE.PULLUP;
      if ((isInput ? p.input : p.value) & 1) mask |= 1 << i;
    }
    this.send([DIGITAL_MESSAGE | port, ...sevenBit(mask)]);
  }

  private armAnalog(): void {
    this.stop();
    if (!this.reportAnalog.some(Boolean)) return;
    this.analogTimer = setInterval(() => {
      // Ambient light drifts slowly; the other channels float near mid-scale.
      this.lightLevel = Math.max(0, Math.min(1023, this.lightLevel + Math.round((Math.random() - 0.5) * 6)));
      this.reportAnalog.forEach((on, ch) => {
        if (on) this.send([ANALOG_MESSAGE | ch, ...sevenBit(ch === 0 ? this.lightLevel : 512)]);
      });
    }, this.samplingMs);
  }
}

/** The board on a pseudo-terminal pair (socat): the host opens `path`. */
export async function startFirmataBoard(options: {
  path: string;
  devicePath: string;
}): Promise<FirmataBoardHandle & { close(): Promise<void> }> {
  await mkdir(dirname(options.path), { recursive: true });
  await mkdir(dirname(options.devicePath), { recursive: true });
  const pair: SocatPair = await startSocatPair(options.devicePath, options.path);
  const port = new SerialPort({ path: options.devicePath, baudRate: 57600, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  } catch (error) {
    await pair.stop();
    throw error;
  }
  const firmware = new FirmataFirmware((bytes) => {
    if (port.isOpen && port.writableLength < 16 * 1024) port.write(Buffer.from(bytes));
  });
  // A real board resets when the host opens the port and then announces itself; a pty cannot
  // tell us when that happens, so announce until the host's first command arrives.
  let announced = 0;
  const announcer = setInterval(() => {
    if (firmware.hostCommands > 0 || announced++ > 600) return clearInterval(announcer);
    firmware.announce();
  }, 250);
  firmware.announce();
  port.on('data', (chunk: Buffer) => firmware.receive(chunk));
  port.on('error', () => undefined); // the pty going away at close; nothing else can fail here

  const snapshot = (): FirmataSnapshot => ({
    path: options.path,
    doorOpen: firmware.doorOpen,
    tower: {
      red: firmware.pins[FIRMATA_PINS.towerRed]!.value > 0,
      amber: firmware.pins[FIRMATA_PINS.towerAmber]!.value > 0,
      green: firmware.pins[FIRMATA_PINS.towerGreen]!.value > 0,
    },
    buzzer: firmware.pins[FIRMATA_PINS.buzzer]!.value > 0,
    pins: firmware.pins.map((p, pin) => ({ pin, mode: p.mode, value: p.value })),
    hostCommands: firmware.hostCommands,
  });
  return {
    path: options.path,
    setDoorOpen: (open) => firmware.setDoorOpen(open),
    snapshot,
    waitFor: (predicate, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const s = snapshot();
          if (!predicate(s)) return false;
          clearTimeout(timer);
          off();
          resolve(s);
          return true;
        };
        const off = firmware.onChange(() => void check());
        const timer = setTimeout(() => {
          off();
          reject(
            new Error(
              `firmata board state not reached within ${timeoutMs} ms: ${JSON.stringify(snapshot().tower)}`,
            ),
          );
        }, timeoutMs);
        check();
      }),
    close: async () => {
      clearInterval(announcer);
      firmware.stop();
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      await pair.stop();
    },
  };
}
