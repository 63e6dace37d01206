import { invalidField, PayloadError, type PayloadReader, type PayloadWriter } from './wire.js';

/**
 * STORED, host to device: every READINGS of boot `bootId` with `deviceTimeMs` at or below this
 * one is durably stored, so the device may forget it [SL-STORED-1]. Not answered; a device
 * ignores it when `bootId` is not its current one [SL-STORED-2].
 *
 * ```
 * u32 bootId         the boot the readings belong to, from HELLO (nonzero)
 * u64 deviceTimeMs   the newest stored reading's deviceTimeMs
 * ```
 */
export interface StoredMessage {
  type: 'stored';
  bootId: number;
  deviceTimeMs: number;
}

export function writeStored(w: PayloadWriter, m: StoredMessage): void {
  if (m.bootId === 0) invalidField('bootId', m.bootId);
  w.u32(m.bootId, 'bootId');
  w.u64(m.deviceTimeMs, 'deviceTimeMs');
}

export function readStored(r: PayloadReader): StoredMessage {
  const bootId = r.u32();
  const deviceTimeMs = r.u64();
  r.end_();
  if (bootId === 0) throw new PayloadError('malformed', 'bootId 0');
  return { type: 'stored', bootId, deviceTimeMs };
}
