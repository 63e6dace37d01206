import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketSizeGuard } from '../../src/broker/packet-guard.js';
import { badUtf8, mqttString, rawConnect, rawPacket } from './raw-client.js';

/** What the guard says about a byte stream fed in chunks of `size` bytes. */
function verdict(stream: Buffer, size: number): string | undefined {
  const guard = new PacketSizeGuard(1 << 20);
  for (let i = 0; i < stream.length; i += size) {
    const problem = guard.push(stream.subarray(i, i + size));
    if (problem) return problem;
  }
  return undefined;
}

const good = Buffer.concat([
  mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: 'ok-é',
    clean: true,
    keepalive: 60,
    username: 'ü',
    password: Buffer.from([0xff, 0x00]),
  }),
  mqttPacket.generate({
    cmd: 'publish',
    topic: 'a/ü/b',
    payload: Buffer.from([0xff, 0xfe, 0x00]),
    qos: 1,
    messageId: 1,
    retain: false,
    dup: false,
  }),
  mqttPacket.generate({
    cmd: 'publish',
    topic: 't',
    payload: Buffer.alloc(5000, 0xff),
    qos: 0,
    retain: false,
    dup: false,
  }),
  mqttPacket.generate({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'a/+/#', qos: 2 }] }),
  mqttPacket.generate({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['a/+/#', 'b'] }),
  mqttPacket.generate({ cmd: 'pingreq' }),
]);

describe('byte checks of the packet guard (wire-rules.ts)', () => {
  it('lets well-formed packets through however they are chunked, binary payloads and passwords included', () => {
    for (const size of [1, 2, 3, 5, 64, good.length])
      expect(verdict(good, size), `chunks of ${size}`).toBeUndefined();
  });

  it('finds a bad PUBLISH topic, however it is cut, after good packets', () => {
    const bad = rawPacket(
      0x30,
      mqttString(Buffer.concat([Buffer.from('abc/'), badUtf8.surrogate])),
      Buffer.alloc(300),
    );
    for (const size of [1, 2, 3, 7, 1000])
      expect(verdict(Buffer.concat([good, bad]), size)).toBe('malformed');
  });

  it('finds a CONNECT whose fields and flags disagree: an unannounced or a missing user name or password', () => {
    const [user, password, clean] = [0x80, 0x40, 0x02];
    const connect = (flags: number, ...fields: string[]) =>
      rawConnect({ flags, fields: [mqttString('c'), ...fields.map((field) => mqttString(field))] });
    for (const bad of [
      connect(clean, 'u'), // [MQTT-3.1.2-18]
      connect(clean | user), // [MQTT-3.1.2-19]
      connect(clean | user, 'u', 'p'), // [MQTT-3.1.2-20]
      connect(clean | user | password, 'u'), // [MQTT-3.1.2-21]
    ])
      for (const size of [1, 4, bad.length]) expect(verdict(bad, size)).toBe('malformed');
    expect(verdict(connect(clean | user | password, 'u', ''), 3)).toBeUndefined();
  });

  it('refuses an unsupported protocol level with its own reason, and leaves 3, 4 and 5 to aedes', () => {
    const connect = (level: number) => rawConnect({ level, flags: 0x02, fields: [mqttString('c')] });
    expect(verdict(connect(0), 1)).toBe('protocol_level');
    expect(verdict(connect(6), 100)).toBe('protocol_level');
    for (const level of [3, 4, 5]) expect(verdict(connect(level), 1)).toBeUndefined();
  });

  it('refuses malformed CONNECT, SUBSCRIBE and UNSUBSCRIBE bodies', () => {
    const bad = [
      rawConnect({ flags: 0x42, fields: [mqttString('c'), mqttString('pw')] }),
      rawConnect({ flags: 0x06, fields: [mqttString('c'), mqttString(''), mqttString('m')] }),
      rawConnect({ flags: 0x06, fields: [mqttString('c'), mqttString('a/#'), mqttString('m')] }),
      rawConnect({ flags: 0x1e, fields: [mqttString('c'), mqttString('w'), mqttString('m')] }),
      rawConnect({ flags: 0x82, fields: [mqttString('c'), mqttString(badUtf8.continuation)] }),
      rawPacket(0x82, Buffer.from([0, 1])),
      rawPacket(0x82, Buffer.from([0, 1]), mqttString('a'), Buffer.from([3])),
      rawPacket(0x82, Buffer.from([0, 1]), mqttString('')),
      rawPacket(0xa2, Buffer.from([0, 1])),
      rawPacket(0xa2, Buffer.from([0, 1]), mqttString('a\u0000')),
    ];
    for (const [i, packet] of bad.entries()) expect(verdict(packet, 2), `case ${i}`).toBe('malformed');
  });
});
