import { expect } from 'vitest';
import { connected, publishesUntil, publishPacket, subscribedClient } from './raw-client.js';
import { conformanceSuite } from './suite.js';

/** aedes 1.2 re-sends a stored QoS > 0 PUBLISH from the session with the DUP flag it was first sent with (0). */

conformanceSuite(
  'QoS 1 and 2 flows, redelivery, ordering (3.4-3.7, 4.3-4.6)',
  (statement) => {
    // "[The receiver] MUST respond with a PUBACK Packet containing the Packet Identifier from the
    // incoming PUBLISH Packet, having accepted ownership of the Application Message"
    statement(
      '[MQTT-4.3.2-2]',
      'QoS 1: PUBACK with the id, then the same id is a new message',
      async ({ port }) => {
        const sub = await subscribedClient(port, { clientId: 'conf-q1-sub' }, { 'conf/q1': 1 });
        const { client: pub } = await connected(port, { clientId: 'conf-q1-pub' });
        pub.send(publishPacket('conf/q1', 'one', 1, { messageId: 5 }));
        expect(await pub.nextOf('puback')).toMatchObject({ messageId: 5 });
        // "After it has sent a PUBACK Packet the Receiver MUST treat any incoming PUBLISH packet that
        // contains the same Packet Identifier as being a new publication, irrespective of the
        // setting of its DUP flag."
        pub.send(publishPacket('conf/q1', 'two', 1, { messageId: 5, dup: true }));
        expect(await pub.nextOf('puback')).toMatchObject({ messageId: 5 });
        const got = [...(await publishesUntil(sub, 'conf/q1')), ...(await publishesUntil(sub, 'conf/q1'))];
        expect(got.map((p) => p.payload.toString())).toEqual(['one', 'two']);
        await pub.disconnect();
        await sub.disconnect();
      },
    );

    // "When the Server receives a PUBLISH with QoS 1 it MUST respond with a PUBACK" (3.4.4) and the
    // message is passed on: the acknowledgement means the broker owns it [MQTT-4.5.0-1].
    statement('[MQTT-3.4.4-1]', 'QoS 1: acknowledged and passed on to each subscriber', async ({ port }) => {
      const subs = [
        await subscribedClient(port, { clientId: 'conf-q1a' }, { 'conf/q1own': 1 }),
        await subscribedClient(port, { clientId: 'conf-q1b' }, { 'conf/+': 0 }),
      ];
      const { client: pub } = await connected(port, { clientId: 'conf-q1own-pub' });
      pub.send(publishPacket('conf/q1own', 'owned', 1, { messageId: 3 }));
      expect(await pub.nextOf('puback')).toMatchObject({ messageId: 3 });
      for (const sub of subs) {
        expect((await publishesUntil(sub, 'conf/q1own')).map((p) => p.payload.toString())).toEqual(['owned']);
        await sub.disconnect();
      }
      await pub.disconnect();
    });

    // "When the Server receives a PUBLISH Packet from a Client, the Server MUST add the message to
    // the session state of every Client that has a matching subscription" (4.5.0)
    statement('[MQTT-4.5.0-1]', 'a message goes to every matching subscriber', async ({ port }) => {
      const filters = ['conf/own/+', 'conf/#', 'conf/own/x'];
      const subs = [];
      for (const [i, filter] of filters.entries())
        subs.push(await subscribedClient(port, { clientId: `conf-own-${i}` }, { [filter]: 1 }));
      const { client: pub } = await connected(port, { clientId: 'conf-own-pub' });
      pub.send(publishPacket('conf/own/x', 'all', 0));
      for (const sub of subs) {
        expect((await publishesUntil(sub, 'conf/own/x')).map((p) => p.payload.toString())).toEqual(['all']);
        await sub.disconnect();
      }
      await pub.disconnect();
    });

    // the same for a CleanSession 0 subscriber, whose session state the broker stores: a retained
    // message sent on SUBSCRIBE first (numbered by the broker, never emitted) made the gateway's
    // stored copy and its delivery disagree on the packet's number, and aedes closed the
    // connection ("no such packet") instead of delivering
    statement(
      '[MQTT-4.5.0-1]',
      'a CleanSession 0 subscriber gets QoS 1 messages after a retained one',
      async ({ port }) => {
        const { client: pub } = await connected(port, { clientId: 'conf-own-stored-pub' });
        pub.send(publishPacket('conf/own-stored/r', 'kept', 1, { messageId: 1, retain: true }));
        await pub.nextOf('puback');
        const id = 'conf-own-stored';
        const sub = await subscribedClient(port, { clientId: id, clean: false }, { 'conf/own-stored/+': 1 });
        for (let i = 2; i <= 4; i++) {
          pub.send(publishPacket('conf/own-stored/m', `${i}`, 1, { messageId: i }));
          await pub.nextOf('puback');
        }
        pub.send(publishPacket('conf/own-stored/end', 'end', 1, { messageId: 5 }));
        await pub.nextOf('puback');
        const got = (await publishesUntil(sub, 'conf/own-stored/end')).map((p) => p.payload.toString());
        expect(got).toEqual(['kept', '2', '3', '4', 'end']);
        expect(sub.closed).toBe(false);
        await sub.disconnect();
        await (await connected(port, { clientId: id, clean: true })).client.disconnect();
        pub.send(publishPacket('conf/own-stored/r', '', 0, { retain: true }));
        await pub.disconnect();
      },
    );

    // "[The receiver] MUST respond with a PUBREC containing the Packet Identifier from the incoming
    // PUBLISH Packet ... Until it has received the corresponding PUBREL packet, the Receiver MUST
    // acknowledge any subsequent PUBLISH packet with the same Packet Identifier by sending a
    // PUBREC. It MUST NOT cause duplicate messages to be delivered to any onward recipients in
    // this case. ... MUST respond to a PUBREL packet by sending a PUBCOMP packet containing the
    // same Packet Identifier as the PUBREL. After it has sent a PUBCOMP, the receiver MUST treat
    // any subsequent PUBLISH packet that contains that Packet Identifier as being a new
    // publication."
    statement(
      '[MQTT-4.3.3-2]',
      'QoS 2: a resent PUBLISH before PUBREL is not delivered twice; after PUBCOMP the id is new',
      async ({ port }) => {
        const sub = await subscribedClient(
          port,
          { clientId: 'conf-q2-sub' },
          { 'conf/q2': 2, 'conf/q2end': 0 },
        );
        const { client: pub } = await connected(port, { clientId: 'conf-q2-pub' });
        pub.send(publishPacket('conf/q2', 'once', 2, { messageId: 7 }));
        expect(await pub.nextOf('pubrec')).toMatchObject({ messageId: 7 });
        pub.send(publishPacket('conf/q2', 'once', 2, { messageId: 7, dup: true }));
        expect(await pub.nextOf('pubrec')).toMatchObject({ messageId: 7 });
        pub.send({ cmd: 'pubrel', messageId: 7 });
        expect(await pub.nextOf('pubcomp')).toMatchObject({ messageId: 7 });
        pub.send(publishPacket('conf/q2', 'again', 2, { messageId: 7 }));
        expect(await pub.nextOf('pubrec')).toMatchObject({ messageId: 7 });
        pub.send({ cmd: 'pubrel', messageId: 7 });
        expect(await pub.nextOf('pubcomp')).toMatchObject({ messageId: 7 });
        pub.send(publishPacket('conf/q2end', 'marker', 0));
        const got = (await publishesUntil(sub, 'conf/q2end')).filter((p) => p.topic === 'conf/q2');
        expect(got.map((p) => p.payload.toString())).toEqual(['once', 'again']);
        await pub.disconnect();
        await sub.disconnect();
      },
    );

    // "When the Server receives a PUBREL Packet from a Client it MUST respond with a PUBCOMP
    // Packet containing the same Packet Identifier as the PUBREL" (3.6.4), also for an id it
    // holds no message for (nothing to release, the flow still completes).
    statement('[MQTT-3.6.4-1]', 'PUBREL gets PUBCOMP with the same id', async ({ port }) => {
      const { client } = await connected(port, { clientId: 'conf-pubrel' });
      client.send(publishPacket('conf/pubrel', 'x', 2, { messageId: 300 }));
      expect(await client.nextOf('pubrec')).toMatchObject({ messageId: 300 });
      client.send({ cmd: 'pubrel', messageId: 300 });
      expect(await client.nextOf('pubcomp')).toMatchObject({ messageId: 300 });
      client.send({ cmd: 'pubrel', messageId: 301 });
      expect(await client.nextOf('pubcomp')).toMatchObject({ messageId: 301 });
      await client.disconnect();
    });

    // "[The sender] MUST assign an unused Packet Identifier each time it has a new Application
    // Message to publish. MUST send a PUBLISH Packet containing this Packet Identifier with QoS=1,
    // DUP=0." and "The DUP flag MUST be set to 0 for all QoS 0 messages" [MQTT-3.3.1-2]
    statement('[MQTT-4.3.2-1]', 'QoS 1 deliveries: distinct unused ids, DUP 0', async ({ port }) => {
      const sub = await subscribedClient(
        port,
        { clientId: 'conf-q1ids-sub' },
        { 'conf/q1ids': 1, 'conf/q1ids0': 0 },
      );
      const { client: pub } = await connected(port, { clientId: 'conf-q1ids-pub' });
      for (let i = 1; i <= 3; i++) pub.send(publishPacket('conf/q1ids', `${i}`, 1, { messageId: i }));
      pub.send(publishPacket('conf/q1ids0', 'zero', 0));
      // none acknowledged yet: all three are in flight at once, so their ids must differ
      const inFlight = [];
      while (inFlight.length < 4) {
        const p = await sub.nextOf('publish');
        if (!p) throw new Error('closed');
        inFlight.push(p);
      }
      const qos1 = inFlight.filter((p) => p.qos === 1);
      expect(qos1).toHaveLength(3);
      expect(new Set(qos1.map((p) => p.messageId)).size).toBe(3);
      expect(inFlight.every((p) => p.dup === false)).toBe(true);
      for (const p of qos1) sub.send({ cmd: 'puback', messageId: p.messageId });
      await pub.disconnect();
      await sub.disconnect();
    });

    statement('[MQTT-3.3.1-2]', 'DUP is 0 on QoS 0 deliveries, also of a QoS 2 message', async ({ port }) => {
      const sub = await subscribedClient(port, { clientId: 'conf-dup0-sub' }, { 'conf/dup0': 0 });
      const { client: pub } = await connected(port, { clientId: 'conf-dup0-pub' });
      pub.send(publishPacket('conf/dup0', 'x', 2, { messageId: 1, dup: true }));
      await pub.nextOf('pubrec');
      pub.send({ cmd: 'pubrel', messageId: 1 });
      await pub.nextOf('pubcomp');
      expect(await publishesUntil(sub, 'conf/dup0')).toMatchObject([{ qos: 0, dup: false }]);
      await pub.disconnect();
      await sub.disconnect();
    });

    // "The value of the DUP flag from an incoming PUBLISH packet is not propagated when the
    // PUBLISH Packet is sent to subscribers by the Server. The DUP flag in the outgoing PUBLISH
    // packet is set independently to the incoming PUBLISH packet, its value MUST be determined
    // solely by whether the outgoing PUBLISH packet is a retransmission."
    statement('[MQTT-3.3.1-3]', 'an incoming DUP 1 is not passed on', async ({ port }) => {
      const sub = await subscribedClient(port, { clientId: 'conf-dup-sub' }, { 'conf/dup': 1 });
      const { client: pub } = await connected(port, { clientId: 'conf-dup-pub' });
      pub.send(publishPacket('conf/dup', 'x', 1, { messageId: 1, dup: true }));
      await pub.nextOf('puback');
      expect(await publishesUntil(sub, 'conf/dup')).toMatchObject([{ qos: 1, dup: false }]);
      await pub.disconnect();
      await sub.disconnect();
    });

    // "[The sender] MUST send a PUBREL packet when it receives a PUBREC packet. This PUBREL packet
    // MUST contain the same Packet Identifier as the original PUBLISH packet. ... MUST NOT re-send
    // the PUBLISH once it has sent the corresponding PUBREL packet."
    statement(
      '[MQTT-4.3.3-1]',
      'QoS 2 delivery: PUBLISH DUP 0, PUBREL after PUBREC, same id',
      async ({ port }) => {
        const sub = await subscribedClient(port, { clientId: 'conf-q2out-sub' }, { 'conf/q2out': 2 });
        const { client: pub } = await connected(port, { clientId: 'conf-q2out-pub' });
        pub.send(publishPacket('conf/q2out', 'x', 2, { messageId: 9 }));
        await pub.nextOf('pubrec');
        pub.send({ cmd: 'pubrel', messageId: 9 });
        await pub.nextOf('pubcomp');
        const delivery = await sub.nextOf('publish');
        expect(delivery).toMatchObject({ qos: 2, dup: false });
        sub.send({ cmd: 'pubrec', messageId: delivery!.messageId });
        expect(await sub.next()).toMatchObject({ cmd: 'pubrel', messageId: delivery!.messageId });
        sub.send({ cmd: 'pubcomp', messageId: delivery!.messageId });
        // then nothing more of that message: a PINGREQ's answer is the next packet
        sub.send({ cmd: 'pingreq' });
        expect(await sub.next()).toMatchObject({ cmd: 'pingresp' });
        await pub.disconnect();
        await sub.disconnect();
      },
    );

    // "When a Client reconnects with CleanSession set to 0, both the Client and Server MUST
    // re-send any unacknowledged PUBLISH Packets (where QoS > 0) and PUBREL Packets using their
    // original Packet Identifiers." A re-sent PUBLISH has DUP 1 [MQTT-3.3.1-1].
    statement(
      '[MQTT-4.4.0-1]',
      'reconnecting with CleanSession 0: unacknowledged PUBLISH and PUBREL re-sent with their ids',
      async ({ port }) => {
        const id = 'conf-resend';
        const sub = await subscribedClient(
          port,
          { clientId: id, clean: false },
          { 'conf/resend/1': 1, 'conf/resend/2': 2 },
        );
        const { client: pub } = await connected(port, { clientId: 'conf-resend-pub' });
        pub.send(publishPacket('conf/resend/1', 'q1', 1, { messageId: 1 }));
        await pub.nextOf('puback');
        pub.send(publishPacket('conf/resend/2', 'q2', 2, { messageId: 2 }));
        await pub.nextOf('pubrec');
        pub.send({ cmd: 'pubrel', messageId: 2 });
        await pub.nextOf('pubcomp');
        const q1 = await sub.nextOf('publish');
        const q2 = await sub.nextOf('publish');
        expect([q1?.qos, q2?.qos]).toEqual([1, 2]);
        // the QoS 1 one left unacknowledged; the QoS 2 one received, its PUBREL never answered
        sub.send({ cmd: 'pubrec', messageId: q2!.messageId });
        expect(await sub.nextOf('pubrel')).toMatchObject({ messageId: q2!.messageId });
        await sub.drop();
        const back = await connected(port, { clientId: id, clean: false });
        const resent = [await back.client.next(), await back.client.next()];
        expect(resent).toContainEqual(
          expect.objectContaining({
            cmd: 'publish',
            messageId: q1!.messageId,
            topic: 'conf/resend/1',
          }),
        );
        expect(resent).toContainEqual(expect.objectContaining({ cmd: 'pubrel', messageId: q2!.messageId }));
        back.client.send({ cmd: 'puback', messageId: q1!.messageId });
        back.client.send({ cmd: 'pubcomp', messageId: q2!.messageId });
        await back.client.disconnect();
        await (await connected(port, { clientId: id, clean: true })).client.disconnect();
        await pub.disconnect();
      },
    );

    // "The DUP flag MUST be set to 1 by the Client or Server when it attempts to re-deliver a
    // PUBLISH Packet"
    statement('[MQTT-3.3.1-1]', 'a PUBLISH re-sent on reconnection has DUP 1', async ({ port }) => {
      const id = 'conf-dup1';
      const sub = await subscribedClient(port, { clientId: id, clean: false }, { 'conf/dup1': 1 });
      const { client: pub } = await connected(port, { clientId: 'conf-dup1-pub' });
      pub.send(publishPacket('conf/dup1', 'x', 1, { messageId: 1 }));
      await pub.nextOf('puback');
      const first = await sub.nextOf('publish');
      expect(first?.dup).toBe(false);
      await sub.drop();
      const back = await connected(port, { clientId: id, clean: false });
      const again = await back.client.nextOf('publish');
      back.client.send({ cmd: 'puback', messageId: again!.messageId });
      await back.client.disconnect();
      await (await connected(port, { clientId: id, clean: true })).client.disconnect();
      await pub.disconnect();
      expect(again).toMatchObject({ messageId: first!.messageId, dup: true });
    });

    // "[A Client or Server] MUST re-send any PUBLISH packets ... in the order in which the
    // original PUBLISH packets were sent"
    statement('[MQTT-4.6.0-1]', 'unacknowledged messages are re-sent in their order', async ({ port }) => {
      const id = 'conf-reorder';
      const sub = await subscribedClient(port, { clientId: id, clean: false }, { 'conf/reorder': 1 });
      const { client: pub } = await connected(port, { clientId: 'conf-reorder-pub' });
      for (let i = 1; i <= 5; i++) {
        pub.send(publishPacket('conf/reorder', `${i}`, 1, { messageId: i }));
        await pub.nextOf('puback');
      }
      for (let i = 0; i < 5; i++) await sub.nextOf('publish');
      await sub.drop();
      const back = await connected(port, { clientId: id, clean: false });
      const resent = [];
      for (let i = 0; i < 5; i++) resent.push(await back.client.nextOf('publish'));
      expect(resent.map((p) => p?.payload.toString())).toEqual(['1', '2', '3', '4', '5']);
      for (const p of resent) back.client.send({ cmd: 'puback', messageId: p!.messageId });
      await back.client.disconnect();
      await (await connected(port, { clientId: id, clean: true })).client.disconnect();
      await pub.disconnect();
    });

    // "[A Client or Server] MUST send PUBACK packets in the order in which the corresponding
    // PUBLISH packets were received (QoS 1 messages)" and PUBREC likewise [MQTT-4.6.0-3]
    statement('[MQTT-4.6.0-2]', 'PUBACKs in the order of their PUBLISHes', async ({ port }) => {
      const { client } = await connected(port, { clientId: 'conf-ackorder' });
      const ids = [40, 7, 1000, 2, 65535, 513];
      for (const messageId of ids) client.send(publishPacket('conf/ackorder', 'x', 1, { messageId }));
      const acks = [];
      for (const _ of ids) acks.push((await client.nextOf('puback'))?.messageId);
      expect(acks).toEqual(ids);
      await client.disconnect();
    });

    statement('[MQTT-4.6.0-3]', 'PUBRECs in the order of their PUBLISHes', async ({ port }) => {
      const { client } = await connected(port, { clientId: 'conf-recorder' });
      const ids = [40, 7, 1000, 2, 65535, 513];
      for (const messageId of ids) client.send(publishPacket('conf/recorder', 'x', 2, { messageId }));
      const recs = [];
      for (const _ of ids) recs.push((await client.nextOf('pubrec'))?.messageId);
      expect(recs).toEqual(ids);
      for (const messageId of ids) client.send({ cmd: 'pubrel', messageId });
      // "MUST send PUBREL packets in the order in which the corresponding PUBREC packets were
      // received" [MQTT-4.6.0-4] is the sender's; PUBCOMPs answer the PUBRELs in their order
      const comps = [];
      for (const _ of ids) comps.push((await client.nextOf('pubcomp'))?.messageId);
      expect(comps).toEqual(ids);
      await client.disconnect();
    });

    // "[A Client or Server] MUST send PUBREL packets in the order in which the corresponding
    // PUBREC packets were received (QoS 2 messages)": the broker as sender
    statement('[MQTT-4.6.0-4]', 'PUBRELs in the order of the subscriber’s PUBRECs', async ({ port }) => {
      const sub = await subscribedClient(port, { clientId: 'conf-relorder-sub' }, { 'conf/relorder': 2 });
      const { client: pub } = await connected(port, { clientId: 'conf-relorder-pub' });
      for (let i = 1; i <= 3; i++) {
        pub.send(publishPacket('conf/relorder', `${i}`, 2, { messageId: i }));
        await pub.nextOf('pubrec');
        pub.send({ cmd: 'pubrel', messageId: i });
        await pub.nextOf('pubcomp');
      }
      const deliveries = [];
      for (let i = 0; i < 3; i++) deliveries.push((await sub.nextOf('publish'))!.messageId!);
      const order = [deliveries[2]!, deliveries[0]!, deliveries[1]!];
      for (const messageId of order) sub.send({ cmd: 'pubrec', messageId });
      const rels = [];
      for (const _ of order) rels.push((await sub.nextOf('pubrel'))?.messageId);
      expect(rels).toEqual(order);
      for (const messageId of order) sub.send({ cmd: 'pubcomp', messageId });
      await pub.disconnect();
      await sub.disconnect();
    });

    // "A Server MUST by default treat each Topic as an "Ordered Topic". It MAY provide an
    // administrative or other mechanism to allow one or more Topics to be treated as an
    // "Unordered Topic"" and "When a Server processes a message that has been published to an
    // Ordered Topic, it MUST follow the rules listed above when delivering messages to each of
    // its subscribers. In addition it MUST send PUBLISH packets to consumers (for the same Topic
    // and QoS) in the order that they were received from any given Client" [MQTT-4.6.0-6]
    for (const qos of [0, 1, 2] as const)
      statement(
        '[MQTT-4.6.0-6]',
        `one client's QoS ${qos} messages on a topic arrive in order`,
        async ({ port }) => {
          const topic = `conf/ordered/${qos}`;
          const sub = await subscribedClient(port, { clientId: `conf-ordered-sub-${qos}` }, { [topic]: qos });
          const { client: pub } = await connected(port, { clientId: `conf-ordered-pub-${qos}` });
          // a burst of 100 at every QoS (for Mosquitto's QoS 2 stall at 20, see targets.ts)
          const count = 100;
          for (let i = 1; i <= count; i++)
            pub.send(publishPacket(topic, `${i}`, qos, qos ? { messageId: i } : {}));
          if (qos === 2)
            for (let i = 1; i <= count; i++) {
              const rec = await pub.nextOf('pubrec');
              pub.send({ cmd: 'pubrel', messageId: rec!.messageId });
            }
          const got: string[] = [];
          while (got.length < count)
            got.push(...(await publishesUntil(sub, topic)).map((p) => p.payload.toString()));
          expect(got).toEqual(Array.from({ length: count }, (_, i) => `${i + 1}`));
          await pub.disconnect();
          await sub.disconnect();
        },
      );

    statement(
      '[MQTT-4.6.0-5]',
      'topics are ordered by default: interleaved topics keep each one’s order',
      async ({ port }) => {
        const sub = await subscribedClient(port, { clientId: 'conf-ordered-mix-sub' }, { 'conf/mix/+': 1 });
        const { client: pub } = await connected(port, { clientId: 'conf-ordered-mix-pub' });
        for (let i = 1; i <= 30; i++)
          pub.send(publishPacket(`conf/mix/${i % 3}`, `${i}`, 1, { messageId: i }));
        const got: { topic: string; n: number }[] = [];
        while (got.length < 30) {
          const p = await sub.nextOf('publish');
          if (!p) throw new Error('closed');
          sub.send({ cmd: 'puback', messageId: p.messageId });
          got.push({ topic: p.topic, n: Number(p.payload.toString()) });
        }
        for (const topic of ['conf/mix/0', 'conf/mix/1', 'conf/mix/2']) {
          const ns = got.filter((g) => g.topic === topic).map((g) => g.n);
          expect(ns).toEqual([...ns].sort((a, b) => a - b));
        }
        await pub.disconnect();
        await sub.disconnect();
      },
    );
  },
  { clustered: true },
);
