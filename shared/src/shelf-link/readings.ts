import { MAX_BINS, TEMPERATURE_UNAVAILABLE } from './constants.js';
import { invalidField, PayloadError, type PayloadReader, type PayloadWriter } from './wire.js';

/**
 * READINGS, device to host, at the configured sample rate [SL-READ-1].
 *
 * ```
 * u64 deviceTimeMs         monotonic ms since boot (never goes backwards within one boot)
 * i16 temperatureCentiC    0.01 degC; -32768 = not available
 * u8  binCount             1..128, equal to HELLO's
 * binCount x {
 *   i32 weightDg           net weight in 0.1 g (decigrams), after tare and calibration
 *   u8  flags              `binFlag` bits
 * }
 * ```
 * Payload length is exactly 11 + 5 * binCount; anything else is a `length` error.
 */
export interface ReadingsMessage {
  type: 'readings';
  deviceTimeMs: number;
  /** 0.01 degC, or null when the controller has no working temperature sensor. */
  temperatureCentiC: number | null;
  /** Per bin (index = bin number), net weight in 0.1 g. */
  weightsDg: number[];
  /** Per bin, `binFlag` bits. Same length as `weightsDg`. */
  binFlags: number[];
}

export function writeReadings(w: PayloadWriter, m: ReadingsMessage): void {
  const n = m.weightsDg.length;
  w.u64(m.deviceTimeMs, 'deviceTimeMs');
  if (m.temperatureCentiC === TEMPERATURE_UNAVAILABLE) invalidField('temperatureCentiC', m.temperatureCentiC);
  w.i16(m.temperatureCentiC ?? TEMPERATURE_UNAVAILABLE, 'temperatureCentiC');
  if (n < 1 || n > MAX_BINS || m.binFlags.length !== n) invalidField('binCount', n);
  w.u8(n, 'binCount');
  for (let i = 0; i < n; i++) {
    w.i32(m.weightsDg[i]!, 'weightDg');
    w.u8(m.binFlags[i]!, 'binFlags');
  }
}

export function readReadings(r: PayloadReader): ReadingsMessage {
  const deviceTimeMs = r.u64();
  const t = r.i16();
  const n = r.u8();
  if (r.remaining !== n * 5) throw new PayloadError('length', `readings for ${n} bins need ${n * 5} bytes`);
  if (n < 1 || n > MAX_BINS) throw new PayloadError('malformed', `binCount ${n}`);
  // Hot path (the benchmark's frame): read straight from the bytes, no per-field bounds checks;
  // the exact length was checked above.
  const bytes = r.bytes;
  const weightsDg = new Array<number>(n);
  const binFlags = new Array<number>(n);
  let p = r.pos;
  for (let i = 0; i < n; i++) {
    weightsDg[i] = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
    binFlags[i] = bytes[p + 4]!;
    p += 5;
  }
  r.pos = p;
  return {
    type: 'readings',
    deviceTimeMs,
    temperatureCentiC: t === TEMPERATURE_UNAVAILABLE ? null : t,
    weightsDg,
    binFlags,
  };
}
