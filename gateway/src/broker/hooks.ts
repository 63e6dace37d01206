import type { Logger } from '@bitv/shared/log';
import { hotCounter } from '@bitv/shared/metrics';
import { parseTopic } from '@bitv/shared/sparkplug';
import type { AedesOptions, AedesPublishPacket, AuthenticateError, Client, PublishPacket } from 'aedes';
import { aclFor, allowAll } from '../acl/acl.js';
import { isValidTopicFilter, isValidTopicName } from '../acl/topics.js';
import { type Authenticate, AuthFailure, connackCode } from '../auth/authenticator.js';
import type { PrincipalKind } from '../auth/principal.js';
import { isUplink, type UplinkTopic } from '../bridge/translate.js';
import type { GatewayMetrics } from '../metrics.js';
import { isRefused } from './connection.js';
import { isSessionMarker } from './session-marker.js';
import type { Sessions } from './sessions.js';

/** Hands a Sparkplug uplink message to the bridge; `done` is aedes' callback (PUBACK after it). */
export type UplinkHandler = (
  client: Client | null,
  packet: PublishPacket,
  topic: UplinkTopic,
  done: (error?: Error | null) => void,
) => void;

export interface HookContext {
  /** Development mode: no token needed, every topic allowed. */
  allowAnonymous: boolean;
  authenticate: Authenticate | undefined;
  primaryHostId: string;
  sessions: Sessions;
  metrics: GatewayMetrics;
  logger: Logger;
  uplink: UplinkHandler;
  /** Rewrites packets on their way to a client (the node's own STATE). */
  forward: (packet: AedesPublishPacket) => AedesPublishPacket;
}

type Hooks = Required<
  Pick<
    AedesOptions,
    'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'
  >
>;

/**
 * aedes' option hooks: authentication on CONNECT, deny-by-default ACL on PUBLISH and SUBSCRIBE,
 * the bridge on Sparkplug uplink PUBLISHes (aedes writes the PUBACK only after the publish hook
 * calls back, so the bridge calls back once the event log has the message), and per-delivery
 * accounting and rewriting on the way out.
 */
