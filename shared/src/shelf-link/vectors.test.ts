import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type BadFrameReason, encodeFrame, FrameDecoder, type ShelfMessage } from './index.js';

// The test vectors of docs/shelf-link.md: the spec and the codec cannot drift apart.
const spec = readFileSync(fileURLToPath(new URL('../../../docs/shelf-link.md', import.meta.url)), 'utf8');
const pairs = [
  ...spec.matchAll(/```json (vector|bad-vector)\n([\s\S]+?)\n```\s*```hex\n([0-9a-f \n]+)\n```/g),
].map((m) => ({
  kind: m[1]!,
  json: JSON.parse(m[2]!) as unknown,
  bytes: Buffer.from(m[3]!.replace(/\s/g, ''), 'hex'),
}));
const good = (
  pairs.filter((p) => p.kind === 'vector') as {
    json: { seq: number; message: ShelfMessage };
    bytes: Buffer;
  }[]
).map((v) => {
  // JSON has no byte arrays: an OTA_CHUNK's data is written as a list of numbers.
  const m = v.json.message as ShelfMessage & { data?: number[] };
  return m.type === 'ota_chunk'
    ? { ...v, json: { ...v.json, message: { ...m, data: Uint8Array.from(m.data ?? []) } } }
    : v;
});
const bad = pairs.filter((p) => p.kind === 'bad-vector') as {
  json: { reason: BadFrameReason; what: string };
  bytes: Buffer;
}[];

describe('docs/shelf-link.md test vectors', () => {
  it('has vectors for every message type and bad-frame reason', () => {
    // Every vector block was parsed (a formatter reflowing the blocks must not hide any).
    expect(good).toHaveLength(spec.split('```json vector').length - 1);
    expect(bad).toHaveLength(spec.split('```json bad-vector').length - 1);
    expect(new Set(good.map((v) => v.json.message.type))).toEqual(
      new Set([
        'hello',
        'readings',
        'event',
        'heartbeat',
        'stored',
        'command',
        'ack',
        'nack',
        'ota_begin',
        'ota_chunk',
        'ota_end',
        'ota_status',
      ]),
    );
    expect(new Set(bad.map((v) => v.json.reason))).toEqual(
      new Set(['cobs', 'length', 'crc', 'version', 'unknown_type', 'malformed']),
    );
  });

  it.each(good.map((v) => [`${v.json.message.type} seq ${v.json.seq}`, v] as const))('%s', (_, v) => {
    expect(Buffer.from(encodeFrame(v.json.message, v.json.seq)).toString('hex')).toBe(
      v.bytes.toString('hex'),
    );
    const d = new FrameDecoder();
    expect(d.push(v.bytes)).toEqual([{ seq: v.json.seq, message: v.json.message, lost: 0 }]);
  });

  it.each(bad.map((v) => [v.json.what, v] as const))('drops %s', (_, v) => {
    const d = new FrameDecoder();
    expect(d.push(v.bytes)).toEqual([]);
    expect(d.stats.badFrames[v.json.reason]).toBe(1);
    expect(d.badFramesTotal).toBe(1);
  });
});
