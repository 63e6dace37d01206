import mqttPacket from 'mqtt-packet';
import { expect } from 'vitest';
import {
  connected,
  connectPacket,
  mqttString,
  publishesUntil,
  publishPacket,
  RawClient,
  rawConnect,
  subscribedClient,
} from './raw-client.js';
import { conformanceSuite } from './suite.js';

conformanceSuite(
  'CONNECT outcomes, sessions and wills (3.1.2, 3.1.3, 3.1.4, 3.2)',
  (statement) => {
    /** What a subscriber to `topic` receives before a marker published after the thing under test. */
    const until = async (port: number, sub: RawClient, topic: string) => {
      const { client: pub } = await connected(port, { clientId: `${topic}-marker`.replaceAll('/', '-') });
      pub.send(publishPacket(`${topic}/marker`, 'marker', 0));
      const seen = await publishesUntil(sub, `${topic}/marker`);
      await pub.disconnect();
      return seen.filter((p) => p.topic === topic);
    };

    // "If CleanSession is set to 0, the Server MUST resume communications with the Client based on
    // state from the current Session (as identified by the Client identifier). If there is no
    // Session associated with the Client identifier the Server MUST create a new Session."
    statement(
      '[MQTT-3.1.2-4]',
      'CleanSession 0 resumes the session: its subscriptions still hold',
      async ({ port }) => {
        const first = await subscribedClient(
          port,
          { clientId: 'conf-resume', clean: false },
          { 'conf/resume': 1 },
        );
        await first.disconnect();
        const back = await connected(port, { clientId: 'conf-resume', clean: false });
        expect(back.sessionPresent).toBe(true);
        const { client: pub } = await connected(port, { clientId: 'conf-resume-pub' });
        pub.send(publishPacket('conf/resume', 'still subscribed', 1, { messageId: 1 }));
        expect((await publishesUntil(back.client, 'conf/resume')).map((p) => p.payload.toString())).toEqual([
          'still subscribed',
        ]);
        await pub.disconnect();
        await back.client.disconnect();
        await (await connected(port, { clientId: 'conf-resume', clean: true })).client.disconnect();
      },
    );

    // "If CleanSession is set to 1, the Client and Server MUST discard any previous Session and
    // start a new one. This Session lasts as long as the Network Connection."
    statement('[MQTT-3.1.2-6]', 'a CleanSession 1 session ends with its connection', async ({ port }) => {
      const clean = await subscribedClient(
        port,
        { clientId: 'conf-ephemeral', clean: true },
        { 'conf/ephemeral': 1 },
      );
      await clean.disconnect();
      // no session was kept: nothing to resume, nothing queued for it
      const { client: pub } = await connected(port, { clientId: 'conf-ephemeral-pub' });
      pub.send(publishPacket('conf/ephemeral', 'nobody', 1, { messageId: 1 }));
      await pub.nextOf('puback');
      const back = await connected(port, { clientId: 'conf-ephemeral', clean: false });
      expect(back.sessionPresent).toBe(false);
      back.client.send({ cmd: 'pingreq' });
      expect(await back.client.next()).toMatchObject({ cmd: 'pingresp' });
      await back.client.disconnect();
      await (await connected(port, { clientId: 'conf-ephemeral', clean: true })).client.disconnect();
      await pub.disconnect();
    });

    // "If the Will Flag is set to 1 this indicates that, if the Connect request is accepted, a Will
    // Message MUST be stored on the Server ... The Will QoS and Will Retain fields in the Connect
    // Flags will be used by the Server, and the Will Topic and Will Message fields MUST be present
    // in the payload." The will goes at its own QoS.
    statement('[MQTT-3.1.2-9]', 'the will is published with its topic, message and QoS', async ({ port }) => {
      const sub = await subscribedClient(port, { clientId: 'conf-willqos-sub' }, { 'conf/willqos/+': 2 });
      for (const qos of [0, 1, 2] as const) {
        const dying = await connected(port, {
          clientId: `conf-willqos-${qos}`,
          will: { topic: `conf/willqos/${qos}`, payload: Buffer.from(`q${qos}`), qos, retain: false },
        });
        await dying.client.drop();
        const will = await sub.nextOf('publish');
        expect(will).toMatchObject({ topic: `conf/willqos/${qos}`, payload: Buffer.from(`q${qos}`), qos });
        if (qos === 1) sub.send({ cmd: 'puback', messageId: will!.messageId });
        if (qos === 2) {
          sub.send({ cmd: 'pubrec', messageId: will!.messageId });
          await sub.nextOf('pubrel');
          sub.send({ cmd: 'pubcomp', messageId: will!.messageId });
        }
      }
      await sub.disconnect();
    });

    // "The Will Message MUST be removed from the stored Session state in the Server once it has
    // been published or the Server has received a DISCONNECT packet from the Client."
    statement('[MQTT-3.1.2-10]', 'a published will is gone from the stored session', async ({ port }) => {
      const sub = await subscribedClient(
        port,
        { clientId: 'conf-willonce-sub' },
        { 'conf/willonce': 0, 'conf/willonce/marker': 0 },
      );
      const withWill = await connected(port, {
        clientId: 'conf-willonce',
        clean: false,
        will: { topic: 'conf/willonce', payload: Buffer.from('once'), qos: 0, retain: false },
      });
      await withWill.client.drop();
      expect((await until(port, sub, 'conf/willonce')).map((p) => p.payload.toString())).toEqual(['once']);
      // the same session again, without a will, dropped: nothing is published
      const again = await connected(port, { clientId: 'conf-willonce', clean: false });
      await again.client.drop();
      expect(await until(port, sub, 'conf/willonce')).toEqual([]);
      await (await connected(port, { clientId: 'conf-willonce', clean: true })).client.disconnect();
      await sub.disconnect();
    });

    // "If the Will Flag is set to 1 and If Will Retain is set to 0, the Server MUST publish the
    // Will Message as a non-retained message." [MQTT-3.1.2-16]; "If the Will Flag is set to 1 and
    // If Will Retain is set to 1, the Server MUST publish the Will Message as a retained message"
    // [MQTT-3.1.2-17]
    for (const [id, retain] of [
      ['[MQTT-3.1.2-16]', false],
      ['[MQTT-3.1.2-17]', true],
    ] as const)
      statement(
        id,
        `a will with Will Retain ${Number(retain)} is ${retain ? '' : 'not '}retained`,
        async ({ port }) => {
          const topic = `conf/willretain/${Number(retain)}`;
          const filters = { [`${topic}/+`]: 0, [topic]: 1 } as const;
          // a subscriber from before the drop: the will has been published once it arrives
          const watcher = await subscribedClient(
            port,
            { clientId: `conf-willretain-w-${Number(retain)}` },
            filters,
          );
          const dying = await connected(port, {
            clientId: `conf-willretain-${Number(retain)}`,
            will: { topic, payload: Buffer.from('last words'), qos: 1, retain },
          });
          await dying.client.drop();
          expect(await publishesUntil(watcher, topic)).toMatchObject([
            { payload: Buffer.from('last words') },
          ]);
          await watcher.disconnect();
          const late = await subscribedClient(
            port,
            { clientId: `conf-willretain-late-${Number(retain)}` },
            filters,
          );
          const seenLate = await until(port, late, topic);
          await late.disconnect();
          if (retain) {
            expect(seenLate).toMatchObject([{ payload: Buffer.from('last words'), retain: true }]);
            const { client: clear } = await connected(port, { clientId: 'conf-willretain-clear' });
            clear.send(publishPacket(topic, '', 1, { messageId: 1, retain: true }));
            await clear.nextOf('puback');
            await clear.disconnect();
          } else {
            expect(seenLate).toEqual([]);
          }
        },
      );

    // "If the Server rejects the ClientId it MUST respond to the CONNECT Packet with a CONNACK
    // return code 0x02 (Identifier rejected) and then close the Network Connection." A non-zero
    // code has Session Present 0 [MQTT-3.2.2-4], and the connection is closed [MQTT-3.2.2-5].
    statement('[MQTT-3.1.3-9]', 'a rejected client id: CONNACK 0x02, then the close', async ({ port }) => {
      const client = await RawClient.open(port);
      client.send(rawConnect({ flags: 0, fields: [mqttString('')] }));
      expect(await client.untilClosed()).toMatchObject([{ cmd: 'connack', returnCode: 2 }]);
    });

    statement(
      '[MQTT-3.2.2-4]',
      'a refusing CONNACK has Session Present 0, even with a stored session',
      async ({ port }) => {
        const stored = await subscribedClient(
          port,
          { clientId: 'conf-refused', clean: false },
          { 'conf/refused': 1 },
        );
        await stored.disconnect();
        // the same stored client id, asking for protocol level 2: refused with 0x01
        const client = await RawClient.open(port);
        client.send(rawConnect({ level: 2, flags: 0, fields: [mqttString('conf-refused')] }));
        expect(await client.untilClosed()).toMatchObject([
          { cmd: 'connack', returnCode: 1, sessionPresent: false },
        ]);
        await (await connected(port, { clientId: 'conf-refused', clean: true })).client.disconnect();
      },
    );

    statement('[MQTT-3.2.2-5]', 'after a non-zero CONNACK the connection is closed', async ({ port }) => {
      for (const bytes of [
        rawConnect({ level: 0, flags: 0x02, fields: [mqttString('conf-level0')] }),
        rawConnect({ flags: 0, fields: [mqttString('')] }),
      ]) {
        const client = await RawClient.open(port);
        client.send(bytes);
        const seen = await client.untilClosed();
        expect(seen).toHaveLength(1);
        expect(seen[0]).toMatchObject({ cmd: 'connack' });
        expect((seen[0] as { returnCode: number }).returnCode).not.toBe(0);
      }
    });

    // "If the Server accepts a connection with CleanSession set to 1, ... the Server MUST
    // acknowledge the CONNECT Packet with a CONNACK Packet containing a zero return code"
    // [MQTT-3.1.4-4]; "The first packet sent from the Server to the Client MUST be a CONNACK
    // Packet" [MQTT-3.2.0-1], also when the client sends more right behind its CONNECT.
    statement('[MQTT-3.1.4-4]', 'an accepted CONNECT gets CONNACK 0x00', async ({ port }) => {
      const client = await RawClient.open(port);
      client.send(connectPacket({ clientId: 'conf-accepted' }));
      expect(await client.next()).toMatchObject({ cmd: 'connack', returnCode: 0 });
      await client.disconnect();
    });

    statement('[MQTT-3.2.0-1]', 'the first packet from the server is the CONNACK', async ({ port }) => {
      const { client: pub } = await connected(port, { clientId: 'conf-first-pub' });
      pub.send(publishPacket('conf/first', 'kept', 1, { messageId: 1, retain: true }));
      await pub.nextOf('puback');
      const client = await RawClient.open(port);
      // a CONNECT, a SUBSCRIBE that has a retained message waiting, a PINGREQ, in one write
      client.send(
        Buffer.concat([
          mqttPacket.generate(connectPacket({ clientId: 'conf-first' })),
          mqttPacket.generate({
            cmd: 'subscribe',
            messageId: 1,
            subscriptions: [{ topic: 'conf/first', qos: 1 }],
          }),
          Buffer.from([0xc0, 0x00]),
        ]),
      );
      expect(await client.next()).toMatchObject({ cmd: 'connack', returnCode: 0 });
      await client.disconnect();
      pub.send(publishPacket('conf/first', '', 1, { messageId: 2, retain: true }));
      await pub.nextOf('puback');
      await pub.disconnect();
    });

    // the same when a stored session resumes while a message for it is still on its way: aedes
    // sends a QoS 1 PUBACK before it passes the message on, restores the session's subscriptions
    // before its CONNACK, and so wrote the message first (seen on Redis, where passing it on
    // takes a round trip); the [MQTT-3.1.2-5] test failed on that about once in eight runs
    statement(
      '[MQTT-3.2.0-1]',
      'the first packet is the CONNACK also when a message for the resumed session is being passed on',
      async ({ port }) => {
        const id = 'conf-first-resume';
        await (
          await subscribedClient(port, { clientId: id, clean: false }, { 'conf/first-resume': 1 })
        ).disconnect();
        const { client: pub } = await connected(port, { clientId: 'conf-first-resume-pub' });
        for (let i = 1; i <= 20; i++) {
          pub.send(publishPacket('conf/first-resume', `${i}`, 1, { messageId: i }));
          const client = await RawClient.open(port);
          client.send(connectPacket({ clientId: id, clean: false }));
          expect(await client.next(), `round ${i}`).toMatchObject({ cmd: 'connack', returnCode: 0 });
          await pub.nextOf('puback');
          // the message arrives (a copy re-sent from the session may come first), then the next round
          let got: string | undefined;
          while (got !== `${i}`)
            got = (await publishesUntil(client, 'conf/first-resume')).at(-1)?.payload.toString();
          await client.disconnect();
        }
        await (await connected(port, { clientId: id, clean: true })).client.disconnect();
        await pub.disconnect();
      },
    );

    // "If the Server rejects the CONNECT, it MUST NOT process any data sent by the Client after
    // the CONNECT Packet" [MQTT-3.1.4-5]: a PUBLISH right behind a refused CONNECT is not stored
    statement('[MQTT-3.1.4-5]', 'nothing after a refused CONNECT is processed', async ({ port }) => {
      const client = await RawClient.open(port);
      client.send(
        Buffer.concat([
          rawConnect({ flags: 0, fields: [mqttString('')] }),
          mqttPacket.generate(publishPacket('conf/after-refusal', 'must not', 0, { retain: true })),
        ]),
      );
      expect(await client.untilClosed()).toMatchObject([{ cmd: 'connack', returnCode: 2 }]);
      const sub = await subscribedClient(
        port,
        { clientId: 'conf-after-refusal' },
        { 'conf/after-refusal': 0, 'conf/after-refusal/marker': 0 },
      );
      expect(await until(port, sub, 'conf/after-refusal')).toEqual([]);
      await sub.disconnect();
    });
  },
  { clustered: true },
);