export function createHooks(ctx: HookContext): Hooks {
  const { sessions, metrics, logger } = ctx;
  /** From the CONNECT, kept by preConnect for authentication: the will (checked against the ACL),
   * whether the client left its id to the broker, and whether it asked for a clean session. */
  const connects = new WeakMap<
    Client,
    { will: PublishPacket | undefined; idAssigned: boolean; clean: boolean }
  >();

  const refuse = (reason: string, message: string, code: number): AuthenticateError => {
    metrics.authFailures.inc({ reason });
    metrics.connects.inc({ result: 'refused' });
    return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
  };

  return {
    preConnect(client, packet, done) {
      // a CONNECT the byte checks refused (wire-rules.ts) is parsed all the same: it goes no further
      if (isRefused(client.conn)) return done(new Error('malformed CONNECT'), false);
      const will = packet.will ? ({ cmd: 'publish', ...packet.will } as PublishPacket) : undefined;
      connects.set(client, { will, idAssigned: !packet.clientId, clean: packet.clean !== false });
      done(null, true);
    },

    authenticate(client, username, password, done) {
      const connect = connects.get(client);
      connects.delete(client);
      const will = connect?.will;
      // [MQTT-3.1.3-8] an empty client id with CleanSession 0 is refused with 0x02, whatever the
      // credentials: there is no id to keep the session under
      if (connect?.idAssigned && !connect.clean) {
        return done(
          refuse('client_id', 'empty client id needs CleanSession 1', connackCode.identifierRejected),
          false,
        );
      }
      if (ctx.allowAnonymous || !ctx.authenticate) {
        sessions.set(client, { principal: { kind: 'anonymous' }, acl: allowAll });
        metrics.connects.inc({ result: 'anonymous' });
        return done(null, true);
      }
      ctx
        .authenticate({
          clientId: client.id,
          username: username ?? undefined,
          password: password ?? undefined,
          clientIdAssigned: connect?.idAssigned ?? false,
        })
        .then(
          (principal) => {
            const acl = aclFor(principal, { primaryHostId: ctx.primaryHostId });
            // [MQTT-3.1.2-8] the will is published later on the client's behalf: refuse one the
            // client could not publish itself (e.g. an NDEATH for another edge node)
            if (will && !acl.canPublish(will.topic)) {
              metrics.aclDenials.inc({ action: 'will', principal: principal.kind });
              return done(refuse('will', 'will topic not allowed', connackCode.notAuthorized), false);
            }
            sessions.set(client, { principal, acl });
            metrics.connects.inc({ result: 'accepted' });
            done(null, true);
          },
          (error: unknown) => {
            if (error instanceof AuthFailure) {
              logger.info(
                { clientId: client.id, reason: error.reason, err: error.message },
                'CONNECT refused',
              );
              return done(refuse(error.reason, error.message, error.returnCode), false);
            }
            logger.error({ err: error, clientId: client.id }, 'authentication failed unexpectedly');
            done(refuse('internal', 'authentication failed', connackCode.serverUnavailable), false);
          },
        );
    },

    authorizePublish(client, packet, done) {
      // aedes copies the incoming DUP flag into every delivery; a delivery's DUP says only
      // whether that delivery is a retransmission [MQTT-3.3.1-3] (and is 0 at QoS 0 [MQTT-3.3.1-2])
      packet.dup = false;
      const topic = packet.topic;
      if (!client) {
        // the will of a client of a node that died: authorized when it connected
        const uplink = uplinkOf(topic);
        return uplink ? ctx.uplink(client, packet, uplink, done) : done(null);
      }
      const session = sessions.get(client);
      // the client's will, published as its refused connection closes, is not the refused packet:
      // a protocol error is one of the closes that publish it [MQTT-3.1.2-8]
      const isWill = packet === (client as Client & { will?: unknown }).will;
      if (!session || (isRefused(client.conn) && !isWill)) {
        metrics.messagesIn.inc({ type: messageType(topic) });
        return done(new Error(session ? 'malformed PUBLISH' : 'no session'));
      }
      // a device publishes to the same few topics all day: the checks of its last one are kept
      let last = session.lastPublish;
      if (last?.topic !== topic) {
        const type = messageType(topic);
        // [MQTT-4.7.2-1] '$' topics belong to the broker
        if (topic.startsWith('$') || !isValidTopicName(topic) || !session.acl.canPublish(topic)) {
          metrics.messagesIn.inc({ type });
          metrics.aclDenials.inc({ action: 'publish', principal: session.principal.kind });
          logger.info({ clientId: client.id, topic }, 'PUBLISH denied');
          // MQTT 3.1.1 cannot refuse one PUBLISH: the connection is closed [MQTT-3.3.5-2]
          return done(new Error(`not authorized to publish to ${topic}`));
        }
        last = { topic, received: hotCounter(metrics.messagesIn, { type }), uplink: uplinkOf(topic) };
        session.lastPublish = last;
      }
      last.received.inc();
      return last.uplink ? ctx.uplink(client, packet, last.uplink, done) : done(null);
    },

    authorizeSubscribe(client, subscription, done) {
      // the persistent session's marker, restored with the subscriptions: never a real one
      if (isSessionMarker(subscription.topic)) return done(null, null);
      if (isRefused(client.conn)) return done(new Error('malformed SUBSCRIBE'), null);
      // aedes lets a '+' sharing its level through ('a/+b'): an ill-formed filter is a protocol
      // violation that closes the connection [MQTT-4.7.1-3] [MQTT-4.8.0-1], not a refusal
      if (!isValidTopicFilter(subscription.topic)) return done(new Error('invalid topic filter'), null);
      const session = sessions.get(client);
      const allowed = session?.acl.canSubscribe(subscription.topic) === true;
      if (!allowed) {
        metrics.aclDenials.inc({ action: 'subscribe', principal: principalKind(session?.principal.kind) });
        logger.info({ clientId: client.id, topic: subscription.topic }, 'SUBSCRIBE denied');
        // a null subscription is granted as 0x80 (failure) in the SUBACK [MQTT-3.9.3-2]
        return done(null, null);
      }
      done(null, subscription);
    },

    authorizeForward(_client, packet) {
      const out = ctx.forward(packet);
      metrics.messagesOut.inc({ type: messageType(out.topic) });
      metrics.bytesOut.inc(out.topic.length + out.payload.length);
      return out;
    },
  };
}

function uplinkOf(topic: string): UplinkTopic | undefined {
  const sparkplug = topic.startsWith('spBv1.0/') ? parseTopic(topic) : null;
  return sparkplug && sparkplug.type !== 'STATE' && isUplink(sparkplug)
    ? Object.freeze(sparkplug)
    : undefined;
}

function principalKind(kind: PrincipalKind | undefined): string {
  return kind ?? 'none';
}

/** A bounded label for a topic: the Sparkplug message type, or the root of our own topics. */
export function messageType(topic: string): string {
  if (topic.startsWith('spBv1.0/')) {
    const parts = topic.split('/', 4);
    if (parts[1] === 'STATE') return 'STATE';
    const t = parts[2];
    return t !== undefined && /^[ND](BIRTH|DEATH|DATA|CMD)$/.test(t) ? t : 'sparkplug_other';
  }
  if (topic.startsWith('bv/')) return 'bv';
  if (topic.startsWith('$SYS/')) return '$SYS';
  if (topic.startsWith('$BV/')) return 'dropped';
  return 'other';
}
