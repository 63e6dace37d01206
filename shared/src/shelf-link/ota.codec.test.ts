import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import {
  encodeFrame,
  encodeRawFrame,
  FrameDecoder,
  messageType,
  otaChunk,
  type ShelfMessage,
} from './index.js';

const sha = 'ab'.repeat(32);

describe('OTA messages', () => {
  it('round-trip a full-size chunk, whose data is a copy the decoder does not reuse', () => {
    const data = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff);
    const d = new FrameDecoder();
    const [first] = d.push(encodeFrame(otaChunk(1024, data), 1));
    d.push(encodeFrame(otaChunk(0, new Uint8Array(512).fill(9)), 2));
    expect(first?.message).toEqual({ type: 'ota_chunk', offset: 1024, crc: otaChunk(0, data).crc, data });
  });

  it('refuse to encode what does not fit', () => {
    const bad: ShelfMessage[] = [
      otaChunk(0, new Uint8Array(0)),
      otaChunk(0, new Uint8Array(513)),
      { type: 'ota_begin', size: 0, sha256: sha, version: '1.0.0' },
      { type: 'ota_begin', size: 10, sha256: 'AB'.repeat(32), version: '1.0.0' },
      { type: 'ota_begin', size: 10, sha256: sha, version: 'latest' },
      {
        type: 'ota_status',
        activeSlot: 2 as 0,
        state: 'idle',
        activeVersion: '1.0.0',
        otherVersion: '',
        received: 0,
        lastResult: 'none',
        lastReason: 'none',
      },
    ];
    for (const m of bad) expect(() => encodeFrame(m, 0), JSON.stringify(m)).toThrow(ValidationError);
  });

  it('drop malformed frames as counted bad frames', () => {
    const d = new FrameDecoder();
    const frames = [
      // OTA_CHUNK with no data
      encodeRawFrame({ type: messageType.ota_chunk, seq: 1, payload: Uint8Array.of(0, 0, 0, 0, 0, 0) }),
      // OTA_END with action 3
      encodeRawFrame({ type: messageType.ota_end, seq: 2, payload: Uint8Array.of(3) }),
      // OTA_STATUS with slot 2
      encodeRawFrame({
        type: messageType.ota_status,
        seq: 3,
        payload: Uint8Array.of(2, 0, 1, 0x31, 0, 0, 0, 0, 0, 0, 0),
      }),
    ];
    for (const f of frames) expect(d.push(f)).toEqual([]);
    expect(d.stats.badFrames).toMatchObject({ length: 1, malformed: 2 });
  });

  it('reads an unknown OTA reason as unspecified', () => {
    const f = encodeRawFrame({
      type: messageType.ota_status,
      seq: 4,
      payload: Uint8Array.of(1, 2, 1, 0x32, 0, 0, 0, 0, 0, 2, 0x77),
    });
    expect(new FrameDecoder().push(f)[0]?.message).toMatchObject({
      activeSlot: 1,
      state: 'trial',
      lastReason: 'unspecified',
    });
  });
});
