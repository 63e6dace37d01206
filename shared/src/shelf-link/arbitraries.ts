import fc from 'fast-check';
import type { Command } from './command.js';
import {
  bootReason,
  capability,
  commandOpcode,
  eventKind,
  ledBlink,
  MAX_BINS,
  MAX_GROUP_LEDS,
  nackReason,
  OTA_MAX_CHUNK,
  otaAction,
  otaReason,
  otaResult,
  otaState,
  TEMPERATURE_UNAVAILABLE,
} from './constants.js';
import { crc16 } from './crc16.js';
import type { ShelfMessage } from './message.js';

/**
 * fast-check generators for every shelf-link message, within the wire's ranges. Exported so the
 * simulator and the edge agent can property-test their own handling with the same shapes.
 */
const keys = <T extends object>(o: T) => Object.keys(o) as (keyof T & string)[];
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const time = fc.maxSafeNat();
const bootId = fc.integer({ min: 1, max: 0xffff_ffff });
const printable = (min: number, max: number) =>
  fc.string({
    unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: min,
    maxLength: max,
  });
const serial = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-'),
  minLength: 1,
  maxLength: 32,
});

export const arbitraryCommand: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('tare' as const), bin: u8 }),
  fc.record({ op: fc.constant('calibrate' as const), bin: u8, knownWeightDg: u32 }),
  fc.record({
    op: fc.constant('set_led' as const),
    bin: u8,
    color: fc.integer({ min: 0, max: 0xffffff }),
    blink: fc.constantFrom(...keys(ledBlink)),
  }),
  fc.record({ op: fc.constant('set_sample_rate' as const), milliHz: u32 }),
  fc.constant({ op: 'reboot' as const }),
  fc.record({ op: fc.constant('identify' as const), seconds: u16 }),
  fc.constant({ op: 'request_hello' as const }),
  fc.record({
    op: fc.constant('set_leds' as const),
    leds: fc.array(
      fc.record({
        bin: u8,
        color: fc.integer({ min: 0, max: 0xffffff }),
        blink: fc.constantFrom(...keys(ledBlink)),
      }),
      { minLength: 1, maxLength: MAX_GROUP_LEDS },
    ),
  }),
);

export const arbitraryMessage: fc.Arbitrary<ShelfMessage> = fc.oneof(
  fc
    .record({
      type: fc.constant('hello' as const),
      protocolVersion: u8,
      firmwareVersion: printable(1, 16),
      serialNumber: serial,
      binCount: fc.integer({ min: 1, max: MAX_BINS }),
      capabilities: u16,
      sampleRateMilliHz: u32,
      bootReason: fc.constantFrom(...keys(bootReason)),
    })
    // [SL-HELLO-1] bootId is on the wire exactly when the replay bit is set.
    .chain((h) =>
      (h.capabilities & capability.replay) === 0
        ? fc.constant(h)
        : bootId.map((id) => ({ ...h, bootId: id })),
    ),
  fc.integer({ min: 1, max: MAX_BINS }).chain((n) =>
    fc.record({
      type: fc.constant('readings' as const),
      deviceTimeMs: time,
      temperatureCentiC: fc.option(fc.integer({ min: TEMPERATURE_UNAVAILABLE + 1, max: 0x7fff }), {
        nil: null,
      }),
      weightsDg: fc.array(fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }), {
        minLength: n,
        maxLength: n,
      }),
      binFlags: fc.array(u8, { minLength: n, maxLength: n }),
    }),
  ),
  fc.record({
    type: fc.constant('event' as const),
    deviceTimeMs: time,
    kind: fc.constantFrom(...keys(eventKind)),
    bin: fc.option(fc.integer({ min: 0, max: 0xfe }), { nil: null }),
    value: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
  }),
  fc.record({ type: fc.constant('heartbeat' as const), timeMs: time }),
  fc.record({ type: fc.constant('stored' as const), bootId, deviceTimeMs: time }),
  fc.record({ type: fc.constant('command' as const), command: arbitraryCommand }),
  fc.record({ type: fc.constant('ack' as const), commandSeq: u16, opcode: u8 }),
  fc.record({
    type: fc.constant('nack' as const),
    commandSeq: u16,
    opcode: u8,
    reason: fc.constantFrom(...keys(nackReason)),
  }),
  fc.record({
    type: fc.constant('ota_begin' as const),
    size: fc.integer({ min: 1, max: 16 * 1024 * 1024 }),
    sha256: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
    version: fc.tuple(fc.nat(9999), fc.nat(9999), fc.nat(9999)).map((v) => v.join('.')),
  }),
  fc
    .record({ offset: u32, data: fc.uint8Array({ minLength: 1, maxLength: OTA_MAX_CHUNK }) })
    .map(({ offset, data }) => ({ type: 'ota_chunk' as const, offset, crc: crc16(data), data })),
  fc.record({ type: fc.constant('ota_end' as const), action: fc.constantFrom(...keys(otaAction)) }),
  fc.record({
    type: fc.constant('ota_status' as const),
    activeSlot: fc.constantFrom(0 as const, 1 as const),
    state: fc.constantFrom(...keys(otaState)),
    activeVersion: printable(1, 16),
    otherVersion: printable(0, 16),
    received: u32,
    lastResult: fc.constantFrom(...keys(otaResult)),
    lastReason: fc.constantFrom(...keys(otaReason)),
  }),
);

export const arbitrarySeq = u16;
/** Used to build unknown-opcode command frames in tests. */
export const knownOpcodes: ReadonlySet<number> = new Set(Object.values(commandOpcode));
