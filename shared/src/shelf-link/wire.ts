import { ValidationError } from '../errors/index.js';

/**
 * Little-endian reader/writer over one frame's payload. The reader throws `PayloadError`, which
 * the decoder turns into a counted bad frame; the writer throws `ValidationError`, because a
 * message that cannot be encoded is the sender's bug.
 */

export class PayloadError extends Error {
  constructor(
    readonly reason: 'length' | 'malformed',
    message: string,
  ) {
    super(message);
  }
}

export class PayloadReader {
  private readonly view: DataView;
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    from: number,
    public end: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = from;
  }

  /** Points the reader at `bytes[from, end)` again (the decoder reuses one reader per frame). */
  reset(from: number, end: number): this {
    this.pos = from;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (this.pos + n > this.end) throw new PayloadError('length', `payload too short: need ${n} more bytes`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  i16(): number {
    this.need(2);
    const v = this.view.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** u64 that must fit a JS safe integer (device times in ms) [SL-TYPES-1]. */
  u64(): number {
    this.need(8);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    if (hi > 0x1fffff) throw new PayloadError('malformed', 'u64 above 2^53-1');
    return hi * 0x1_0000_0000 + lo;
  }

  /** u8 length + printable ASCII (0x21..0x7E) [SL-TYPES-2]. */
  ascii(max: number): string {
    const n = this.u8();
    if (n > max) throw new PayloadError('malformed', `string longer than ${max}`);
    this.need(n);
    let s = '';
    for (let i = 0; i < n; i++) {
      const c = this.bytes[this.pos + i]!;
      if (c < 0x21 || c > 0x7e) throw new PayloadError('malformed', 'string is not printable ASCII');
      s += String.fromCharCode(c);
    }
    this.pos += n;
    return s;
  }

  /** Every byte left in the payload (a copy: the decoder reuses its buffer). */
  rest(): Uint8Array {
    const out = new Uint8Array(this.bytes.subarray(this.pos, this.end));
    this.pos = this.end;
    return out;
  }

  /** Exactly `n` bytes (a copy). */
  raw(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /** Name for a code of `table`; unknown codes are malformed. */
  named<K extends string>(byCode: ReadonlyMap<number, K>, code: number, what: string): K {
    const name = byCode.get(code);
    if (name === undefined) throw new PayloadError('malformed', `unknown ${what} ${code}`);
    return name;
  }

  end_(): void {
    if (this.pos !== this.end)
      throw new PayloadError('length', `${this.end - this.pos} trailing payload bytes`);
  }
}

/** Throws the encoder's `ValidationError` for a field that cannot be put on the wire. */
export function invalidField(what: string, value: unknown): never {
  throw new ValidationError(`shelf-link: ${what} out of range: ${String(value)}`, { details: { what } });
}

function check(ok: boolean, what: string, value: unknown): void {
  if (!ok) invalidField(what, value);
}

export class PayloadWriter {
  private readonly view: DataView;
  pos: number;

  /** Writes into `bytes` from `from`, never at or past `limit`. */
  constructor(
    readonly bytes: Uint8Array,
    from: number,
    private readonly limit = bytes.length,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = from;
  }

  /** Starts over at `from` (the encoder reuses one writer for every frame). */
  reset(from: number): this {
    this.pos = from;
    return this;
  }

  private room(n: number): void {
    check(this.pos + n <= this.limit, 'payload length', this.pos + n);
  }

  u8(v: number, what: string): void {
    check(Number.isInteger(v) && v >= 0 && v <= 0xff, what, v);
    this.room(1);
    this.bytes[this.pos++] = v;
  }

  u16(v: number, what: string): void {
    check(Number.isInteger(v) && v >= 0 && v <= 0xffff, what, v);
    this.room(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  i16(v: number, what: string): void {
    check(Number.isInteger(v) && v >= -0x8000 && v <= 0x7fff, what, v);
    this.room(2);
    this.view.setInt16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number, what: string): void {
    check(Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff, what, v);
    this.room(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  i32(v: number, what: string): void {
    check(Number.isInteger(v) && v >= -0x8000_0000 && v <= 0x7fff_ffff, what, v);
    this.room(4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
  }

  u64(v: number, what: string): void {
    check(Number.isSafeInteger(v) && v >= 0, what, v);
    this.room(8);
    this.view.setUint32(this.pos, v % 0x1_0000_0000, true);
    this.view.setUint32(this.pos + 4, Math.floor(v / 0x1_0000_0000), true);
    this.pos += 8;
  }

  ascii(s: string, max: number, what: string): void {
    check(s.length <= max, `${what} length`, s.length);
    this.u8(s.length, what);
    this.room(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      check(c >= 0x21 && c <= 0x7e, `${what} character`, s);
      this.bytes[this.pos++] = c;
    }
  }

  raw(data: Uint8Array, what: string): void {
    check(data instanceof Uint8Array, what, typeof data);
    this.room(data.length);
    this.bytes.set(data, this.pos);
    this.pos += data.length;
  }

  code<K extends string>(table: Readonly<Record<K, number>>, name: K, what: string): void {
    check(Object.hasOwn(table, name), what, name);
    this.u8(table[name], what);
  }
}
