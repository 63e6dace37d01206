import type { Metric, MetricType, Payload } from './payload.js';

/*
 * A direct protobuf reader for the payloads every gateway sends all day (plain metrics: DDATA
 * readings, NDATA health, births): the same `Payload` the Tahu codec path of `decodePayload`
 * builds (checked by property tests), without protobufjs' message objects and Longs, because the
 * gateway decodes every PUBLISH and the object model was its largest cost after aedes itself.
 *
 * It reads only the unambiguous form: each field at most once with its declared wire type, every
 * metric named, of a plain type, holding exactly the value field of that type (or is_null). On
 * anything else (aliases, metadata, properties, datasets, templates, bytes, unknown fields, a body,
 * truncation) it answers `undefined` and the caller decodes with the Tahu codec, so edge cases keep
 * that codec's meaning and its errors. Wire layout (sparkplug_b.proto): Payload { 1 timestamp:
 * uint64, 2 metrics: Metric[], 3 seq: uint64, 4 uuid: string }, Metric { 1 name, 3 timestamp:
 * uint64, 4 datatype: uint32, 5 is_historical, 6 is_transient, 7 is_null, 10 int_value: uint32,
 * 11 long_value: uint64, 12 float_value, 13 double_value, 14 boolean_value, 15 string_value }.
 */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;

/** Datatype number -> name and the value field it uses. */
const types: readonly (readonly [MetricType, number] | undefined)[] = [
  undefined,
  ['Int8', 10],
  ['Int16', 10],
  ['Int32', 10],
  ['Int64', 11],
  ['UInt8', 10],
  ['UInt16', 10],
  ['UInt32', 11],
  ['UInt64', 11],
  ['Float', 12],
  ['Double', 13],
  ['Boolean', 14],
  ['String', 15],
  ['DateTime', 11],
  ['Text', 15],
  ['UUID', 15],
];

/** Thrown inside the reader to give up on the fast path; never escapes it. */
const unsupported = Symbol('unsupported');

class Reader {
  pos: number;
  /** Moved from metric to metric by a payload's one metric reader. */
  end: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    end: number,
  ) {
    this.pos = start;
    this.end = end;
  }

  /**
   * A uint32 field, read as protobufjs reads one: at most five bytes. Longer or wider encodings
   * (which protobufjs would misread, not refuse) leave the fast path.
   */
  varint32(): number {
    const b = this.buf;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw unsupported;
      const byte = b[this.pos++]!;
      if (shift === 28 && byte > 0x0f) throw unsupported;
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value >>> 0;
    }
    throw unsupported;
  }

  /** The two 32-bit halves of the last uint64 read. */
  lo = 0;
  hi = 0;

  /** A uint64 field, up to ten bytes, into `lo` and `hi`. */
  long(): void {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.end || shift > 63) throw unsupported;
      const byte = b[this.pos++]!;
      if (shift < 28) lo |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >> 4;
      } else if (shift < 63) hi |= (byte & 0x7f) << (shift - 32);
      else if (byte > 1) throw unsupported;
      else hi |= byte << 31;
      if (byte < 0x80) break;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /**
   * A uint64 as a number, signed as two's complement for Int64; one that is not exactly
   * representable leaves the fast path (the Tahu path refuses it with its own message).
   */
  uint64(signed = false): number {
    this.long();
    const n = (signed ? this.hi | 0 : this.hi) * 0x1_0000_0000 + this.lo;
    if (!Number.isSafeInteger(n)) throw unsupported;
    return n;
  }

  /** The end of a length-delimited field starting here. */
  length(): number {
    const len = this.varint32();
    if (len > this.end - this.pos) throw unsupported;
    return this.pos + len;
  }

  /** A metric name: the same few dozen arrive in every message, so they come from `names`. */
  name(): string {
    const end = this.length();
    const s = names.get(this.buf, this.pos, end);
    this.pos = end;
    return s;
  }

  string(): string {
    const end = this.length();
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }
}

/**
 * Strings for name bytes seen before, by a hash of the bytes (checked byte for byte). Making a
 * string from bytes, and hashing that new string again at every lookup by name, cost more than
 * the rest of the decoding; a cached name is the same string each time. Bounded: names beyond
 * the bound are decoded each time.
 */
class NameCache {
  readonly #entries = new Map<number, { bytes: Buffer; name: string }>();

