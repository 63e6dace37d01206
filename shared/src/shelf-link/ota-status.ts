import {
  namesByCode,
  type OtaReason,
  type OtaResult,
  type OtaState,
  otaReason,
  otaResult,
  otaState,
} from './constants.js';
import { invalidField, PayloadError, type PayloadReader, type PayloadWriter } from './wire.js';

/**
 * OTA_STATUS, device to host [SL-OTA-7]: after the HELLO of every boot (with the `ota`
 * capability), after answering OTA_BEGIN and OTA_END, and when a trial ends (committed or
 * rolled back). Not answered.
 *
 * ```
 * u8  activeSlot        0 or 1: the slot running now
 * u8  state             0 idle, 1 receiving, 2 trial (running a slot not yet committed)
 * u8 len, ASCII         activeVersion
 * u8 len, ASCII         otherVersion (the other slot's; length 0 = empty)
 * u32 received          bytes of the image being received (resume from here)
 * u8  lastResult        0 none, 1 success, 2 rolled_back, 3 aborted, 4 refused
 * u8  lastReason        0 none, 1 health_check, 2 digest, 3 boot_failed, 4 host_abort,
 *                       5 power_loss, 6 incomplete; unknown codes read as unspecified
 * ```
 */
export interface OtaStatusMessage {
  type: 'ota_status';
  activeSlot: 0 | 1;
  state: OtaState;
  activeVersion: string;
  otherVersion: string;
  received: number;
  lastResult: OtaResult;
  lastReason: OtaReason;
}

const states = namesByCode(otaState);
const results = namesByCode(otaResult);
const reasons = namesByCode(otaReason);

export function writeOtaStatus(w: PayloadWriter, m: OtaStatusMessage): void {
  if (m.activeSlot !== 0 && m.activeSlot !== 1) invalidField('activeSlot', m.activeSlot);
  w.u8(m.activeSlot, 'activeSlot');
  w.code(otaState, m.state, 'state');
  if (m.activeVersion.length === 0) invalidField('activeVersion', m.activeVersion);
  w.ascii(m.activeVersion, 16, 'activeVersion');
  w.ascii(m.otherVersion, 16, 'otherVersion');
  w.u32(m.received, 'received');
  w.code(otaResult, m.lastResult, 'lastResult');
  w.code(otaReason, m.lastReason, 'lastReason');
}

export function readOtaStatus(r: PayloadReader): OtaStatusMessage {
  const slot = r.u8();
  if (slot > 1) throw new PayloadError('malformed', `slot ${slot}`);
  const state = r.named(states, r.u8(), 'OTA state');
  const activeVersion = r.ascii(16);
  if (activeVersion.length === 0) throw new PayloadError('malformed', 'empty active version');
  const otherVersion = r.ascii(16);
  const received = r.u32();
  const lastResult = r.named(results, r.u8(), 'OTA result');
  const lastReason = reasons.get(r.u8()) ?? 'unspecified';
  r.end_();
  return {
    type: 'ota_status',
    activeSlot: slot as 0 | 1,
    state,
    activeVersion,
    otherVersion,
    received,
    lastResult,
    lastReason,
  };
}
