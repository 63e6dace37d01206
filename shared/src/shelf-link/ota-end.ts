import { namesByCode, type OtaAction, otaAction } from './constants.js';
import type { PayloadReader, PayloadWriter } from './wire.js';

/**
 * OTA_END, host to device [SL-OTA-4]: `commit` (every byte is there: check the digest, then
 * reboot into the new slot on trial) or `abort` (forget the partial image). ACK or NACK first;
 * a commit whose image is incomplete or whose digest differs is NACKed `invalid_argument` and
 * the OTA_STATUS that follows says why.
 *
 * ```
 * u8 action   1 commit, 2 abort
 * ```
 */
export interface OtaEndMessage {
  type: 'ota_end';
  action: OtaAction;
}

const actions = namesByCode(otaAction);

export function writeOtaEnd(w: PayloadWriter, m: OtaEndMessage): void {
  w.code(otaAction, m.action, 'action');
}

export function readOtaEnd(r: PayloadReader): OtaEndMessage {
  const action = r.named(actions, r.u8(), 'OTA action');
  r.end_();
  return { type: 'ota_end', action };
}
