import { expect } from 'vitest';
import { badUtf8, connected, connectPacket, mqttString, RawClient, rawConnect } from './raw-client.js';
import { conformanceSuite } from './suite.js';

/** Connect flags (section 3.1.2.3). */
const f = { username: 0x80, password: 0x40, willRetain: 0x20, will: 0x04, clean: 0x02 };

conformanceSuite(
  'CONNECT and CONNACK (3.1, 3.2) and UTF-8 strings (1.5.3)',
  (statement) => {
    /** Sends raw bytes as the first packet; resolves with what came back before the close. */
    const refused = async (port: number, bytes: Buffer) => {
      const client = await RawClient.open(port);
      client.send(bytes);
      return client.untilClosed();
    };
    const closedWithoutConnack = async (port: number, bytes: Buffer) => {
      const seen = await refused(port, bytes);
      expect(seen.filter((p) => p.cmd === 'connack' && p.returnCode === 0)).toEqual([]);
    };

    statement(
      '[MQTT-3.1.0-1]',
      'a first packet other than CONNECT closes the connection',
      async ({ port }) => {
        const client = await RawClient.open(port);
        client.send({ cmd: 'pingreq' });
        expect(await client.untilClosed()).toEqual([]);
      },
    );

    statement('[MQTT-3.1.0-2]', 'a second CONNECT closes the connection', async ({ port }) => {
      const { client } = await connected(port, { clientId: 'conf-twice' });
      client.send(connectPacket({ clientId: 'conf-twice' }));
      expect((await client.untilClosed()).some((p) => p.cmd === 'connack')).toBe(false);
    });

    statement('[MQTT-3.1.2-1]', 'another protocol name closes the connection', async ({ port }) => {
      await closedWithoutConnack(
        port,
        rawConnect({ name: 'MQTX', flags: f.clean, fields: [mqttString('c')] }),
      );
    });

    statement(
      '[MQTT-3.1.2-2]',
      'protocol level 0 is refused with CONNACK 0x01, then closed',
      async ({ port }) => {
        const seen = await refused(port, rawConnect({ level: 0, flags: f.clean, fields: [mqttString('c')] }));
        expect(seen).toMatchObject([{ cmd: 'connack', returnCode: 1 }]);
      },
    );

    statement('[MQTT-3.1.2-3]', 'the reserved connect flag set closes the connection', async ({ port }) => {
      await closedWithoutConnack(port, rawConnect({ flags: f.clean | 0x01, fields: [mqttString('c')] }));
    });

    statement('[MQTT-3.1.2-13]', 'will QoS without the will flag closes the connection', async ({ port }) => {
      await closedWithoutConnack(port, rawConnect({ flags: f.clean | 0x08, fields: [mqttString('c')] }));
    });

    statement('[MQTT-3.1.2-14]', 'will QoS 3 closes the connection', async ({ port }) => {
      const will = [mqttString('w'), mqttString('bye')];
      await closedWithoutConnack(
        port,
        rawConnect({ flags: f.clean | f.will | 0x18, fields: [mqttString('c'), ...will] }),
      );
    });

    statement(
      '[MQTT-3.1.2-15]',
      'will retain without the will flag closes the connection',
      async ({ port }) => {
        await closedWithoutConnack(
          port,
          rawConnect({ flags: f.clean | f.willRetain, fields: [mqttString('c')] }),
        );
      },
    );

    statement('[MQTT-3.1.2-22]', 'a password without a user name closes the connection', async ({ port }) => {
      await closedWithoutConnack(
        port,
        rawConnect({ flags: f.clean | f.password, fields: [mqttString('c'), mqttString('secret')] }),
      );
    });

    statement('[MQTT-4.7.3-1]', 'an empty will topic closes the connection', async ({ port }) => {
      await closedWithoutConnack(
        port,
        rawConnect({ flags: f.clean | f.will, fields: [mqttString('c'), mqttString(''), mqttString('bye')] }),
      );
    });

    statement(
      '[MQTT-1.5.3-1]',
      'ill-formed UTF-8 in the client id closes the connection',
      async ({ port }) => {
        for (const bad of Object.values(badUtf8))
          await closedWithoutConnack(port, rawConnect({ flags: f.clean, fields: [mqttString(bad)] }));
      },
    );

    statement(
      '[MQTT-1.5.3-1]',
      'ill-formed UTF-8 in the user name closes the connection',
      async ({ port }) => {
        for (const bad of Object.values(badUtf8))
          await closedWithoutConnack(
            port,
            rawConnect({ flags: f.clean | f.username, fields: [mqttString('c'), mqttString(bad)] }),
          );
      },
    );

    statement(
      '[MQTT-1.5.3-1]',
      'ill-formed UTF-8 in the will topic closes the connection',
      async ({ port }) => {
        for (const bad of Object.values(badUtf8))
          await closedWithoutConnack(
            port,
            rawConnect({
              flags: f.clean | f.will,
              fields: [mqttString('c'), mqttString(bad), mqttString('bye')],
            }),
          );
      },
    );

    statement('[MQTT-1.5.3-2]', 'U+0000 in the client id closes the connection', async ({ port }) => {
      await closedWithoutConnack(port, rawConnect({ flags: f.clean, fields: [mqttString('a\u0000b')] }));
    });

    statement('[MQTT-3.1.3-5]', 'a 1-23 character alphanumeric client id is accepted', async ({ port }) => {
      const { client } = await connected(port, { clientId: 'Az09Az09Az09Az09Az09Az0' });
      await client.disconnect();
    });

    statement('[MQTT-3.1.3-6]', 'an empty client id with CleanSession 1 is accepted', async ({ port }) => {
      const { client, sessionPresent } = await connected(port, { clientId: '', clean: true });
      expect(sessionPresent).toBe(false);
      await client.disconnect();
    });

    statement(
      '[MQTT-3.1.3-8]',
      'an empty client id with CleanSession 0 gets CONNACK 0x02, then closed',
      async ({ port }) => {
        // mqtt-packet will not write this CONNECT (a client must not send it [MQTT-3.1.3-7]): by hand
        const seen = await refused(port, rawConnect({ flags: 0, fields: [mqttString('')] }));
        expect(seen).toMatchObject([{ cmd: 'connack', returnCode: 2 }]);
      },
    );

    statement(
      '[MQTT-3.1.4-2]',
      'a second connection with the same client id closes the first',
      async ({ port }) => {
        const first = await connected(port, { clientId: 'conf-takeover' });
        const second = await connected(port, { clientId: 'conf-takeover' });
        await first.client.untilClosed();
        expect(first.client.closed).toBe(true);
        await second.client.disconnect();
      },
    );

    statement(
      '[MQTT-3.2.2-1]',
      'CleanSession 1: Session Present 0, and the old session is gone',
      async ({ port }) => {
        const old = await connected(port, { clientId: 'conf-clean', clean: false });
        old.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'conf/clean', qos: 1 }] });
        await old.client.nextOf('suback');
        await old.client.disconnect();
        const clean = await connected(port, { clientId: 'conf-clean', clean: true });
        expect(clean.sessionPresent).toBe(false);
        await clean.client.disconnect();
        const again = await connected(port, { clientId: 'conf-clean', clean: false });
        expect(again.sessionPresent).toBe(false);
        await again.client.disconnect();
        await (await connected(port, { clientId: 'conf-clean', clean: true })).client.disconnect();
      },
    );

    statement(
      '[MQTT-3.2.2-2]',
      'Session Present 1 for a stored session with subscriptions',
      async ({ port }) => {
        const first = await connected(port, { clientId: 'conf-subs', clean: false });
        expect(first.sessionPresent).toBe(false);
        first.client.send({
          cmd: 'subscribe',
          messageId: 1,
          subscriptions: [{ topic: 'conf/subs', qos: 1 }],
        });
        await first.client.nextOf('suback');
        await first.client.disconnect();
        const again = await connected(port, { clientId: 'conf-subs', clean: false });
        expect(again.sessionPresent).toBe(true);
        await again.client.disconnect();
        await (await connected(port, { clientId: 'conf-subs', clean: true })).client.disconnect();
      },
    );

    statement(
      '[MQTT-3.2.2-2]',
      'Session Present 1 for a stored session holding only a QoS 2 release',
      async ({ port }) => {
        const first = await connected(port, { clientId: 'conf-qos2', clean: false });
        first.client.send({
          cmd: 'publish',
          topic: 'conf/qos2',
          payload: Buffer.from('x'),
          qos: 2,
          messageId: 7,
          retain: false,
          dup: false,
        });
        expect(await first.client.nextOf('pubrec')).toMatchObject({ messageId: 7 });
        await first.client.drop(); // no PUBREL: the release is pending in the session
        const again = await connected(port, { clientId: 'conf-qos2', clean: false });
        expect(again.sessionPresent).toBe(true);
        again.client.send({ cmd: 'pubrel', messageId: 7 });
        expect(await again.client.nextOf('pubcomp')).toMatchObject({ messageId: 7 });
        await again.client.disconnect();
        await (await connected(port, { clientId: 'conf-qos2', clean: true })).client.disconnect();
      },
    );

    statement(
      '[MQTT-3.2.2-2]',
      'Session Present 1 for a stored session holding nothing',
      async ({ port }) => {
        await (await connected(port, { clientId: 'conf-empty', clean: false })).client.disconnect();
        const again = await connected(port, { clientId: 'conf-empty', clean: false });
        expect(again.sessionPresent).toBe(true);
        await again.client.disconnect();
        await (await connected(port, { clientId: 'conf-empty', clean: true })).client.disconnect();
      },
    );

    statement(
      '[MQTT-3.2.2-3]',
      'CleanSession 0 without a stored session: Session Present 0',
      async ({ port }) => {
        const { client, sessionPresent } = await connected(port, {
          clientId: 'conf-new-session',
          clean: false,
        });
        expect(sessionPresent).toBe(false);
        await client.disconnect();
        await (await connected(port, { clientId: 'conf-new-session', clean: true })).client.disconnect();
      },
    );

    statement(
      '[MQTT-3.1.2-24]',
      'no packet within 1.5 x keep alive closes the connection',
      async ({ port }) => {
        const { client } = await connected(port, { clientId: 'conf-keepalive', keepalive: 1 });
        expect(await client.untilClosed()).toEqual([]);
      },
    );
  },
  { clustered: true },
);
