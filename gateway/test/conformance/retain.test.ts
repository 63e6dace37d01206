import { expect } from 'vitest';
import { connected, publishesUntil, publishPacket, type RawClient, subscribedClient } from './raw-client.js';
import { conformanceSuite } from './suite.js';

conformanceSuite(
  'PUBLISH: retained messages, topic names, QoS of deliveries (3.3)',
  (statement) => {
    /** A publisher whose QoS 1 PUBLISH resolves once the broker acknowledged it. */
    const publisher = async (port: number, id: string) => {
      const { client } = await connected(port, { clientId: id });
      let messageId = 0;
      return {
        client,
        async send(topic: string, payload: string, qos: 0 | 1, retain = false) {
          messageId += 1;
          client.send(publishPacket(topic, payload, qos, { retain, ...(qos ? { messageId } : {}) }));
          if (qos) expect(await client.nextOf('puback')).toMatchObject({ messageId });
        },
      };
    };
    /** What a new subscriber to `topic` is sent before a marker published after it subscribed. */
    const retainedFor = async (port: number, id: string, topic: string, qos: 0 | 1 | 2 = 1) => {
      const marker = `${topic}/marker`;
      const sub = await subscribedClient(port, { clientId: id }, { [topic]: qos, [marker]: 0 });
      const pub = await publisher(port, `${id}-marker`);
      await pub.send(marker, 'marker', 0);
      const seen = await publishesUntil(sub, marker);
      await pub.client.disconnect();
      await sub.disconnect();
      return seen.filter((p) => p.topic === topic);
    };
    const clearRetained = async (port: number, id: string, topic: string) => {
      const pub = await publisher(port, id);
      await pub.send(topic, '', 1, true);
      await pub.client.disconnect();
    };

    // "If the RETAIN flag is set to 1, in a PUBLISH Packet sent by a Client to a Server, the Server
    // MUST store the Application Message and its QoS, so that it can be delivered to future
    // subscribers whose subscriptions match its topic name."
    statement('[MQTT-3.3.1-5]', 'a retained message is stored with its QoS', async ({ port }) => {
      const pub = await publisher(port, 'conf-r5-pub');
      await pub.send('conf/r5', 'kept at 1', 1, true);
      await pub.client.disconnect();
      // a QoS 2 subscriber gets it at the stored QoS 1, a QoS 0 one at 0 (the lower of the two)
      expect(await retainedFor(port, 'conf-r5-sub2', 'conf/r5', 2)).toMatchObject([
        { payload: Buffer.from('kept at 1'), qos: 1, retain: true },
      ]);
      expect(await retainedFor(port, 'conf-r5-sub0', 'conf/r5', 0)).toMatchObject([
        { payload: Buffer.from('kept at 1'), qos: 0, retain: true },
      ]);
      await clearRetained(port, 'conf-r5-clear', 'conf/r5');
    });

    // "If the Server receives a QoS 0 message with the RETAIN flag set to 1 it MUST discard any
    // message previously retained for that topic. It SHOULD store the new QoS 0 message as the
    // new retained message for that topic, but MAY choose to discard it at any time"
    statement(
      '[MQTT-3.3.1-7]',
      'a retained QoS 0 message replaces the one retained before',
      async ({ port }) => {
        const pub = await publisher(port, 'conf-r7-pub');
        await pub.send('conf/r7', 'old', 1, true);
        await pub.send('conf/r7', 'new', 0, true);
        // the QoS 0 PUBLISH has no acknowledgement: a QoS 1 one after it on the same
        // connection is handled after it
        await pub.send('conf/r7/sync', 'sync', 1);
        await pub.client.disconnect();
        const seen = await retainedFor(port, 'conf-r7-sub', 'conf/r7');
        expect(seen.map((p) => p.payload.toString())).not.toContain('old');
        await clearRetained(port, 'conf-r7-clear', 'conf/r7');
      },
    );

    // "When sending a PUBLISH Packet to a Client the Server MUST set the RETAIN flag to 1 if a
    // message is sent as a result of a new subscription being made by a Client."
    statement(
      '[MQTT-3.3.1-8]',
      'a retained message sent to a new subscription has RETAIN 1',
      async ({ port }) => {
        const pub = await publisher(port, 'conf-r8-pub');
        await pub.send('conf/r8', 'kept', 1, true);
        await pub.client.disconnect();
        expect(await retainedFor(port, 'conf-r8-sub', 'conf/r8')).toMatchObject([{ retain: true }]);
        await clearRetained(port, 'conf-r8-clear', 'conf/r8');
      },
    );

    // "It MUST set the RETAIN flag to 0 when a PUBLISH Packet is sent to a Client because it
    // matches an established subscription regardless of how the flag was set in the message it
    // received."
    statement(
      '[MQTT-3.3.1-9]',
      'a retained message sent to an established subscription has RETAIN 0',
      async ({ port }) => {
        const sub = await subscribedClient(port, { clientId: 'conf-r9-sub' }, { 'conf/r9': 1 });
        const pub = await publisher(port, 'conf-r9-pub');
        await pub.send('conf/r9', 'live', 1, true);
        expect(await publishesUntil(sub, 'conf/r9')).toMatchObject([
          { payload: Buffer.from('live'), retain: false },
        ]);
        await sub.disconnect();
        await pub.client.disconnect();
        await clearRetained(port, 'conf-r9-clear', 'conf/r9');
      },
    );

    // "A PUBLISH Packet with a RETAIN flag set to 1 and a payload containing zero bytes will be
    // processed as normal by the Server and sent to Clients with a subscription matching the
    // topic name. Additionally any existing retained message with the same topic name MUST be
    // removed and any future subscribers for the topic will not receive a retained message."
    statement(
      '[MQTT-3.3.1-10]',
      'an empty retained message removes the retained one and is delivered live',
      async ({ port }) => {
        const pub = await publisher(port, 'conf-r10-pub');
        await pub.send('conf/r10', 'kept', 1, true);
        const sub = await subscribedClient(port, { clientId: 'conf-r10-live' }, { 'conf/r10': 1 });
        expect(await publishesUntil(sub, 'conf/r10')).toMatchObject([{ retain: true }]);
        await pub.send('conf/r10', '', 1, true);
        expect(await publishesUntil(sub, 'conf/r10')).toMatchObject([{ payload: Buffer.alloc(0) }]);
        await sub.disconnect();
        await pub.client.disconnect();
        expect(await retainedFor(port, 'conf-r10-late', 'conf/r10')).toEqual([]);
      },
    );

    // "A zero byte retained message MUST NOT be stored as a retained message on the Server."
    statement('[MQTT-3.3.1-11]', 'an empty retained message is not stored', async ({ port }) => {
      const pub = await publisher(port, 'conf-r11-pub');
      await pub.send('conf/r11', '', 1, true);
      await pub.client.disconnect();
      expect(await retainedFor(port, 'conf-r11-sub', 'conf/r11')).toEqual([]);
    });

    // "If the RETAIN flag is 0, in a PUBLISH Packet sent by a Client to a Server, the Server MUST
    // NOT store the message and MUST NOT remove or replace any existing retained message."
    statement(
      '[MQTT-3.3.1-12]',
      'a message without RETAIN is not stored and leaves the retained one',
      async ({ port }) => {
        const pub = await publisher(port, 'conf-r12-pub');
        await pub.send('conf/r12/fresh', 'not kept', 1);
        await pub.send('conf/r12', 'kept', 1, true);
        await pub.send('conf/r12', 'passing', 1);
        await pub.client.disconnect();
        expect(await retainedFor(port, 'conf-r12-fresh', 'conf/r12/fresh')).toEqual([]);
        expect(await retainedFor(port, 'conf-r12-sub', 'conf/r12')).toMatchObject([
          { payload: Buffer.from('kept'), retain: true },
        ]);
        await clearRetained(port, 'conf-r12-clear', 'conf/r12');
      },
    );

    // "Retained messages do not form part of the Session state in the Server, they MUST NOT be
    // deleted when the Session ends."
    statement('[MQTT-3.1.2-7]', 'a retained message outlives the session that sent it', async ({ port }) => {
      const pub = await publisher(port, 'conf-r27-pub');
      await pub.send('conf/r27', 'kept', 1, true);
      await pub.client.disconnect();
      // the same client id with CleanSession 1 again: its session is discarded, the message is not
      await (await connected(port, { clientId: 'conf-r27-pub', clean: true })).client.disconnect();
      expect(await retainedFor(port, 'conf-r27-sub', 'conf/r27')).toMatchObject([
        { payload: Buffer.from('kept') },
      ]);
      await clearRetained(port, 'conf-r27-clear', 'conf/r27');
    });

    // "The Topic Name MUST be present as the first field in the PUBLISH Packet Variable header.
    // It MUST be a UTF-8 encoded string." A well-formed multi-byte name is delivered unchanged.
    statement('[MQTT-3.3.2-1]', 'a UTF-8 topic name is delivered byte for byte', async ({ port }) => {
      const topic = 'conf/ünïcödé/€/𝄞';
      const sub = await subscribedClient(port, { clientId: 'conf-r321-sub' }, { [topic]: 1 });
      const pub = await publisher(port, 'conf-r321-pub');
      await pub.send(topic, 'x', 1);
      expect((await publishesUntil(sub, topic)).map((p) => p.topic)).toEqual([topic]);
      await sub.disconnect();
      await pub.client.disconnect();
    });

    // "The Topic Name in the PUBLISH Packet sent by a Server to a subscribing Client MUST match
    // the Subscription's Topic Filter": the name the publisher used, never the filter.
    statement('[MQTT-3.3.2-3]', 'a delivery carries the published topic name', async ({ port }) => {
      const sub = await subscribedClient(
        port,
        { clientId: 'conf-r323-sub' },
        { 'conf/r323/+/x': 1, 'conf/r323/end': 0 },
      );
      const pub = await publisher(port, 'conf-r323-pub');
      await pub.send('conf/r323/a/x', 'x', 1);
      await pub.send('conf/r323/a/y', 'not matched', 1);
      await pub.send('conf/r323/end', 'marker', 0);
      expect((await publishesUntil(sub, 'conf/r323/end')).map((p) => p.topic)).toEqual([
        'conf/r323/a/x',
        'conf/r323/end',
      ]);
      await sub.disconnect();
      await pub.client.disconnect();
    });

    // "When Clients make subscriptions with Topic Filters that include wildcards, it is possible
    // for a Client's subscription to overlap so that a published message might match multiple
    // filters. In this case the Server MUST deliver the message to the Client respecting the
    // maximum QoS of all the matching subscriptions."
    statement(
      '[MQTT-3.3.5-1]',
      'overlapping subscriptions: the message goes at the highest QoS among them',
      async ({ port }) => {
        const sub: RawClient = await subscribedClient(
          port,
          { clientId: 'conf-r335-sub' },
          { 'conf/r335/#': 0, 'conf/r335/a': 2, 'conf/r335/+': 1, 'conf/r335end': 0 },
        );
        const { client: pub } = await connected(port, { clientId: 'conf-r335-pub' });
        pub.send(publishPacket('conf/r335/a', 'x', 2, { messageId: 1 }));
        await pub.nextOf('pubrec');
        pub.send({ cmd: 'pubrel', messageId: 1 });
        await pub.nextOf('pubcomp');
        pub.send(publishPacket('conf/r335end', 'marker', 0));
        const copies = (await publishesUntil(sub, 'conf/r335end')).filter((p) => p.topic === 'conf/r335/a');
        // one copy, or one per subscription (both allowed): the highest QoS is among them
        expect(copies.length).toBeGreaterThan(0);
        expect(Math.max(...copies.map((p) => p.qos))).toBe(2);
        await pub.disconnect();
        await sub.disconnect();
      },
    );

    // "The QoS of Payload Messages sent in response to a Subscription MUST be the minimum of the
    // QoS of the originally published message and the maximum QoS granted by the Server": also
    // through a wildcard filter, and for a retained message sent on SUBSCRIBE
    statement(
      '[MQTT-3.8.4-6]',
      'a delivery’s QoS is the lower of the published and the granted, wildcards included',
      async ({ port }) => {
        const pub = await publisher(port, 'conf-r846-pub');
        pub.client.send(publishPacket('conf/r846/kept', 'kept', 2, { messageId: 100, retain: true }));
        const rec = await pub.client.nextOf('pubrec');
        pub.client.send({ cmd: 'pubrel', messageId: rec!.messageId });
        await pub.client.nextOf('pubcomp');
        const sub = await subscribedClient(
          port,
          { clientId: 'conf-r846-sub' },
          { 'conf/r846/+': 1, 'conf/r846end': 0 },
        );
        pub.client.send(publishPacket('conf/r846/live', 'live', 2, { messageId: 101 }));
        const rec2 = await pub.client.nextOf('pubrec');
        pub.client.send({ cmd: 'pubrel', messageId: rec2!.messageId });
        await pub.client.nextOf('pubcomp');
        await pub.send('conf/r846end', 'marker', 0);
        const got = (await publishesUntil(sub, 'conf/r846end')).filter((p) => p.topic !== 'conf/r846end');
        // Sorted: with the Redis store the retained copy is read while the live one is routed, and
        // the statement is about QoS, not which of the two arrives first.
        expect(got.map((p) => [p.topic, p.qos]).sort()).toEqual([
          ['conf/r846/kept', 1],
          ['conf/r846/live', 1],
        ]);
        await sub.disconnect();
        await pub.send('conf/r846/kept', '', 0, true);
        await pub.client.disconnect();
      },
    );
  },
  { clustered: true },
);
