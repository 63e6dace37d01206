import { ALL_BINS, type EventKind, eventKind, namesByCode } from './constants.js';
import { invalidField, type PayloadReader, type PayloadWriter } from './wire.js';

/**
 * EVENT, device to host, when something happens that is not a reading [SL-EVENT-1].
 *
 * ```
 * u64 deviceTimeMs
 * u8  kind        `eventKind` code
 * u8  bin         bin index, or 255 = the whole shelf
 * i32 value       kind-specific: overload = weight in 0.1 g, brown_out = supply mV, else 0
 * ```
 */
export interface EventMessage {
  type: 'event';
  deviceTimeMs: number;
  kind: EventKind;
  /** The bin concerned, or null for the whole shelf. */
  bin: number | null;
  value: number;
}

const kinds = namesByCode(eventKind);

export function writeEvent(w: PayloadWriter, m: EventMessage): void {
  w.u64(m.deviceTimeMs, 'deviceTimeMs');
  w.code(eventKind, m.kind, 'event kind');
  if (m.bin === ALL_BINS) invalidField('bin', m.bin);
  w.u8(m.bin ?? ALL_BINS, 'bin');
  w.i32(m.value, 'value');
}

export function readEvent(r: PayloadReader): EventMessage {
  const deviceTimeMs = r.u64();
  const kind = r.named(kinds, r.u8(), 'event kind');
  const bin = r.u8();
  const value = r.i32();
  r.end_();
  return { type: 'event', deviceTimeMs, kind, bin: bin === ALL_BINS ? null : bin, value };
}
