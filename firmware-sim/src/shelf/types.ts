import type { LedBlink } from '@bitv/shared/shelf-link';
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
}

export interface ShelfSnapshot {
  serialNumber: string;
  binCount: number;
  powered: boolean;
  stalled: boolean;
  deviceTimeMs: number;
  sampleRateMilliHz: number;
  identifying: boolean;
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
