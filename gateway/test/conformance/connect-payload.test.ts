import { expect } from 'vitest';
import {
  badUtf8,
  connected,
  mqttString,
  publishesUntil,
  publishPacket,
  RawClient,
  rawConnect,
  rawPacket,
  subscribedClient,
} from './raw-client.js';
import { conformanceSuite } from './suite.js';

/** Connect flags (section 3.1.2.3). */
const f = { username: 0x80, password: 0x40, will: 0x04, clean: 0x02 };

conformanceSuite(
  'CONNECT payload: user name and password flags, field order, client id, validation (3.1.2-3.1.4, 3.2.2)',
  (statement) => {
    /**
     * Sends `bytes` as the first packet and expects the close with nothing before it: "the Server
     * MUST validate that the CONNECT Packet conforms to section 3.1 and close the Network
     * Connection without sending a CONNACK if it does not conform" [MQTT-3.1.4-1]. Most of the
     * statements below bind the client; this is what the broker owes when a client breaks them.
     */
    const closedWithoutConnack = async (port: number, bytes: Buffer) => {
      const client = await RawClient.open(port);
      client.send(bytes);
      expect(await client.untilClosed()).toEqual([]);
    };

    // "If the User Name Flag is set to 0, a user name MUST NOT be present in the payload."
    statement(
      '[MQTT-3.1.2-18]',
      'a user name its flag does not announce: closed without CONNACK',
      async ({ port }) => {
        await closedWithoutConnack(
          port,
          rawConnect({ flags: f.clean, fields: [mqttString('conf-u18'), mqttString('user')] }),
        );
      },
    );

    // "If the User Name Flag is set to 1, a user name MUST be present in the payload."
    statement(
      '[MQTT-3.1.2-19]',
      'the user name flag without a user name: closed without CONNACK',
      async ({ port }) => {
        await closedWithoutConnack(
          port,
          rawConnect({ flags: f.clean | f.username, fields: [mqttString('conf-u19')] }),
        );
      },
    );

    // "If the Password Flag is set to 0, a password MUST NOT be present in the payload."
    statement(
      '[MQTT-3.1.2-20]',
      'a password its flag does not announce: closed without CONNACK',
      async ({ port }) => {
        await closedWithoutConnack(
          port,
          rawConnect({
            flags: f.clean | f.username,
            fields: [mqttString('conf-p20'), mqttString('user'), mqttString('secret')],
          }),
        );
      },
    );

    // "If the Password Flag is set to 1, a password MUST be present in the payload."
    statement(
      '[MQTT-3.1.2-21]',
      'the password flag without a password: closed without CONNACK',
      async ({ port }) => {
        await closedWithoutConnack(
          port,
          rawConnect({
            flags: f.clean | f.username | f.password,
            fields: [mqttString('conf-p21'), mqttString('user')],
          }),
        );
      },
    );

    // "These fields, if present, MUST appear in the order Client Identifier, Will Topic, Will
    // Message, User Name, Password." The broker reads them in that order: each lands where it belongs.
    statement(
      '[MQTT-3.1.3-1]',
      'client id, will topic, will message, user name, password: each read as what it is',
      async ({ port }) => {
        const sub = await subscribedClient(port, { clientId: 'conf-order-sub' }, { 'conf/order31/will': 0 });
        const client = await RawClient.open(port);
        client.send(
          rawConnect({
            flags: f.clean | f.will | f.username | f.password,
            fields: ['conf-order-node', 'conf/order31/will', 'the will message', 'a user', 'a password'].map(
              (s) => mqttString(s),
            ),
          }),
        );
        expect(await client.next()).toMatchObject({ cmd: 'connack', returnCode: 0 });
        await client.drop();
        // the will went out with its topic and message, not the user name or password
        const wills = await publishesUntil(sub, 'conf/order31/will');
        expect(wills.map((p) => p.payload.toString())).toEqual(['the will message']);
        await sub.disconnect();
      },
    );

    // "The Client Identifier (ClientId) MUST be used by Clients and by Servers to identify state
    // that they hold relating to this MQTT Session between the Client and the Server"
    statement(
      '[MQTT-3.1.3-2]',
      'the session is the client id’s: another id does not get it, the same id does',
      async ({ port }) => {
        const owner = await subscribedClient(
          port,
          { clientId: 'conf-id-a', clean: false },
          { 'conf/id32': 1 },
        );
        await owner.drop();
        const { client: pub } = await connected(port, { clientId: 'conf-id-pub' });
        pub.send(publishPacket('conf/id32', 'for a', 1, { messageId: 1 }));
        await pub.nextOf('puback');
        const other = await connected(port, { clientId: 'conf-id-b', clean: false });
        expect(other.sessionPresent).toBe(false);
        other.client.send({ cmd: 'pingreq' });
        // nothing of a's session came to b: the answer to its PINGREQ is the first packet
        expect(await other.client.next()).toMatchObject({ cmd: 'pingresp' });
        await other.client.disconnect();
        const back = await connected(port, { clientId: 'conf-id-a', clean: false });
        expect(back.sessionPresent).toBe(true);
        expect((await publishesUntil(back.client, 'conf/id32')).map((p) => p.payload.toString())).toEqual([
          'for a',
        ]);
        await back.client.disconnect();
        for (const clientId of ['conf-id-a', 'conf-id-b'])
          await (await connected(port, { clientId, clean: true })).client.disconnect();
        await pub.disconnect();
      },
    );

    // "The Client Identifier (ClientId) MUST be present and MUST be the first field in the CONNECT
    // packet payload"
    statement(
      '[MQTT-3.1.3-3]',
      'a CONNECT without a client id field: closed without CONNACK',
      async ({ port }) => {
        await closedWithoutConnack(port, rawConnect({ flags: f.clean, fields: [] }));
      },
    );

    // "The ClientId MUST be a UTF-8 encoded string as defined in Section 1.5.3"
    statement('[MQTT-3.1.3-4]', 'a client id that is not UTF-8: closed without CONNACK', async ({ port }) => {
      for (const bad of [...Object.values(badUtf8), Buffer.from('a\u0000b')])
        await closedWithoutConnack(port, rawConnect({ flags: f.clean, fields: [mqttString(bad)] }));
    });

    // "If the Will Flag is set to 1, the Will Topic is the next field in the payload. The Will
    // Topic MUST be a UTF-8 encoded string as defined in Section 1.5.3"
    statement(
      '[MQTT-3.1.3-10]',
      'a will topic that is not UTF-8: closed without CONNACK',
      async ({ port }) => {
        for (const bad of [...Object.values(badUtf8), Buffer.from('a\u0000b')])
          await closedWithoutConnack(
            port,
            rawConnect({
              flags: f.clean | f.will,
              fields: [mqttString('conf-w10'), mqttString(bad), mqttString('bye')],
            }),
          );
      },
    );

    // "If the User Name Flag is set to 1, this is the next field in the payload. The User Name
    // MUST be a UTF-8 encoded string as defined in Section 1.5.3"
    statement(
      '[MQTT-3.1.3-11]',
      'a user name that is not UTF-8: closed without CONNACK',
      async ({ port }) => {
        for (const bad of [...Object.values(badUtf8), Buffer.from('a\u0000b')])
          await closedWithoutConnack(
            port,
            rawConnect({ flags: f.clean | f.username, fields: [mqttString('conf-u11'), mqttString(bad)] }),
          );
      },
    );

    // "The Server MUST validate that the CONNECT Packet conforms to section 3.1 and close the
    // Network Connection without sending a CONNACK if it does not conform."
    statement(
      '[MQTT-3.1.4-1]',
      'a CONNECT that does not conform to 3.1: closed without CONNACK',
      async ({ port }) => {
        // a client id whose length runs past the end of the packet
        const cut = Buffer.concat([Buffer.from([0, 40]), Buffer.from('conf-cut')]);
        await closedWithoutConnack(port, rawConnect({ flags: f.clean, fields: [cut] }));
        // a CONNECT ending inside its variable header (no keep alive)
        await closedWithoutConnack(port, rawPacket(0x10, mqttString('MQTT'), Buffer.from([4, f.clean])));
      },
    );

    // "The Server MUST perform the processing of CleanSession that is described in section 3.1.2.4"
    statement(
      '[MQTT-3.1.4-3]',
      'CleanSession 1 discards the stored session: no subscription, no queued message, none kept after',
      async ({ port }) => {
        const id = 'conf-clean-proc';
        await (await subscribedClient(port, { clientId: id, clean: false }, { 'conf/cleanproc': 1 })).drop();
        const { client: pub } = await connected(port, { clientId: 'conf-clean-proc-pub' });
        pub.send(publishPacket('conf/cleanproc', 'queued', 1, { messageId: 1 }));
        await pub.nextOf('puback');
        const clean = await connected(port, { clientId: id, clean: true });
        expect(clean.sessionPresent).toBe(false);
        // neither the queued message nor the old subscription: a message now is not delivered
        pub.send(publishPacket('conf/cleanproc', 'after', 1, { messageId: 2 }));
        await pub.nextOf('puback');
        clean.client.send({ cmd: 'pingreq' });
        expect(await clean.client.next()).toMatchObject({ cmd: 'pingresp' });
        await clean.client.disconnect();
        // and the CleanSession 1 session was not kept [MQTT-3.1.2-6]
        const after = await connected(port, { clientId: id, clean: false });
        expect(after.sessionPresent).toBe(false);
        await after.client.disconnect();
        await (await connected(port, { clientId: id, clean: true })).client.disconnect();
        await pub.disconnect();
      },
    );

    // "If none of the return codes listed in Table 3.1 are deemed applicable, then the Server
    // MUST close the Network Connection without sending a CONNACK": a will announced by its flag
    // whose message is missing is none of 0x01-0x05 (protocol, identifier, availability,
    // credentials, authorization)
    statement(
      '[MQTT-3.2.2-6]',
      'a CONNECT no return code fits (its will message missing): closed, no CONNACK of any code',
      async ({ port }) => {
        await closedWithoutConnack(
          port,
          rawConnect({
            flags: f.clean | f.will,
            fields: [mqttString('conf-226'), mqttString('conf/226/will')],
          }),
        );
      },
    );
  },
  { clustered: true },
);
