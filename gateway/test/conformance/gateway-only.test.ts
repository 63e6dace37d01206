import { decodeState, stateTopic } from '@bitv/shared/sparkplug';
import { afterAll, beforeAll, expect } from 'vitest';
import { ControlledEventLog } from '../helpers/event-log.js';
import { testGateway } from '../helpers/gateway.js';
import { type TokenIssuer, tokenIssuer } from '../helpers/tokens.js';
import { connected, mqttString, RawClient, rawConnect } from './raw-client.js';
import { conformanceSuite } from './suite.js';
import type { Target } from './targets.js';

/**
 * What only our gateway must do: the same statements with authentication on, and the Sparkplug
 * primary host STATE it publishes ([tck-id-host-topic-phid-birth-payload]), which belongs to the
 * host alone. Mosquitto has no tokens and no STATE, so these run on the gateway only.
 */
const hostId = 'conformance-host';
const state = stateTopic(hostId);
let issuer: TokenIssuer;
beforeAll(async () => {
  issuer = await tokenIssuer();
});
afterAll(async () => {
  await issuer?.close();
});

const gatewayWith = (config: { allowAnonymous: boolean }) => async (): Promise<Target> => {
  const t = await testGateway(
    { ...config, primaryHostId: hostId, ...(config.allowAnonymous ? {} : { jwksUrl: issuer.jwksUrl }) },
    { eventLog: new ControlledEventLog() },
  );
  return { name: 'gateway', port: Number(new URL(t.gw.mqttUrl).port), close: () => t.close() };
};

/** Subscribes to STATE; resolves with the client and the retained STATE it was sent. */
async function stateSubscriber(port: number, id: string, credentials = {}) {
  const { client } = await connected(port, { clientId: id, ...credentials });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: state, qos: 1 }] });
  expect((await client.nextOf('suback'))?.granted).toEqual([1]);
  const retained = await client.nextOf('publish');
  expect(retained).toMatchObject({ topic: state, retain: true });
  return { client, retained: decodeState(retained!.payload as Buffer) };
}

conformanceSuite(
  'gateway with authentication',
  (statement) => {
    statement(
      '[MQTT-3.1.3-8]',
      'an empty client id with CleanSession 0 gets 0x02 even with a valid token',
      async ({ port }) => {
        const token = await issuer.gateway('gw-conf', 'site-a');
        const client = await RawClient.open(port);
        // flags: user name, password, CleanSession 0
        client.send(
          rawConnect({ flags: 0xc0, fields: [mqttString(''), mqttString('gw-conf'), mqttString(token)] }),
        );
        expect(await client.untilClosed()).toMatchObject([{ cmd: 'connack', returnCode: 2 }]);
      },
    );

    statement(
      '[tck-id-host-topic-phid-birth-payload]',
      "only the host publishes its STATE: an edge node's STATE closes its connection",
      async ({ port }) => {
        const operator = { username: 'ops', password: Buffer.from(await issuer.user('ops', 'operator')) };
        const watcher = await stateSubscriber(port, 'ops', operator);
        expect(watcher.retained.online).toBe(true);
        const node = await connected(port, {
          clientId: 'gw-conf',
          username: 'gw-conf',
          password: Buffer.from(await issuer.gateway('gw-conf', 'site-a')),
        });
        node.client.send({
          cmd: 'publish',
          topic: state,
          payload: Buffer.alloc(0),
          qos: 1,
          messageId: 1,
          retain: true,
          dup: false,
        });
        // [MQTT-3.3.5-2] MQTT 3.1.1 cannot refuse one PUBLISH: the connection is closed, no PUBACK
        expect((await node.client.untilClosed()).some((p) => p.cmd === 'puback')).toBe(false);
        await watcher.client.disconnect();
        const late = await stateSubscriber(port, 'ops', operator);
        expect(late.retained.online).toBe(true);
        await late.client.disconnect();
      },
    );
  },
  { gatewayOnly: true, start: gatewayWith({ allowAnonymous: false }) },
);

conformanceSuite(
  'gateway in anonymous mode',
  (statement) => {
    statement(
      '[tck-id-host-topic-phid-birth-payload]',
      'a client clearing or overwriting the retained STATE: the host re-asserts its own',
      async ({ port }) => {
        const watcher = await stateSubscriber(port, 'conf-state-watch');
        expect(watcher.retained.online).toBe(true);
        const { client: vandal } = await connected(port, { clientId: 'conf-vandal' });
        for (const [i, payload] of [
          Buffer.alloc(0),
          Buffer.from('{"online":false,"timestamp":1}'),
        ].entries()) {
          vandal.send({
            cmd: 'publish',
            topic: state,
            payload,
            qos: 1,
            messageId: i + 1,
            retain: true,
            dup: false,
          });
          await vandal.nextOf('puback');
          // the client's STATE (rewritten to the host's on the way out), then the host's own,
          // published after the client's was stored
          for (let n = 0; n < 2; n++) {
            const live = await watcher.client.nextOf('publish');
            expect(decodeState(live!.payload as Buffer).online).toBe(true);
            if (live?.messageId !== undefined)
              watcher.client.send({ cmd: 'puback', messageId: live.messageId });
          }
          const late = await stateSubscriber(port, `conf-state-late-${i}`);
          expect(late.retained.online).toBe(true);
          await late.client.disconnect();
        }
        await vandal.disconnect();
        await watcher.client.disconnect();
      },
    );
  },
  { gatewayOnly: true, start: gatewayWith({ allowAnonymous: true }) },
);
