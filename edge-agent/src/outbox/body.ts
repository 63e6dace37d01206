import { ValidationError } from '@bitv/shared/errors';

/** What one stored reading holds besides its ids: per-bin weights and an optional temperature. */
export interface ReadingValues {
  bins: { bin: number; weightG: number }[];
  temperatureC?: number | undefined;
}

/*
 * Compact row body (little-endian), so a million queued readings stay small on disk and cheap
 * to read back:
 *   u8 version (1) | u8 flags (bit0: temperature present) | u8 bin count
 *   [f64 temperatureC] | bin count x { u8 bin | f64 weightG }
 */
const VERSION = 1;

export function encodeBody(values: ReadingValues): Buffer {
  const n = values.bins.length;
  if (n > 255) throw new ValidationError(`reading has ${n} bins, more than 255`);
  const hasT = values.temperatureC !== undefined;
  const buf = Buffer.allocUnsafe(3 + (hasT ? 8 : 0) + n * 9);
  // DataView, not buf.writeDoubleLE: the deployed agent runs without TurboFan (--no-opt, see
  // deploy/bitv-edge.service) and there Buffer's JS write helpers made encoding the ingest
  // bottleneck (~3x slower than DataView's built-in, measured).
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf[0] = VERSION;
  buf[1] = hasT ? 1 : 0;
  buf[2] = n;
  let p = 3;
  if (hasT) {
    view.setFloat64(p, values.temperatureC as number, true);
    p += 8;
  }
  for (let i = 0; i < n; i++) {
    const b = values.bins[i]!;
    buf[p] = b.bin;
    view.setFloat64(p + 1, b.weightG, true);
    p += 9;
  }
  return buf;
}

export function decodeBody(b: Uint8Array): ReadingValues {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0] !== VERSION) throw new ValidationError(`outbox row body version ${b[0]} unknown`);
  const hasT = (b[1]! & 1) === 1;
  const n = b[2]!;
  let p = 3;
  const out: ReadingValues = { bins: new Array(n) };
  if (hasT) {
    out.temperatureC = view.getFloat64(p, true);
    p += 8;
  }
  for (let i = 0; i < n; i++) {
    out.bins[i] = { bin: b[p]!, weightG: view.getFloat64(p + 1, true) };
    p += 9;
  }
  return out;
}
