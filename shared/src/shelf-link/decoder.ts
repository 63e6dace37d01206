import { cobsDecodeZeroFree } from './cobs.js';
import {
  CRC_LENGTH,
  HEADER_LENGTH,
  MAX_ENCODED_LENGTH,
  MAX_FRAME_LENGTH,
  messageType,
  PROTOCOL_VERSION,
} from './constants.js';
import { crc16 } from './crc16.js';
import { isKnownType, readPayload } from './frame.js';
import type { ShelfMessage } from './message.js';
import { PayloadError, PayloadReader } from './wire.js';

/** Why a frame was dropped [SL-RX-2]. */
export type BadFrameReason = 'cobs' | 'length' | 'crc' | 'version' | 'unknown_type' | 'malformed';
export const badFrameReasons: readonly BadFrameReason[] = [
  'cobs',
  'length',
  'crc',
  'version',
  'unknown_type',
  'malformed',
];

export interface DecodedFrame {
  seq: number;
  message: ShelfMessage;
  /** Frames missing from the sequence just before this one (0 normally) [SL-RX-3]. */
  lost: number;
}

export interface BadFrame {
  reason: BadFrameReason;
  /** Header fields, present only when the CRC was good (so they can be trusted). */
  type?: number;
  seq?: number;
  /** Copy of the payload when the CRC was good: lets a device NACK an unknown opcode. */
  payload?: Uint8Array;
}

export interface DecoderStats {
  frames: number;
  bytes: number;
  badFrames: Record<BadFrameReason, number>;
  /** Frames skipped in the sequence (lost on the wire or dropped as bad). */
  lostFrames: number;
  /** Sequence went backwards or repeated outside a HELLO (sender restarted or duplicated). */
  sequenceResets: number;
}

export interface FrameDecoderOptions {
  /** Called for every dropped frame, after it was counted. */
  onBadFrame?: (bad: BadFrame) => void;
}

/**
 * Streaming decoder: push bytes as they arrive, get whole messages back. Never throws on input
 * [SL-RX-1]; resynchronises at the next 0x00 after garbage or a cut frame; counts bad frames by
 * reason and frames lost from the sequence.
 */
export class FrameDecoder {
  readonly stats: DecoderStats = {
    frames: 0,
    bytes: 0,
    badFrames: { cobs: 0, length: 0, crc: 0, version: 0, unknown_type: 0, malformed: 0 },
    lostFrames: 0,
    sequenceResets: 0,
  };
  private readonly onBadFrame: ((bad: BadFrame) => void) | undefined;
  /** Bytes of a frame whose delimiter has not arrived yet. */
  private readonly pending = new Uint8Array(MAX_ENCODED_LENGTH);
  private pendingLength = 0;
  /** Set after an over-long run without delimiter: drop bytes until the next 0x00. */
  private discarding = false;
  private readonly frame = new Uint8Array(MAX_FRAME_LENGTH);
  private readonly reader = new PayloadReader(this.frame, 0, 0);
  private lastSeq = -1;

  constructor(options: FrameDecoderOptions = {}) {
    this.onBadFrame = options.onBadFrame;
  }

  /** Total bad frames over all reasons. */
  get badFramesTotal(): number {
    const b = this.stats.badFrames;
    return b.cobs + b.length + b.crc + b.version + b.unknown_type + b.malformed;
  }

  /** Forget any partial frame and the sequence (e.g. after the port was reopened). */
  reset(): void {
    this.pendingLength = 0;
    this.discarding = false;
    this.lastSeq = -1;
  }

  push(chunk: Uint8Array): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    this.stats.bytes += chunk.length;
    let start = 0;
    while (start < chunk.length) {
      const zero = chunk.indexOf(0, start);
      if (zero === -1) {
        this.buffer(chunk, start, chunk.length);
        break;
      }
      if (this.discarding) {
        this.discarding = false;
      } else if (this.pendingLength === 0) {
        this.handle(chunk, start, zero, out);
      } else {
        this.buffer(chunk, start, zero);
        if (!this.discarding) this.handle(this.pending, 0, this.pendingLength, out);
        this.discarding = false;
      }
      this.pendingLength = 0;
      start = zero + 1;
    }
    return out;
  }

  private buffer(chunk: Uint8Array, from: number, to: number): void {
    if (this.discarding) return;
    const n = to - from;
    if (this.pendingLength + n > MAX_ENCODED_LENGTH) {
      // [SL-RX-2] longer than any legal frame: count once, skip to the next delimiter.
      this.pendingLength = 0;
      this.discarding = true;
      this.bad({ reason: 'length' });
      return;
    }
    this.pending.set(chunk.subarray(from, to), this.pendingLength);
    this.pendingLength += n;
  }

  private bad(bad: BadFrame): void {
    this.stats.badFrames[bad.reason]++;
    this.onBadFrame?.(bad);
  }

  private handle(src: Uint8Array, from: number, to: number, out: DecodedFrame[]): void {
    if (to === from) return; // back-to-back delimiters are idle fill, not a frame [SL-FRAME-5]
    if (to - from > MAX_ENCODED_LENGTH) {
      this.bad({ reason: 'length' });
      return;
    }
    const f = this.frame;
    const n = cobsDecodeZeroFree(src, from, to, f);
    if (n < 0) {
      this.bad({ reason: 'cobs' });
      return;
    }
    if (n < HEADER_LENGTH + CRC_LENGTH) {
      this.bad({ reason: 'length' });
      return;
    }
    const end = n - CRC_LENGTH;
    if (crc16(f, 0, end) !== (f[end]! | (f[end + 1]! << 8))) {
      this.bad({ reason: 'crc' });
      return;
    }
    const type = f[1]!;
    const seq = f[2]! | (f[3]! << 8);
    if (f[0] !== PROTOCOL_VERSION) {
      this.bad({ reason: 'version', type, seq });
      return;
    }
    if (!isKnownType(type)) {
      this.bad({ reason: 'unknown_type', type, seq });
      return;
    }
    let message: ShelfMessage;
    try {
      message = readPayload(type, this.reader.reset(HEADER_LENGTH, end));
    } catch (error) {
      // The decoder must never throw on input [SL-RX-1]; any failure reading a checksummed
      // payload is that frame's problem and is counted.
      const reason = error instanceof PayloadError ? error.reason : 'malformed';
      this.bad({ reason, type, seq, payload: f.slice(HEADER_LENGTH, end) });
      return;
    }
    out.push({ seq, message, lost: this.track(seq, type) });
    this.stats.frames++;
  }

  /** Sequence bookkeeping [SL-RX-3]: returns how many frames are missing before `seq`. */
  private track(seq: number, type: number): number {
    const last = this.lastSeq;
    this.lastSeq = seq;
    // A HELLO starts a new sequence (the sender booted); the first frame seen starts one too.
    if (last < 0 || type === messageType.hello) return 0;
    const gap = (seq - last - 1) & 0xffff;
    if (gap === 0) return 0;
    if (gap >= 0x8000) {
      this.stats.sequenceResets++;
      return 0;
    }
    this.stats.lostFrames += gap;
    return gap;
  }
}
