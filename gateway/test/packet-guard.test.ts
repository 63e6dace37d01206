import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketSizeGuard } from '../src/broker/packet-guard.js';

const publish = (bytes: number) =>
  mqttPacket.generate({
    cmd: 'publish',
    topic: 't',
    payload: Buffer.alloc(bytes),
    qos: 0,
    retain: false,
    dup: false,
  });

describe('packet size guard', () => {
  it('follows packet boundaries across arbitrary chunking', () => {
    const stream = Buffer.concat([publish(10), publish(300), publish(20_000), publish(0)]);
    for (const size of [1, 2, 3, 7, 64, 1000, stream.length]) {
      const guard = new PacketSizeGuard(32_000);
      for (let i = 0; i < stream.length; i += size)
        expect(guard.push(stream.subarray(i, i + size))).toBeUndefined();
    }
  });

  it('refuses a packet above the limit from its header alone', () => {
    const guard = new PacketSizeGuard(1024);
    expect(guard.push(publish(100))).toBeUndefined();
    expect(guard.push(publish(2000).subarray(0, 4))).toBe('oversized');
  });

  it('refuses a remaining length longer than four bytes', () => {
    expect(new PacketSizeGuard(1 << 30).push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(
      'malformed',
    );
  });
});
