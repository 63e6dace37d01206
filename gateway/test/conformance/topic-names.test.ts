import { expect } from 'vitest';
import {
  connected,
  mqttString,
  publishesUntil,
  publishPacket,
  rawPacket,
  subscribedClient,
} from './raw-client.js';
import { conformanceSuite } from './suite.js';

conformanceSuite(
  'Topic names and filters: U+0000, length (4.7.3); client-only statements',
  (statement) => {
    /** A connected client whose next packet is refused: closed, with no acknowledgement of it. */
    const closedAfter = async (port: number, id: string, bytes: Buffer) => {
      const { client } = await connected(port, { clientId: id });
      client.send(bytes);
      const seen = await client.untilClosed();
      expect(seen.filter((p) => ['puback', 'suback', 'unsuback'].includes(p.cmd))).toEqual([]);
    };
    const nul = Buffer.from('conf/nul/a\u0000b');

    // "Topic Names and Topic Filters MUST NOT include the null character (Unicode U+0000)"; a
    // receiver of a string holding one "MUST close the Network Connection" [MQTT-1.5.3-2]
    statement('[MQTT-4.7.3-2]', 'U+0000 in a PUBLISH topic name closes the connection', async ({ port }) => {
      await closedAfter(
        port,
        'conf-nul-pub',
        rawPacket(0x32, mqttString(nul), Buffer.from([0, 1]), Buffer.from('x')),
      );
    });

    statement(
      '[MQTT-4.7.3-2]',
      'U+0000 in a SUBSCRIBE topic filter closes the connection',
      async ({ port }) => {
        await closedAfter(
          port,
          'conf-nul-sub',
          rawPacket(0x82, Buffer.from([0, 1]), mqttString(nul), Buffer.from([1])),
        );
      },
    );

    statement(
      '[MQTT-4.7.3-2]',
      'U+0000 in an UNSUBSCRIBE topic filter closes the connection',
      async ({ port }) => {
        await closedAfter(port, 'conf-nul-unsub', rawPacket(0xa2, Buffer.from([0, 1]), mqttString(nul)));
      },
    );

    // "Topic Names and Topic Filters are UTF-8 encoded strings, they MUST NOT encode to more than
    // 65535 bytes": a length the two-byte prefix cannot carry is the sender's to avoid; what the
    // broker owes is the whole range up to it, so the longest name is subscribed and delivered
    statement(
      '[MQTT-4.7.3-3]',
      'a topic name and filter of 65,535 bytes, the most a string encodes, work',
      async ({ port }) => {
        const room = 65_535 - 'conf/long/'.length;
        const topic = `conf/long/${'€'.repeat(Math.floor(room / 3))}${'x'.repeat(room % 3)}`;
        expect(Buffer.byteLength(topic)).toBe(65_535);
        const sub = await subscribedClient(port, { clientId: 'conf-long-sub' }, { [topic]: 1 });
        const { client: pub } = await connected(port, { clientId: 'conf-long-pub' });
        pub.send(publishPacket(topic, 'long', 1, { messageId: 1 }));
        await pub.nextOf('puback');
        expect((await publishesUntil(sub, topic)).map((p) => p.payload.toString())).toEqual(['long']);
        await pub.disconnect();
        await sub.disconnect();
      },
    );
  },
  {
    clustered: true,
    clientObligations: {
      '[MQTT-3.1.2-23]':
        'a client keeps its connection alive with PINGREQ (the broker side is [MQTT-3.1.2-24])',
      '[MQTT-3.1.3-7]':
        'a client sending a zero-byte client id sets CleanSession 1 (the broker side is [MQTT-3.1.3-8])',
      '[MQTT-3.14.4-1]':
        'after DISCONNECT the client closes and sends nothing more (the broker side is [MQTT-3.14.4-2])',
    },
  },
);
