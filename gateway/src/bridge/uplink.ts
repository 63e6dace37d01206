import { deviceStateV1, telemetryReadingsV1 } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { hotCounter } from '@bitv/shared/metrics';
import type { Aedes, PublishPacket } from 'aedes';
import type { UplinkHandler } from '../broker/hooks.js';
import type { GatewayMetrics } from '../metrics.js';
import type { BridgePipeline } from './pipeline.js';
import type { RebirthTracker } from './rebirth.js';
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
  /** Primary host: asks an edge node for a rebirth on a seq gap or data without a birth. */
  rebirth?: RebirthTracker;
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
  const live = new LiveOrder(options.broker);
  const order = new AckOrder((owner, t) => live.publish(owner, livePackets(t)));
  const readingsWritten = hotCounter(metrics.bridgeReadings);
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
    options.rebirth?.observe(topic, t.seq);
    for (const reason of t.skipped) metrics.dropped.inc({ reason });
    if (t.events.length === 0) return order.settle(owner, ack, null);
    pipeline.send(owner, t.events, receivedAt, (error) => {
      if (error) {
        // no PUBACK: aedes closes the connection and the device sends the message again
        logger.warn({ clientId: client?.id, topic: packet.topic, err: error.message }, 'not acknowledged');
        return order.settle(owner, ack, error);
      }
      if (t.readings > 0) readingsWritten.inc(t.readings);
      // the live copies go out with the acknowledgement, in arrival order: the log confirms
      // device state and telemetry each on its own, and a DDATA durable first must not overtake
      // the DBIRTH before it on `bv/<site>/...` (#13 item 7)
      if (options.liveTopics) ack.live = t;
      order.settle(owner, ack, null);
    });
  };
}

interface PendingAck {
  done: (error?: Error | null) => void;
  settled: boolean;
  error: Error | null;
  /** Durable events to copy to the live topics when the message is released. */
  live?: Translation;
}

/**
 * Releases each connection's messages in the order their PUBLISHes arrived, even when several
 * wait for the log at once and a later one is durable first (another topic's publish call, or
 * nothing to write): a settled message is released once every earlier one of its connection is.
 * Releasing = its live copies, then aedes' callback, which writes the PUBACK [MQTT-4.6.0-2] and
 * only then hands the message to subscribers; so subscribers of both see an edge node's messages
 * in the order (the seq) it sent them, whichever topic of the log confirmed them first.
 */
class AckOrder {
  /**
   * Each owner's queue for the owner's life, emptied but never deleted: setting and deleting a
   * hash table entry per message is the churn that made the pipeline promote (docs/gateway.md,
   * fourth pass), and a connection with one message in flight would do it for every message.
   */
  readonly #queues = new WeakMap<object, PendingAck[]>();

  constructor(readonly publishLive: (owner: object, t: Translation) => void) {}

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
    // released from the front while settled; shift, not splice: no array per settled message
    while (queue.length > 0 && queue[0]!.settled) {
      const a = queue.shift()!;
      if (a.live) this.publishLive(owner, a.live);
      a.done(a.error);
    }
  }
}

function drop(packet: PublishPacket): void {
  packet.topic = droppedTopic;
  packet.retain = false;
}

/** Browser-facing JSON copies of what is now durable; QoS 0, best effort. */
function livePackets(t: Translation): PublishPacket[] {
  const packets: PublishPacket[] = [];
  for (const o of t.events) {
    const [type, data] =
      'event' in o ? [o.event.type, o.event.data] : [telemetryReadingsV1.type, o.telemetry.data];
    const target = liveTopic(type, data);
    if (!target) continue;
    packets.push({
      cmd: 'publish',
      topic: target.topic,
      payload: Buffer.from(JSON.stringify(data)),
      qos: 0,
      retain: target.retain,
      dup: false,
    });
  }
  return packets;
}

/**
 * Publishes each connection's live copies in order. aedes stores a retained message (state)
 * before it hands it to subscribers, a persistence round trip, and hands a plain one (readings)
 * over at once: a reading published right after a state change reached browsers first. So a copy
 * waits while a retained one of its connection is being stored; other connections do not.
 */
class LiveOrder {
  /** Copies waiting behind a retained one being stored, per connection. */
  readonly #waiting = new WeakMap<object, PublishPacket[]>();

  constructor(readonly broker: () => Aedes) {}

  publish(owner: object, packets: PublishPacket[]): void {
    if (packets.length === 0) return;
    const waiting = this.#waiting.get(owner);
    if (waiting) waiting.push(...packets);
    else this.#pump(owner, packets);
  }

  #pump(owner: object, queue: PublishPacket[]): void {
    const broker = this.broker();
    for (let p = queue.shift(); p; p = queue.shift()) {
      if (!p.retain) {
        // best effort: a browser that misses one sees the next one
        broker.publish(p, noop);
        continue;
      }
      this.#waiting.set(owner, queue);
      // stored (or failed: best effort all the same), then the rest follow
      broker.publish(p, () => this.#pump(owner, queue));
      return;
    }
    this.#waiting.delete(owner);
  }
}

function noop(): void {
  // nothing to do when a live copy is out
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
