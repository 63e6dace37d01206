import { deviceStateV1, telemetryReadingsV1 } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Aedes, PublishPacket } from 'aedes';
import type { UplinkHandler } from '../broker/hooks.js';
import type { GatewayMetrics } from '../metrics.js';
import type { BridgePipeline } from './pipeline.js';
import { type Translation, translate } from './translate.js';

export interface UplinkOptions {
  pipeline: BridgePipeline;
  metrics: GatewayMetrics;
  logger: Logger;
  /** CloudEvents `source` of bridged events. */
  source: string;
  /** Republish durable readings and state as JSON on `bv/<site>/...` for browsers. */
  liveTopics: boolean;
  broker: () => Aedes;
}

/** Topic a dropped message is moved to: '$' topics match no wildcard subscription [MQTT-4.7.2-1]. */
export const droppedTopic = '$BV/dropped';

/** Wills of clients of a node that died are bridged with no connection to hold them back. */
const orphanOwner = {};

/**
 * Sparkplug uplink PUBLISH -> events -> event log; aedes' callback (hence the PUBACK, and the
 * delivery to MQTT subscribers) only after the log acknowledged all of them. A malformed message
 * is counted and dropped: acknowledged (the device must not send it forever) but neither bridged
 * nor delivered to anyone.
 */
export function createUplink(options: UplinkOptions): UplinkHandler {
  const { pipeline, metrics, logger, source } = options;
  const order = new AckOrder();
  return (client, packet, topic, rawDone) => {
    const owner = client ?? orphanOwner;
    const ack = order.enqueue(owner, rawDone);
    const receivedAt = Date.now();
    const bytes = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    let t: Translation;
    try {
      t = translate(topic, bytes, source);
    } catch (error) {
      // ValidationError from the decoders, or anything else a hostile payload provokes (e.g. a
      // RangeError from an out-of-range date): the message is bad, the connection and process live on
      metrics.dropped.inc({ reason: 'malformed_payload' });
      logger.info(
        { clientId: client?.id, topic: packet.topic, err: String(error) },
        'malformed Sparkplug payload dropped',
      );
      drop(packet);
      return order.settle(owner, ack, null);
    }
    for (const reason of t.skipped) metrics.dropped.inc({ reason });
    if (t.events.length === 0) return order.settle(owner, ack, null);
    pipeline.send(owner, t.events, receivedAt, (error) => {
      if (error) {
        // no PUBACK: aedes closes the connection and the device sends the message again
        logger.warn({ clientId: client?.id, topic: packet.topic, err: error.message }, 'not acknowledged');
        return order.settle(owner, ack, error);
      }
      if (t.readings > 0) metrics.bridgeReadings.inc(t.readings);
      if (options.liveTopics) publishLive(options.broker(), t);
      order.settle(owner, ack, null);
    });
  };
}

interface PendingAck {
  done: (error?: Error | null) => void;
  settled: boolean;
  error: Error | null;
}

/**
 * [MQTT-4.6.0-2] PUBACKs in the order the PUBLISHes arrived, per connection, even when several
 * wait for the log at once and a later one is durable first (another topic, or nothing to write):
 * a settled message is acknowledged once every earlier one of its connection is.
 */
class AckOrder {
  readonly #queues = new WeakMap<object, PendingAck[]>();

  enqueue(owner: object, done: PendingAck['done']): PendingAck {
    const ack: PendingAck = { done, settled: false, error: null };
    const queue = this.#queues.get(owner);
    if (queue) queue.push(ack);
    else this.#queues.set(owner, [ack]);
    return ack;
  }

  settle(owner: object, ack: PendingAck, error: Error | null): void {
    ack.settled = true;
    ack.error = error;
    const queue = this.#queues.get(owner);
    if (!queue || queue[0] !== ack) return;
    let n = 0;
    while (n < queue.length && queue[n]!.settled) n++;
    const ready = queue.splice(0, n);
    if (queue.length === 0) this.#queues.delete(owner);
    for (const a of ready) a.done(a.error);
  }
}

function drop(packet: PublishPacket): void {
  packet.topic = droppedTopic;
  packet.retain = false;
}

/** Browser-facing JSON copies of what is now durable; QoS 0, best effort. */
function publishLive(broker: Aedes, t: Translation): void {
  for (const o of t.events) {
    const [type, data] =
      'event' in o ? [o.event.type, o.event.data] : [telemetryReadingsV1.type, o.telemetry.data];
    const target = liveTopic(type, data);
    if (!target) continue;
    broker.publish(
      {
        cmd: 'publish',
        topic: target.topic,
        payload: Buffer.from(JSON.stringify(data)),
        qos: 0,
        retain: target.retain,
        dup: false,
      },
      () => {
        // best effort: a browser that misses one sees the next one
      },
    );
  }
}

function liveTopic(type: string, data: unknown): { topic: string; retain: boolean } | undefined {
  const d = data as { groupId?: string; edgeNodeId?: string; deviceId?: string };
  if (!d.groupId || !d.edgeNodeId) return undefined;
  const device = d.deviceId ? `/${d.deviceId}` : '';
  if (type === telemetryReadingsV1.type) {
    return { topic: `bv/${d.groupId}/telemetry/${d.edgeNodeId}${device}`, retain: false };
  }
  if (type === deviceStateV1.type) {
    return { topic: `bv/${d.groupId}/state/${d.edgeNodeId}${device}`, retain: true };
  }
  return undefined;
}
