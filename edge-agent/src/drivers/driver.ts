import type { CommandAction } from '@bitv/shared/events';
import type { DeviceInfo } from '../devices.js';
import type { NewReading, ReplayPosition } from '../outbox/index.js';

/** The outcome of executing one command on a device. */
export type CommandOutcome = { status: 'done' } | { status: 'failed'; reason: string };

/**
 * Where a driver delivers what its devices say. `readings` must be handled synchronously (the
 * agent commits them to the outbox in one transaction before the driver reads more input).
 */
export interface DriverSink {
  deviceOnline(info: DeviceInfo): void;
  deviceOffline(name: string): void;
  /**
   * `linkSeq`/`firstLinkSeq`: link sequence of the last and first frame of the batch. `replay`:
   * a replay controller's position after this batch, committed with it [SL-REPLAY-5]. Returns
   * whether the batch was committed (false: the write failed and the loss was counted).
   */
  readings(
    device: string,
    readings: NewReading[],
    linkSeq?: number,
    firstLinkSeq?: number,
    replay?: ReplayPosition,
  ): boolean;
  /**
   * Frames of the device that were sent but never stored (link-level sequence range), or, with a
   * `reason`, readings a replay controller no longer had (device-time range, ms) [SL-REPLAY-6].
   */
  linkGap(device: string, from: number, to: number, count: number, reason?: string): void;
  /** The committed replay position of the device (null when none yet) [SL-REPLAY-5]. */
  replayPosition(device: string): ReplayPosition | null;
  /** Readings a replay controller sent again that were already stored (not stored again). */
  duplicateReadings(device: string, count: number): void;
  /** Records the link sequence of a frame the device sent that carried no reading (HELLO). */
  linkSeen(device: string, linkSeq: number): void;
  /** The link sequence last committed for the device (null when none yet). */
  lastLinkSeq(device: string): number | null;
  badFrame(reason: string): void;
  /**
   * A link opened (`up`), was lost, or could not be opened: then `openError` says why (called at
   * every failed attempt; the agent counts them and reports the link down).
   */
  linkState(link: string, up: boolean, openError?: string): void;
}

export interface DriverStatus {
  link: string;
  up: boolean;
  devices: string[];
  detail?: Record<string, unknown>;
}

/** One kind of device attachment (a shelf on a serial port, a Firmata board). */
export interface Driver {
  readonly link: string;
  start(): void;
  /** Whether the device is served by this driver right now. */
  owns(device: string): boolean;
  execute(device: string, action: CommandAction): Promise<CommandOutcome>;
  status(): DriverStatus;
  close(): Promise<void>;
}
