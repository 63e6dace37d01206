import { silentLogger } from '@bitv/shared/log';
import type { Registry } from '@bitv/shared/metrics';
import { Aedes } from 'aedes';
import type { JWTVerifyGetKey } from 'jose';
import { createAuthenticator } from '../src/auth/authenticator.js';
import { RevocationList } from '../src/auth/revocations.js';
import { BridgePipeline, type Outgoing } from '../src/bridge/pipeline.js';
import { translate } from '../src/bridge/translate.js';
import { createUplink } from '../src/bridge/uplink.js';
import { createHooks, type UplinkHandler } from '../src/broker/hooks.js';
import { Sessions } from '../src/broker/sessions.js';
import { gatewayDefaults } from '../src/config.js';
import { gatewayMetrics } from '../src/metrics.js';
import { DiscardingEventLog } from './null-log.js';

/**
 * The steps between aedes with no hooks and the whole gateway, for bisecting the broker path's CPU
 * per message (#17), each a plain aedes with more of the gateway's hooks: `auth` authenticates the
 * CONNECT; `acl` also checks each PUBLISH (and acknowledges it at once); `tick` acknowledges it a
 * microtask later instead (what an asynchronous hook alone costs aedes); `hold` instead holds the
 * PUBACK until the discarding log has the message's events (decoded once per topic, so the
 * per-message cost is the holding); `decode` is the real uplink (decoding, translation,
 * ordering). The whole gateway (its connection handler, cluster bus, metrics) is the `discard` node.
 */
export type Stage = 'auth' | 'acl' | 'tick' | 'hold' | 'decode';

export async function stageBroker(stage: Stage, keys: JWTVerifyGetKey, issuer: string, registry: Registry) {
  const metrics = gatewayMetrics(registry);
  const cfg = gatewayDefaults;
  const eventLog = new DiscardingEventLog();
  const pipeline = new BridgePipeline({
    eventLog,
    metrics,
    logger: silentLogger,
    maxInflight: cfg.bridgeMaxInflight,
    maxInflightPerOwner: cfg.bridgeMaxInflightPerClient,
    maxBatch: cfg.bridgeMaxBatch,
    lanes: cfg.bridgeLanes,
    ackTimeoutMs: cfg.bridgeAckTimeoutMs,
  });
  const source = '/bitv/gateway/bench-stage';
  let broker: Aedes | undefined;
  const uplinks: Record<Stage, () => UplinkHandler> = {
    auth: () => (_client, _packet, _topic, done) => done(null),
    acl: () => (_client, _packet, _topic, done) => done(null),
    tick: () => (_client, _packet, _topic, done) => queueMicrotask(() => done(null)),
    hold: () => {
      // decoded once per topic: a device's messages differ only in their readings here, and the
      // topic object is the session's own, so this costs a WeakMap lookup, not a decode
      const translated = new WeakMap<object, readonly Outgoing[]>();
      return (client, packet, topic, done) => {
        let events = translated.get(topic);
        if (!events) {
          events = translate(topic, packet.payload as Buffer, source).events;
          translated.set(topic, events);
        }
        pipeline.send(client ?? pipeline, events, Date.now(), (error) => done(error ?? null));
      };
    },
    decode: () =>
      createUplink({
        pipeline,
        metrics,
        logger: silentLogger,
        source,
        liveTopics: cfg.liveTopics,
        broker: () => broker!,
      }),
  };
  const hooks = createHooks({
    allowAnonymous: false,
    authenticate: createAuthenticator({ keys, issuer, revocations: new RevocationList() }),
    primaryHostId: cfg.primaryHostId,
    sessions: new Sessions(),
    metrics,
    logger: silentLogger,
    uplink: uplinks[stage](),
    forward: (packet) => packet,
  });
  broker = await Aedes.createBroker({
    preConnect: hooks.preConnect,
    authenticate: hooks.authenticate,
    ...(stage === 'auth' ? {} : { authorizePublish: hooks.authorizePublish }),
  });
  return {
    broker,
    async close() {
      await pipeline.close();
      if (eventLog.calls > 0)
        console.log(
          `  ${stage}: ${eventLog.calls} publish calls, ${(eventLog.records / eventLog.calls).toFixed(1)} records each`,
        );
    },
  };
}
