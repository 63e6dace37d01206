import { expect } from 'vitest';
import { badUtf8, connected, mqttString, RawClient, rawPacket } from './raw-client.js';
import { conformanceSuite } from './suite.js';

const publish = (topic: string, payload: string, qos: 0 | 1 | 2, messageId?: number, retain = false) =>
  ({
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    retain,
    dup: false,
    ...(messageId !== undefined ? { messageId } : {}),
  }) as const;

conformanceSuite(
  'PUBLISH, SUBSCRIBE, UNSUBSCRIBE, wills (3.3-3.14, 4.7)',
  (statement) => {
    /** A connected client whose next packet is refused: resolves once the broker closed it. */
    const closedAfter = async (port: number, id: string, bytes: Buffer) => {
      const { client } = await connected(port, { clientId: id });
      client.send(bytes);
      const seen = await client.untilClosed();
      expect(seen.filter((p) => p.cmd === 'suback' || p.cmd === 'unsuback' || p.cmd === 'puback')).toEqual(
        [],
      );
    };
    const subscriber = async (port: number, id: string, ...topics: string[]) => {
      const { client } = await connected(port, { clientId: id });
      client.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: topics.map((topic) => ({ topic, qos: 1 as const })),
      });
      const suback = await client.nextOf('suback');
      expect(suback?.granted).toEqual(topics.map(() => 1));
      return client;
    };

    statement(
      '[MQTT-1.5.3-1]',
      'ill-formed UTF-8 in a PUBLISH topic closes the connection',
      async ({ port }) => {
        for (const bad of Object.values(badUtf8))
          await closedAfter(
            port,
            'conf-pub-utf8',
            rawPacket(0x32, mqttString(bad), Buffer.from([0, 1]), Buffer.from('x')),
          );
      },
    );

    statement(
      '[MQTT-1.5.3-1]',
      'ill-formed UTF-8 in a SUBSCRIBE filter closes the connection',
      async ({ port }) => {
        for (const bad of Object.values(badUtf8))
          await closedAfter(
            port,
            'conf-sub-utf8',
            rawPacket(0x82, Buffer.from([0, 1]), mqttString(bad), Buffer.from([0])),
          );
      },
    );

    statement(
      '[MQTT-1.5.3-1]',
      'ill-formed UTF-8 in an UNSUBSCRIBE filter closes the connection',
      async ({ port }) => {
        for (const bad of Object.values(badUtf8))
          await closedAfter(port, 'conf-unsub-utf8', rawPacket(0xa2, Buffer.from([0, 1]), mqttString(bad)));
      },
    );

    statement('[MQTT-1.5.3-2]', 'U+0000 in a PUBLISH topic closes the connection', async ({ port }) => {
      await closedAfter(port, 'conf-pub-nul', rawPacket(0x30, mqttString('a\u0000b'), Buffer.from('x')));
    });

    statement('[MQTT-3.3.2-2]', 'a wildcard in a PUBLISH topic closes the connection', async ({ port }) => {
      await closedAfter(port, 'conf-pub-wild', rawPacket(0x30, mqttString('a/+/b'), Buffer.from('x')));
    });

    statement(
      '[MQTT-3.3.1-4]',
      'a PUBLISH with both QoS bits set closes the connection',
      async ({ port }) => {
        await closedAfter(
          port,
          'conf-pub-qos3',
          rawPacket(0x36, mqttString('a'), Buffer.from([0, 1]), Buffer.from('x')),
        );
      },
    );

    statement(
      '[MQTT-3.8.1-1]',
      'SUBSCRIBE with reserved flags other than 0010 closes the connection',
      async ({ port }) => {
        await closedAfter(
          port,
          'conf-sub-flags',
          rawPacket(0x80, Buffer.from([0, 1]), mqttString('a'), Buffer.from([0])),
        );
      },
    );

    statement('[MQTT-3.8.3-3]', 'SUBSCRIBE with no topic filter closes the connection', async ({ port }) => {
      await closedAfter(port, 'conf-sub-empty', rawPacket(0x82, Buffer.from([0, 1])));
    });

    statement(
      '[MQTT-3-8.3-4]',
      'SUBSCRIBE with reserved QoS bits set closes the connection',
      async ({ port }) => {
        await closedAfter(
          port,
          'conf-sub-qos',
          rawPacket(0x82, Buffer.from([0, 1]), mqttString('a'), Buffer.from([0x04])),
        );
      },
    );

    statement(
      '[MQTT-3.10.1-1]',
      'UNSUBSCRIBE with reserved flags other than 0010 closes the connection',
      async ({ port }) => {
        await closedAfter(port, 'conf-unsub-flags', rawPacket(0xa0, Buffer.from([0, 1]), mqttString('a')));
      },
    );

    for (const [what, bytes, mosquitto] of [
      ['PINGREQ', [0xc1, 0x00], 'answers PINGRESP and keeps the connection (mosquitto 2.0.11)'],
      ['PUBACK', [0x42, 0x02, 0x00, 0x01], 'ignores them and keeps the connection (mosquitto 2.0.11)'],
      ['DISCONNECT', [0xe4, 0x00], undefined],
    ] as const) {
      statement(
        '[MQTT-2.2.2-2]',
        `reserved flags set on ${what} close the connection`,
        async ({ port }) => {
          const { client } = await connected(port, { clientId: `conf-flags-${what}` });
          // then a good PINGREQ: a broker that kept the connection answers it, one that closed
          // it does not, so both outcomes are events
          client.send(Buffer.concat([Buffer.from(bytes), Buffer.from([0xc0, 0x00])]));
          const answer = await client.next();
          await client.drop();
          expect(answer).toBeUndefined();
        },
        mosquitto ? { mosquitto } : {},
      );
    }

    statement(
      '[MQTT-4.7.2-1]',
      "wildcard subscriptions do not match topics starting with '$'",
      async ({ port }) => {
        const sub = await subscriber(port, 'conf-dollar-sub', '#', '+/+/+/+');
        // a new connection makes aedes publish $SYS/<id>/new/clients
        const { client: pub } = await connected(port, { clientId: 'conf-dollar-pub' });
        pub.send(publish('conf/dollar/marker', 'x', 0));
        const topics: string[] = [];
        for (
          let m = await sub.nextOf('publish');
          m && m.topic !== 'conf/dollar/marker';
          m = await sub.nextOf('publish')
        ) {
          topics.push(m.topic);
          if (m.messageId !== undefined) sub.send({ cmd: 'puback', messageId: m.messageId });
        }
        expect(topics.filter((t) => t.startsWith('$'))).toEqual([]);
        await pub.disconnect();
        await sub.disconnect();
      },
    );

    statement(
      '[MQTT-3.10.3-2]',
      'UNSUBSCRIBE with no topic filter closes the connection',
      async ({ port }) => {
        await closedAfter(port, 'conf-unsub-empty', rawPacket(0xa2, Buffer.from([0, 1])));
      },
    );

    statement(
      '[MQTT-3.6.1-1]',
      'PUBREL with reserved flags other than 0010 closes the connection',
      async ({ port }) => {
        await closedAfter(port, 'conf-pubrel-flags', rawPacket(0x60, Buffer.from([0, 1])));
      },
    );

    statement(
      '[MQTT-3.8.4-1]',
      'SUBACK with the SUBSCRIBE packet id, one code per filter [MQTT-3.8.4-2]',
      async ({ port }) => {
        const { client } = await connected(port, { clientId: 'conf-suback' });
        client.send({
          cmd: 'subscribe',
          messageId: 42,
          subscriptions: [
            { topic: 'conf/a', qos: 0 },
            { topic: 'conf/b/#', qos: 1 },
            { topic: 'conf/+/c', qos: 2 },
          ],
        });
        expect(await client.nextOf('suback')).toMatchObject({ messageId: 42, granted: [0, 1, 2] });
        await client.disconnect();
      },
    );

    statement(
      '[MQTT-3.10.4-4]',
      'UNSUBACK with the packet id, also when nothing matched [MQTT-3.10.4-5]',
      async ({ port }) => {
        const { client } = await connected(port, { clientId: 'conf-unsuback' });
        client.send({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['conf/never'] });
        expect(await client.nextOf('unsuback')).toMatchObject({ messageId: 9 });
        await client.disconnect();
      },
    );

    statement(
      '[MQTT-3.3.4-1]',
      'QoS 1 gets PUBACK, QoS 2 gets PUBREC then PUBCOMP [MQTT-4.3.3-2]',
      async ({ port }) => {
        const { client } = await connected(port, { clientId: 'conf-acks' });
        client.send(publish('conf/acks', '1', 1, 11));
        expect(await client.nextOf('puback')).toMatchObject({ messageId: 11 });
        client.send(publish('conf/acks', '2', 2, 12));
        expect(await client.nextOf('pubrec')).toMatchObject({ messageId: 12 });
        client.send({ cmd: 'pubrel', messageId: 12 });
        expect(await client.nextOf('pubcomp')).toMatchObject({ messageId: 12 });
        await client.disconnect();
      },
    );

    statement('[MQTT-3.12.4-1]', 'PINGREQ gets PINGRESP', async ({ port }) => {
      const { client } = await connected(port, { clientId: 'conf-ping' });
      client.send({ cmd: 'pingreq' });
      expect(await client.next()).toMatchObject({ cmd: 'pingresp' });
      await client.disconnect();
    });

    statement(
      '[MQTT-3.3.1-6]',
      'a retained message goes to a new subscriber with RETAIN 1 [MQTT-3.3.1-8]',
      async ({ port }) => {
        const { client: pub } = await connected(port, { clientId: 'conf-retain-pub' });
        pub.send(publish('conf/retained', 'kept', 1, 1, true));
        await pub.nextOf('puback');
        const sub = await subscriber(port, 'conf-retain-sub', 'conf/retained');
        expect(await sub.nextOf('publish')).toMatchObject({ topic: 'conf/retained', retain: true });
        // [MQTT-3.3.1-10] an empty retained payload removes it
        pub.send(publish('conf/retained', '', 1, 2, true));
        await pub.nextOf('puback');
        // [MQTT-3.3.1-9] a live delivery to an existing subscription has RETAIN 0
        const live = await sub.nextOf('publish');
        expect(live?.retain).toBe(false);
        await sub.disconnect();
        const late = await subscriber(port, 'conf-retain-late', 'conf/retained', 'conf/retained/after');
        pub.send(publish('conf/retained/after', 'marker', 1, 3));
        // the first message is the marker: nothing retained was sent before it
        expect(await late.nextOf('publish')).toMatchObject({ topic: 'conf/retained/after' });
        await late.disconnect();
        await pub.disconnect();
      },
    );

    statement(
      '[MQTT-3.1.2-5]',
      'a stored session gets the QoS 1 messages published while it was away',
      async ({ port }) => {
        const away = await connected(port, { clientId: 'conf-queue', clean: false });
        away.client.send({
          cmd: 'subscribe',
          messageId: 1,
          subscriptions: [{ topic: 'conf/queue', qos: 1 }],
        });
        await away.client.nextOf('suback');
        await away.client.disconnect();
        const { client: pub } = await connected(port, { clientId: 'conf-queue-pub' });
        pub.send(publish('conf/queue', 'while away', 1, 1));
        await pub.nextOf('puback');
        const back = await connected(port, { clientId: 'conf-queue', clean: false });
        expect(back.sessionPresent).toBe(true);
        const queued = await back.client.nextOf('publish');
        expect(queued?.payload.toString()).toBe('while away');
        await back.client.disconnect();
        await (await connected(port, { clientId: 'conf-queue', clean: true })).client.disconnect();
        await pub.disconnect();
      },
    );

    statement('[MQTT-3.1.2-8]', 'the will is published when the connection drops', async ({ port }) => {
      const sub = await subscriber(port, 'conf-will-sub', 'conf/will/plain');
      const dying = await connected(port, {
        clientId: 'conf-will-dies',
        will: { topic: 'conf/will/plain', payload: Buffer.from('gone'), qos: 0, retain: false },
      });
      await dying.client.drop();
      expect((await sub.nextOf('publish'))?.payload.toString()).toBe('gone');
      await sub.disconnect();
    });

    statement(
      '[MQTT-3.1.2-8]',
      'the will is published when a protocol error closes the connection',
      async ({ port }) => {
        const sub = await subscriber(port, 'conf-will-error-sub', 'conf/will/error');
        const faulty = await connected(port, {
          clientId: 'conf-will-error',
          will: { topic: 'conf/will/error', payload: Buffer.from('broken'), qos: 1, retain: false },
        });
        faulty.client.send(rawPacket(0x30, mqttString(badUtf8.continuation), Buffer.from('x')));
        await faulty.client.untilClosed();
        expect((await sub.nextOf('publish'))?.payload.toString()).toBe('broken');
        await sub.disconnect();
      },
    );

    statement(
      '[MQTT-3.1.2-8]',
      'a QoS 1 retained will reaches a client also subscribed to $SYS/+/disconnect/clients',
      async ({ port }) => {
        // aedes lost it: its own disconnect notice overtook the will (moscajs/aedes#955)
        const sub = await subscriber(port, 'conf-will-sys', '$SYS/+/disconnect/clients', 'conf/will/death');
        for (const [qos, retain] of [
          [1, true],
          [1, false],
          [0, true],
        ] as const) {
          const dying = await connected(port, {
            clientId: 'conf-will-node',
            will: { topic: 'conf/will/death', payload: Buffer.from(`${qos}${retain}`), qos, retain },
          });
          await dying.client.drop();
          let message = await sub.nextOf('publish');
          while (message && message.topic !== 'conf/will/death') message = await sub.nextOf('publish');
          expect(message?.payload.toString()).toBe(`${qos}${retain}`);
          if (message?.messageId !== undefined) sub.send({ cmd: 'puback', messageId: message.messageId });
        }
        await sub.disconnect();
      },
    );

    statement('[MQTT-3.14.4-3]', 'after DISCONNECT the will is discarded', async ({ port }) => {
      const sub = await subscriber(port, 'conf-will-quiet', 'conf/will/quiet', 'conf/will/marker');
      const leaving = await connected(port, {
        clientId: 'conf-will-leaves',
        will: { topic: 'conf/will/quiet', payload: Buffer.from('must not'), qos: 0, retain: false },
      });
      await leaving.client.disconnect();
      const { client: pub } = await connected(port, { clientId: 'conf-will-marker' });
      pub.send(publish('conf/will/marker', 'after', 0));
      // the marker, published after the close, is the first message: no will came before it
      expect(await sub.nextOf('publish')).toMatchObject({ topic: 'conf/will/marker' });
      await pub.disconnect();
      await sub.disconnect();
    });

    statement(
      '[MQTT-4.7.1-2]',
      "'#' matches the parent level and every level below [MQTT-4.7.1-3]",
      async ({ port }) => {
        const sub = await subscriber(port, 'conf-wild-sub', 'conf/wild/#', 'conf/+/plus');
        const { client: pub } = await connected(port, { clientId: 'conf-wild-pub' });
        for (const topic of ['conf/wild', 'conf/wild/a/b', 'conf/x/plus']) pub.send(publish(topic, topic, 0));
        const got: string[] = [];
        for (let i = 0; i < 3; i++) got.push((await sub.nextOf('publish'))!.topic);
        expect(got.sort()).toEqual(['conf/wild', 'conf/wild/a/b', 'conf/x/plus']);
        await pub.disconnect();
        await sub.disconnect();
      },
    );

    statement('[MQTT-2.3.1-7]', 'acknowledgements carry the packet id they answer', async ({ port }) => {
      const client = await RawClient.open(port);
      client.send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: 'conf-ids',
        clean: true,
        keepalive: 60,
      });
      await client.nextOf('connack');
      for (const id of [1, 65535, 300]) {
        client.send(publish('conf/ids', 'x', 1, id));
        expect(await client.nextOf('puback')).toMatchObject({ messageId: id });
      }
      await client.disconnect();
    });
  },
  { clustered: true },
);