  get(buf: Buffer, start: number, end: number): string {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const hit = this.#entries.get(h);
    if (hit && hit.bytes.length === end - start) {
      let same = true;
      for (let i = 0; i < hit.bytes.length && same; i++) same = hit.bytes[i] === buf[start + i];
      if (same) return hit.name;
    }
    const name = buf.toString('utf8', start, end);
    if (!hit && this.#entries.size < 1024)
      this.#entries.set(h, { bytes: Buffer.from(buf.subarray(start, end)), name });
    return name;
  }
}

const names = new NameCache();

/** The payload, or `undefined` when it is not in the simple form this reader handles. */
export function readPlainPayload(bytes: Uint8Array, maxMetrics: number): Payload | undefined {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(buf, 0, buf.length);
  // one reader for every metric, moved along: a reader per metric was most of the garbage here
  const m = new Reader(buf, 0, 0);
  const metrics: Metric[] = [];
  let timestamp: number | undefined;
  let seq: number | undefined;
  let uuid: string | undefined;
  let seen = 0;
  try {
    while (r.pos < r.end) {
      const key = r.varint32();
      const field = key >>> 3;
      const wire = key & 7;
      const bit = 1 << field;
      if (field !== 2) {
        if (field > 4 || seen & bit) return undefined;
        seen |= bit;
      }
      if (field === 1 && wire === VARINT) timestamp = r.uint64();
      else if (field === 2 && wire === LENGTH) {
        if (metrics.length === maxMetrics) return undefined;
        const end = r.length();
        m.pos = r.pos;
        m.end = end;
        const metric = readMetric(m);
        if (!metric) return undefined;
        metrics.push(metric);
        r.pos = end;
      } else if (field === 3 && wire === VARINT) seq = r.uint64();
      else if (field === 4 && wire === LENGTH) {
        const text = r.string();
        if (text !== '') uuid = text;
      } else return undefined;
    }
  } catch (error) {
    if (error === unsupported) return undefined;
    throw error;
  }
  // whole in the common case (timestamp and seq, no uuid), as for metrics below
  let payload: Payload;
  if (timestamp !== undefined && seq !== undefined) payload = { timestamp, metrics, seq };
  else {
    payload = { metrics };
    if (timestamp !== undefined) payload.timestamp = timestamp;
    if (seq !== undefined) payload.seq = seq;
  }
  if (uuid !== undefined) payload.uuid = uuid;
  return payload;
}

function readMetric(r: Reader): Metric | undefined {
  let name: string | undefined;
  let datatype = 0;
  let timestamp: number | undefined;
  let historical = false;
  let transient = false;
  let isNull = false;
  let valueField = 0;
  let valueAt = 0;
  let seen = 0;
  while (r.pos < r.end) {
    const key = r.varint32();
    const field = key >>> 3;
    const wire = key & 7;
    if (field > 15 || (field >= 8 && field <= 9) || field === 2) return undefined;
    const bit = 1 << field;
    if (seen & bit) return undefined;
    seen |= bit;
    if (field >= 10) {
      // a value: read later, once the datatype is known (fields may come in any order)
      if (valueField !== 0 || wire !== valueWire[field]) return undefined;
      valueField = field;
      valueAt = r.pos;
      // protobufjs reads int_value and boolean_value as 32-bit varints even when the metric is
      // null, and one longer than five bytes moves it past the field's end: read them as it does
      // (such a one leaves the fast path) rather than skip them whole
      if (field === 10 || field === 14) r.varint32();
      else skip(r, wire);
      continue;
    }
    switch (field) {
      case 1:
        if (wire !== LENGTH) return undefined;
        name = r.name();
        break;
      case 3:
        if (wire !== VARINT) return undefined;
        timestamp = r.uint64();
        break;
      case 4:
        if (wire !== VARINT) return undefined;
        datatype = r.varint32();
        break;
      case 5:
      case 6:
      case 7: {
        if (wire !== VARINT) return undefined;
        const flag = r.varint32() !== 0;
        if (field === 5) historical = flag;
        else if (field === 6) transient = flag;
        else isNull = flag;
        break;
      }
      default:
        return undefined;
    }
  }
  const type = types[datatype];
  if (!type || name === undefined || name === '') return undefined;
  let value: Metric['value'] = null;
  if (!isNull) {
    if (valueField !== type[1]) return undefined;
    r.pos = valueAt;
    value = readValue(r, datatype);
  }
  // made whole where it can be: a property added after the literal costs an allocation per metric
  const metric: Metric =
    timestamp !== undefined ? { name, type: type[0], value, timestamp } : { name, type: type[0], value };
  if (historical) metric.isHistorical = true;
  if (transient) metric.isTransient = true;
  return metric;
}

const valueWire: Record<number, number> = {
  10: VARINT,
  11: VARINT,
  12: FIXED32,
  13: FIXED64,
  14: VARINT,
  15: LENGTH,
};

/** What the Tahu codec makes of each type's value field, then `decodePayload` of that. */
function readValue(r: Reader, datatype: number): Metric['value'] {
  switch (datatype) {
    case 1:
    case 2:
    case 3:
      return r.varint32() | 0;
    case 4:
      return r.uint64(true);
    case 5:
    case 6:
      return r.varint32();
    case 7: // UInt32 travels in long_value, read whole as the codec path reads it
    case 8:
    case 13:
      return r.uint64();
    case 9: {
      const v = r.buf.readFloatLE(r.pos);
      r.pos += 4;
      return v;
    }
    case 10: {
      const v = r.buf.readDoubleLE(r.pos);
      r.pos += 8;
      return v;
    }
    case 11:
      return r.varint32() !== 0;
    default:
      return r.string();
  }
}

function skip(r: Reader, wire: number): void {
  if (wire === VARINT) r.long();
  else if (wire === FIXED64 || wire === FIXED32) {
    const n = wire === FIXED64 ? 8 : 4;
    if (r.pos + n > r.end) throw unsupported;
    r.pos += n;
  } else r.pos = r.length();
}
