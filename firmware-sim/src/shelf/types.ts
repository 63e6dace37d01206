import type { LedBlink } from '@bitv/shared/shelf-link';
import type { OtaOptions } from '../ota/slots.js';
import type { LoadCellOptions } from '../physics/load-cell.js';

export interface LedState {
  /** 0xRRGGBB */
  color: number;
  blink: LedBlink;
}

export interface ShelfOptions {
  serialNumber: string;
  firmwareVersion: string;
  bins: Partial<LoadCellOptions>[];
  sampleRateHz: number;
  /** null = no temperature sensor. */
  temperatureC: number | null;
  /** ms from power-on (or reboot) to the first frame. */
  bootMs: number;
  heartbeatMs: number;
  /**
   * Announce `replay` and keep READINGS until the host stores them [SL-REPLAY-1]; default true.
   * Off: a controller without the capability (the host's old path).
   */
  replay?: boolean;
  /**
   * A/B slots for updates over the link [SL-OTA-1] (health check delay, flush timeout); default
   * on, `false` for a controller without the capability.
   */
  ota?: Partial<OtaOptions> | false;
  /**
   * Announce `group_led` and take `set_leds`, several LEDs in one COMMAND [SL-LED-2]; default
   * true. Off: a controller without the capability (the host sends one `set_led` per bin).
   */
  groupLed?: boolean;
  /** Readings kept for replay at most; beyond, the oldest is dropped and counted. Default 4096. */
  replayCapacity?: number;
}

export interface ShelfCounters {
  framesSent: number;
  bytesSent: number;
  readingsSent: number;
  commandsReceived: number;
  acks: number;
  nacks: number;
  /** Frames dropped because the host was not reading (transmit buffer full). */
  txDropped: number;
  boots: number;
  /** Kept readings dropped unstored because the replay store was full [SL-REPLAY-4]. */
  replayEvicted: number;
}

export interface ShelfSnapshot {
  serialNumber: string;
  /** The running slot's version (what HELLO reports). */
  firmwareVersion: string;
  binCount: number;
  powered: boolean;
  stalled: boolean;
  deviceTimeMs: number;
  sampleRateMilliHz: number;
  identifying: boolean;
  /** This boot's id (HELLO), null without the replay capability. */
  bootId: number | null;
  /** Readings kept for replay: sent (or waiting to be) and not yet covered by a STORED. */
  keptReadings: number;
  bins: {
    bin: number;
    count: number;
    unitWeightG: number;
    netG: number;
    reportedG: number;
    stable: boolean;
    fault: boolean;
    overload: boolean;
    led: LedState;
  }[];
  counters: ShelfCounters;
  rxBadFrames: Record<string, number>;
}
