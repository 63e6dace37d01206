import { expect } from 'vitest';
import {
  badUtf8,
  connected,
  mqttString,
  publishesUntil,
  publishPacket,
  type RawClient,
  rawPacket,
  subscribedClient,
} from './raw-client.js';
import { conformanceSuite } from './suite.js';

conformanceSuite(
  'SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, topic rules (3.8-3.10, 4.7, 4.8)',
  (statement) => {
    /** Publishes each topic at QoS 0, then `marker`; resolves with the topics `sub` received. */
    const received = async (port: number, sub: RawClient, id: string, topics: string[], marker: string) => {
      const { client: pub } = await connected(port, { clientId: id });
      for (const topic of [...topics, marker]) pub.send(publishPacket(topic, topic, 0));
      const seen = await publishesUntil(sub, marker);
      await pub.disconnect();
      return seen.map((p) => p.topic).filter((t) => t !== marker);
    };

    // "The Topic Filters in a SUBSCRIBE packet payload MUST be UTF-8 encoded strings": a
    // multi-byte filter is taken and matches byte for byte; an ill-formed one closes the
    // connection (as in [MQTT-1.5.3-1])
    statement(
      '[MQTT-3.8.3-1]',
      'a UTF-8 filter is subscribed, an ill-formed one closes',
      async ({ port }) => {
        const sub = await subscribedClient(
          port,
          { clientId: 'conf-utf8-filter' },
          { 'conf/ü/+/€': 0, 'conf/ü/end': 0 },
        );
        expect(
          await received(port, sub, 'conf-utf8-filter-pub', ['conf/ü/𝄞/€', 'conf/u/x/€'], 'conf/ü/end'),
        ).toEqual(['conf/ü/𝄞/€']);
        sub.send(rawPacket(0x82, Buffer.from([0, 2]), mqttString(badUtf8.continuation), Buffer.from([0])));
        expect((await sub.untilClosed()).filter((p) => p.cmd === 'suback')).toEqual([]);
      },
    );

    // "The SUBACK Packet MUST have the same Packet Identifier as the SUBSCRIBE Packet that it is
    // acknowledging."
    statement('[MQTT-3.8.4-2]', 'SUBACK carries the SUBSCRIBE packet id', async ({ port }) => {
      const { client } = await connected(port, { clientId: 'conf-subid' });
      for (const messageId of [1, 0x1234, 65535]) {
        client.send({
          cmd: 'subscribe',
          messageId,
          subscriptions: [{ topic: `conf/subid/${messageId}`, qos: 1 }],
        });
        expect(await client.nextOf('suback')).toMatchObject({ messageId });
      }
      await client.disconnect();
    });

    // "If a Server receives a SUBSCRIBE Packet containing a Topic Filter that is identical to an
    // existing Subscription's Topic Filter then it MUST completely replace that existing
    // Subscription with a new Subscription. The Topic Filter in the new Subscription will be
    // identical to that in the previous Subscription, although its maximum QoS value could be
    // different. Any existing retained messages matching the Topic Filter MUST be re-sent"
    statement(
      '[MQTT-3.8.4-3]',
      'the same filter again replaces the subscription and re-sends the retained message',
      async ({ port }) => {
        const { client: pub } = await connected(port, { clientId: 'conf-replace-pub' });
        pub.send(publishPacket('conf/replace', 'kept', 1, { messageId: 1, retain: true }));
        await pub.nextOf('puback');
        const sub = await subscribedClient(
          port,
          { clientId: 'conf-replace-sub' },
          { 'conf/replace': 1, 'conf/replace/end': 0 },
        );
        expect(await publishesUntil(sub, 'conf/replace')).toMatchObject([{ retain: true, qos: 1 }]);
        sub.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'conf/replace', qos: 0 }] });
        expect(await sub.nextOf('suback')).toMatchObject({ messageId: 2, granted: [0] });
        expect(await publishesUntil(sub, 'conf/replace')).toMatchObject([{ retain: true, qos: 0 }]);
        // one subscription, at the new QoS: one copy of a live message, at QoS 0
        pub.send(publishPacket('conf/replace', 'live', 1, { messageId: 2 }));
        await pub.nextOf('puback');
        pub.send(publishPacket('conf/replace/end', 'marker', 0));
        const live = (await publishesUntil(sub, 'conf/replace/end')).filter(
          (p) => p.topic === 'conf/replace',
        );
        expect(live).toMatchObject([{ payload: Buffer.from('live'), qos: 0, retain: false }]);
        pub.send(publishPacket('conf/replace', '', 1, { messageId: 3, retain: true }));
        await pub.nextOf('puback');
        await pub.disconnect();
        await sub.disconnect();
      },
    );

    // "If a Server receives a SUBSCRIBE packet that contains multiple Topic Filters it MUST
    // handle that packet as if it had received a sequence of multiple SUBSCRIBE packets, except
    // that it combines their responses into a single SUBACK response."
    statement(
      '[MQTT-3.8.4-4]',
      'several filters in one SUBSCRIBE: one SUBACK, all subscribed',
      async ({ port }) => {
        const { client } = await connected(port, { clientId: 'conf-multi' });
        client.send({
          cmd: 'subscribe',
          messageId: 5,
          subscriptions: ['conf/multi/a', 'conf/multi/b/#', 'conf/multi/+/c'].map((topic) => ({
            topic,
            qos: 0 as const,
          })),
        });
        expect(await client.next()).toMatchObject({ cmd: 'suback', messageId: 5 });
        // the next packet answers a PINGREQ: there was no second SUBACK
        client.send({ cmd: 'pingreq' });
        expect(await client.next()).toMatchObject({ cmd: 'pingresp' });
        client.send({ cmd: 'subscribe', messageId: 6, subscriptions: [{ topic: 'conf/multi/end', qos: 0 }] });
        await client.nextOf('suback');
        const topics = ['conf/multi/a', 'conf/multi/b/x/y', 'conf/multi/z/c', 'conf/multi/z/d'];
        expect(await received(port, client, 'conf-multi-pub', topics, 'conf/multi/end')).toEqual(
          topics.slice(0, 3),
        );
        await client.disconnect();
      },
    );

    // "The SUBACK Packet sent by the Server to the Client MUST contain a return code for each
    // Topic Filter/QoS pair. This return code MUST either show the maximum QoS that was granted
    // for that Subscription or indicate that the subscription failed." and "The order of return
    // codes in the SUBACK Packet MUST match the order of Topic Filters in the SUBSCRIBE Packet"
    // [MQTT-3.9.3-1]
    for (const id of ['[MQTT-3.8.4-5]', '[MQTT-3.9.3-1]'])
      statement(id, 'one return code per filter, in the filters’ order', async ({ port }) => {
        const { client } = await connected(port, { clientId: `conf-order-${id}` });
        const qos = [2, 0, 1, 1, 0, 2] as const;
        client.send({
          cmd: 'subscribe',
          messageId: 8,
          subscriptions: qos.map((q, i) => ({ topic: `conf/order/${i}`, qos: q })),
        });
        expect(await client.nextOf('suback')).toMatchObject({ messageId: 8, granted: [...qos] });
        await client.disconnect();
      });

    // "SUBACK return codes other than 0x00, 0x01, 0x02 and 0x80 are reserved and MUST NOT be used."
    statement('[MQTT-3.9.3-2]', 'SUBACK return codes are only 0x00, 0x01, 0x02 or 0x80', async ({ port }) => {
      const { client } = await connected(port, { clientId: 'conf-codes' });
      const filters = ['conf/codes', '#', '+', 'conf/+/#', '$SYS/#', 'conf/codes/ü'];
      client.send({
        cmd: 'subscribe',
        messageId: 3,
        subscriptions: filters.map((topic, i) => ({ topic, qos: (i % 3) as 0 | 1 | 2 })),
      });
      const suback = await client.nextOf('suback');
      expect(suback?.granted).toHaveLength(filters.length);
      for (const code of suback!.granted) expect([0x00, 0x01, 0x02, 0x80]).toContain(code);
      await client.disconnect();
    });

    // [MQTT-3.8.4-5] again, with one filter repeated: each Topic Filter/QoS pair gets its code,
    // as if each were its own SUBSCRIBE [MQTT-3.8.4-4]
    statement(
      '[MQTT-3.8.4-5]',
      'a filter repeated in one SUBSCRIBE gets a return code each time',
      async ({ port }) => {
        const { client } = await connected(port, { clientId: 'conf-repeat' });
        client.send({
          cmd: 'subscribe',
          messageId: 4,
          subscriptions: [0, 1, 2].map((qos) => ({ topic: 'conf/repeat', qos: qos as 0 | 1 | 2 })),
        });
        expect(await client.nextOf('suback')).toMatchObject({ messageId: 4, granted: [0, 1, 2] });
        await client.disconnect();
      },
    );

    // "The Topic Filters (whether they contain wildcards or not) supplied in an UNSUBSCRIBE packet
    // MUST be compared character-by-character with the current set of Topic Filters held by the
    // Server for the Client. If any filter matches exactly then its owning Subscription is
    // deleted"
    statement('[MQTT-3.10.4-1]', 'UNSUBSCRIBE removes only the identical filter', async ({ port }) => {
      const sub = await subscribedClient(
        port,
        { clientId: 'conf-unsub-exact' },
        { 'conf/Un/+': 0, 'conf/un/+': 0, 'conf/un/end': 0 },
      );
      // not identical: a wider filter, another case; identical: conf/un/+
      sub.send({
        cmd: 'unsubscribe',
        messageId: 4,
        unsubscriptions: ['conf/Un/#', 'conf/UN/+', 'conf/un/+'],
      });
      expect(await sub.nextOf('unsuback')).toMatchObject({ messageId: 4 });
      expect(
        await received(port, sub, 'conf-unsub-exact-pub', ['conf/Un/x', 'conf/un/x'], 'conf/un/end'),
      ).toEqual(['conf/Un/x']);
      await sub.disconnect();
    });

    // "[If a filter matches exactly] the Server ... MUST stop adding any new messages for delivery
    // to the Client."
    statement('[MQTT-3.10.4-2]', 'after UNSUBSCRIBE no new message is delivered', async ({ port }) => {
      const sub = await subscribedClient(
        port,
        { clientId: 'conf-unsub-stop' },
        { 'conf/stop': 1, 'conf/stop/end': 0 },
      );
      sub.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['conf/stop'] });
      await sub.nextOf('unsuback');
      expect(await received(port, sub, 'conf-unsub-stop-pub', ['conf/stop'], 'conf/stop/end')).toEqual([]);
      await sub.disconnect();
    });

    // "[The Server] MUST complete the delivery of any QoS 1 or QoS 2 messages which it has started
    // to send to the Client."
    statement('[MQTT-3.10.4-3]', 'a QoS 2 delivery begun before UNSUBSCRIBE completes', async ({ port }) => {
      const sub = await subscribedClient(port, { clientId: 'conf-unsub-flight' }, { 'conf/flight': 2 });
      const { client: pub } = await connected(port, { clientId: 'conf-unsub-flight-pub' });
      pub.send(publishPacket('conf/flight', 'x', 1, { messageId: 1 }));
      await pub.nextOf('puback');
      const delivery = await sub.nextOf('publish');
      sub.send({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['conf/flight'] });
      await sub.nextOf('unsuback');
      // QoS 1 message to a QoS 2 subscription: delivered at 1; the PUBACK after the UNSUBSCRIBE
      // is taken, and a PINGREQ after it is answered: the connection and session are intact
      sub.send({ cmd: 'puback', messageId: delivery!.messageId });
      sub.send({ cmd: 'pingreq' });
      expect(await sub.next()).toMatchObject({ cmd: 'pingresp' });
      await pub.disconnect();
      await sub.disconnect();
    });

    // "The Server MUST respond to an UNSUBSUBCRIBE request by sending an UNSUBACK packet. The
    // UNSUBACK Packet MUST have the same Packet Identifier as the UNSUBSCRIBE Packet."
    // [MQTT-3.10.4-5]: "Even where no Topic Subscriptions are deleted, the Server MUST respond
    // with an UNSUBACK."
    statement('[MQTT-3.10.4-5]', 'UNSUBACK also when no subscription was deleted', async ({ port }) => {
      const { client } = await connected(port, { clientId: 'conf-unsub-none' });
      for (const messageId of [1, 0x8001, 65535]) {
        client.send({ cmd: 'unsubscribe', messageId, unsubscriptions: ['conf/none', 'conf/none/#'] });
        expect(await client.nextOf('unsuback')).toMatchObject({ messageId });
      }
      await client.disconnect();
    });

    // "If a Server receives an UNSUBSCRIBE packet that contains multiple Topic Filters it MUST
    // handle that packet as if it had received a sequence of multiple UNSUBSCRIBE packets, except
    // that it sends just one UNSUBACK response."
    statement(
      '[MQTT-3.10.4-6]',
      'several filters in one UNSUBSCRIBE: one UNSUBACK, all removed',
      async ({ port }) => {
        const sub = await subscribedClient(
          port,
          { clientId: 'conf-unsub-multi' },
          { 'conf/um/a': 0, 'conf/um/b': 0, 'conf/um/c': 0, 'conf/um/end': 0 },
        );
        sub.send({ cmd: 'unsubscribe', messageId: 6, unsubscriptions: ['conf/um/a', 'conf/um/b'] });
        expect(await sub.next()).toMatchObject({ cmd: 'unsuback', messageId: 6 });
        sub.send({ cmd: 'pingreq' });
        expect(await sub.next()).toMatchObject({ cmd: 'pingresp' });
        expect(
          await received(
            port,
            sub,
            'conf-unsub-multi-pub',
            ['conf/um/a', 'conf/um/b', 'conf/um/c'],
            'conf/um/end',
          ),
        ).toEqual(['conf/um/c']);
        await sub.disconnect();
      },
    );

    // "The wildcard characters can be used in Topic Filters, but MUST NOT be used within a Topic
    // Name": a PUBLISH to one is a protocol violation and closes the connection [MQTT-4.8.0-1]
    statement('[MQTT-4.7.1-1]', "a '#' in a PUBLISH topic closes the connection", async ({ port }) => {
      const { client } = await connected(port, { clientId: 'conf-pub-hash' });
      client.send(publishPacket('conf/#', 'x', 1, { messageId: 1 }));
      expect((await client.untilClosed()).filter((p) => p.cmd === 'puback')).toEqual([]);
    });

    // "The multi-level wildcard character MUST be specified either on its own or following a
    // topic level separator. In either case it MUST be the last character specified in the Topic
    // Filter" [MQTT-4.7.1-2]; "The single-level wildcard ... MUST occupy an entire level of the
    // filter" [MQTT-4.7.1-3]. An invalid filter is a protocol violation: closed, nothing granted.
    for (const [id, filter] of [
      ['[MQTT-4.7.1-2]', 'conf/#/x'],
      ['[MQTT-4.7.1-2]', 'conf/a#'],
      ['[MQTT-4.7.1-3]', 'conf/a+/b'],
      ['[MQTT-4.7.1-3]', 'conf/+b'],
    ] as const)
      statement(id, `the filter '${filter}' is refused`, async ({ port }) => {
        const { client } = await connected(port, { clientId: `conf-badfilter-${filter.length}` });
        client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] });
        const seen = await client.untilClosed();
        expect(seen.filter((p) => p.cmd === 'suback' && p.granted.some((g) => g !== 0x80))).toEqual([]);
      });

    // "Topic Names and Topic Filters MUST NOT be normalised" (case, spaces, empty levels,
    // trailing '/') [MQTT-4.7.3-4] (section 4.7.3)
    statement('[MQTT-4.7.3-4]', 'topics are compared exactly, never normalised', async ({ port }) => {
      const sub = await subscribedClient(
        port,
        { clientId: 'conf-exact' },
        { 'conf/Exact/a b': 0, 'conf/exact/end': 0 },
      );
      const others = [
        'conf/exact/a b',
        'conf/Exact/ab',
        'conf/Exact/a b/',
        'conf//Exact/a b',
        'conf/Exact/a  b',
      ];
      expect(
        await received(port, sub, 'conf-exact-pub', [...others, 'conf/Exact/a b'], 'conf/exact/end'),
      ).toEqual(['conf/Exact/a b']);
      await sub.disconnect();
    });

    // "Unless stated otherwise, if either the Server or Client encounters a protocol violation, it
    // MUST close the Network Connection": packet types 0 and 15 are reserved in 3.1.1
    for (const type of [0x00, 0xf0])
      statement(
        '[MQTT-4.8.0-1]',
        `reserved packet type ${type >> 4} closes the connection`,
        async ({ port }) => {
          const { client } = await connected(port, { clientId: `conf-reserved-${type}` });
          client.send(Buffer.concat([rawPacket(type), Buffer.from([0xc0, 0x00])]));
          expect(await client.untilClosed()).toEqual([]);
        },
      );
  },
  { clustered: true },
);
