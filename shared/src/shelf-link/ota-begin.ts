import { FIRMWARE_VERSION_PATTERN } from '../firmware/manifest.js';
import { invalidField, PayloadError, type PayloadReader, type PayloadWriter } from './wire.js';

/**
 * OTA_BEGIN, host to device: an image of `size` bytes with SHA-256 `sha256` and version `version`
 * follows in OTA_CHUNKs [SL-OTA-2]. Answered with ACK or NACK (opcode = this type, 0x20), then
 * an OTA_STATUS whose `received` says where to continue (0, or more when resuming the same image).
 *
 * ```
 * u32  size        image bytes (1..16 MiB)
 * u8[32] sha256    digest of the whole image
 * u8 len, ASCII    version (the manifest's, 1..16 chars)
 * ```
 */
export interface OtaBeginMessage {
  type: 'ota_begin';
  size: number;
  /** Lowercase hex, 64 chars (32 bytes on the wire). */
  sha256: string;
  version: string;
}

export const OTA_MAX_IMAGE = 16 * 1024 * 1024;

export function writeOtaBegin(w: PayloadWriter, m: OtaBeginMessage): void {
  if (m.size < 1 || m.size > OTA_MAX_IMAGE) invalidField('size', m.size);
  w.u32(m.size, 'size');
  if (!/^[0-9a-f]{64}$/.test(m.sha256)) invalidField('sha256', m.sha256);
  w.raw(Buffer.from(m.sha256, 'hex'), 'sha256');
  if (!FIRMWARE_VERSION_PATTERN.test(m.version)) invalidField('version', m.version);
  w.ascii(m.version, 16, 'version');
}

export function readOtaBegin(r: PayloadReader): OtaBeginMessage {
  const size = r.u32();
  const sha256 = Buffer.from(r.raw(32)).toString('hex');
  const version = r.ascii(16);
  r.end_();
  if (size < 1 || size > OTA_MAX_IMAGE) throw new PayloadError('malformed', `image size ${size}`);
  if (!FIRMWARE_VERSION_PATTERN.test(version)) throw new PayloadError('malformed', `version ${version}`);
  return { type: 'ota_begin', size, sha256, version };
}
