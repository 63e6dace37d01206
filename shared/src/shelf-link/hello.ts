import { type BootReason, bootReason, capability, MAX_BINS, namesByCode } from './constants.js';
import { invalidField, PayloadError, type PayloadReader, type PayloadWriter } from './wire.js';

/**
 * HELLO, device to host, after every boot and on `request_hello` [SL-HELLO-1].
 *
 * ```
 * u8  protocolVersion      highest frame version the firmware speaks
 * u8  len, ASCII           firmwareVersion (1..16 printable chars, e.g. "1.4.2")
 * u8  len, ASCII           serialNumber (1..32 of [A-Za-z0-9._-]); device id = "shelf-" + serial
 * u8  binCount             1..128
 * u16 capabilities         bit set of `capability`
 * u32 sampleRateMilliHz    current READINGS rate in mHz (10 Hz = 10000)
 * u8  bootReason           `bootReason` code
 * u32 bootId               only with the `replay` capability: random, nonzero, new every boot
 * ```
 * Without `replay` the payload ends after bootReason; with it, bootId follows [SL-HELLO-1].
 */
export interface HelloMessage {
  type: 'hello';
  protocolVersion: number;
  firmwareVersion: string;
  serialNumber: string;
  binCount: number;
  capabilities: number;
  sampleRateMilliHz: number;
  bootReason: BootReason;
  /**
   * Present exactly when `capabilities` has `replay`: names this boot, so a host can tell which
   * READINGS a STORED covers [SL-REPLAY-1].
   */
  bootId?: number;
}

export const SERIAL_NUMBER_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
const bootReasons = namesByCode(bootReason);

export function writeHello(w: PayloadWriter, m: HelloMessage): void {
  w.u8(m.protocolVersion, 'protocolVersion');
  if (m.firmwareVersion.length === 0) invalidField('firmwareVersion', m.firmwareVersion);
  w.ascii(m.firmwareVersion, 16, 'firmwareVersion');
  if (!SERIAL_NUMBER_PATTERN.test(m.serialNumber)) invalidField('serialNumber', m.serialNumber);
  w.ascii(m.serialNumber, 32, 'serialNumber');
  if (m.binCount < 1 || m.binCount > MAX_BINS) invalidField('binCount', m.binCount);
  w.u8(m.binCount, 'binCount');
  w.u16(m.capabilities, 'capabilities');
  w.u32(m.sampleRateMilliHz, 'sampleRateMilliHz');
  w.code(bootReason, m.bootReason, 'bootReason');
  if ((m.capabilities & capability.replay) !== 0) {
    if (m.bootId === undefined || m.bootId === 0) invalidField('bootId', m.bootId);
    w.u32(m.bootId, 'bootId');
  } else if (m.bootId !== undefined) invalidField('bootId without the replay capability', m.bootId);
}

export function readHello(r: PayloadReader): HelloMessage {
  const protocolVersion = r.u8();
  const firmwareVersion = r.ascii(16);
  const serialNumber = r.ascii(32);
  if (firmwareVersion.length === 0 || !SERIAL_NUMBER_PATTERN.test(serialNumber))
    throw new PayloadError('malformed', 'bad firmware version or serial number');
  const binCount = r.u8();
  if (binCount < 1 || binCount > MAX_BINS) throw new PayloadError('malformed', `binCount ${binCount}`);
  const capabilities = r.u16();
  const sampleRateMilliHz = r.u32();
  const boot = r.named(bootReasons, r.u8(), 'boot reason');
  const replay = (capabilities & capability.replay) !== 0;
  const bootId = replay ? r.u32() : 0;
  r.end_();
  const hello: HelloMessage = {
    type: 'hello',
    protocolVersion,
    firmwareVersion,
    serialNumber,
    binCount,
    capabilities,
    sampleRateMilliHz,
    bootReason: boot,
  };
  if (replay) {
    if (bootId === 0) throw new PayloadError('malformed', 'bootId 0');
    hello.bootId = bootId;
  }
  return hello;
}
