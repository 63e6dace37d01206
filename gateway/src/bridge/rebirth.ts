import type { Logger } from '@bitv/shared/log';
import { encodeCommands, nodeTopic } from '@bitv/shared/sparkplug';
import type { Aedes } from 'aedes';
import type { GatewayMetrics } from '../metrics.js';
import type { UplinkTopic } from './translate.js';

export interface RebirthOptions {
  broker: () => Aedes;
  metrics: GatewayMetrics;
  logger: Logger;
  /** How long a seq gap may stay open, and the least time between two requests to one edge node. */
  reorderTimeoutMs: number;
}

export type RebirthReason = 'seq_gap' | 'no_birth';

/** No NBIRTH seen since this host started (or since its NDEATH, or since we asked for one). */
const unborn = -1;

interface EdgeNode {
  /** The seq the next message must carry, or `unborn`. */
  next: number;
  /** The first seq missing, while a gap waits for it. */
  missing: number;
  gap: NodeJS.Timeout | undefined;
  lastRequest: number;
  /** Devices whose DBIRTH came after the current NBIRTH. */
  devices: Set<string>;
}

export interface RebirthTracker {
  /** Called for every valid uplink message, in the order it arrived. */
  observe(topic: UplinkTopic, seq: number | undefined): void;
  close(): void;
}

/**
 * The primary host's view of each edge node's session, to ask for a rebirth when it lost track:
 * - a seq that skips a number and whose missing message does not come within the reordering
 *   timeout [tck-id-operational-behavior-host-reordering-param]
 *   [tck-id-operational-behavior-host-reordering-rebirth]; over one QoS 1 connection messages come
 *   in order, so a gap is a lost message and the timeout can be short;
 * - NDATA/DBIRTH/DDATA of an edge node whose NBIRTH this host has not seen, or DDATA of a device
 *   with no DBIRTH seen (e.g. this gateway restarted while the edge node stayed connected): the
 *   host cannot read data without the birth that declares it, and a rebirth is how it asks for one
 *   [tck-id-operational-behavior-data-commands-ncmd-rebirth-verb].
 * The request is NCMD `Node Control/Rebirth` = true, at most one per edge node per timeout window.
 */
export function createRebirthTracker(options: RebirthOptions): RebirthTracker {
  const { metrics, logger, reorderTimeoutMs } = options;
  const nodes = new Map<string, EdgeNode>();
  const keys = new WeakMap<UplinkTopic, string>();

  const request = (groupId: string, edgeNodeId: string, node: EdgeNode, reason: RebirthReason) => {
    const now = Date.now();
    if (now - node.lastRequest < reorderTimeoutMs) return;
    node.lastRequest = now;
    node.next = unborn;
    node.devices.clear();
    metrics.rebirthRequests.inc({ reason });
    logger.info({ groupId, edgeNodeId, reason }, 'rebirth requested');
    const payload = Buffer.from(encodeCommands({ rebirth: true }));
    try {
      options.broker().publish(
        {
          cmd: 'publish',
          topic: nodeTopic('NCMD', groupId, edgeNodeId),
          payload,
          qos: 1,
          retain: false,
          dup: false,
        },
        (error) => {
          if (error) logger.warn({ groupId, edgeNodeId, err: error.message }, 'rebirth request not sent');
        },
      );
    } catch (error) {
      logger.warn({ groupId, edgeNodeId, err: String(error) }, 'rebirth request not sent');
    }
  };

  const clearGap = (node: EdgeNode) => {
    if (node.gap) clearTimeout(node.gap);
    node.gap = undefined;
  };

  return {
    observe(topic, seq) {
      // a connection keeps its parsed topic (broker/hooks.ts): its node is found once per topic
      // object, not by building a key for every message
      let key = keys.get(topic);
      if (key === undefined) {
        key = `${topic.groupId}/${topic.edgeNodeId}`;
        keys.set(topic, key);
      }
      let node = nodes.get(key);
      if (topic.type === 'NDEATH') {
        if (node) {
          clearGap(node);
          node.next = unborn;
          node.devices.clear();
        }
        return;
      }
      if (seq === undefined) return;
      if (!node) {
        node = {
          next: unborn,
          missing: unborn,
          gap: undefined,
          lastRequest: Number.NEGATIVE_INFINITY,
          devices: new Set(),
        };
        nodes.set(key, node);
      }
      if (topic.type === 'NBIRTH') {
        clearGap(node);
        node.next = (seq + 1) & 255;
        node.devices.clear();
        return;
      }
      if (node.next === unborn) return request(topic.groupId, topic.edgeNodeId, node, 'no_birth');
      if (seq !== node.next) {
        if (node.gap && seq === node.missing) clearGap(node);
        else if (!node.gap) {
          const n = node;
          node.missing = node.next;
          node.gap = setTimeout(() => {
            n.gap = undefined;
            request(topic.groupId, topic.edgeNodeId, n, 'seq_gap');
          }, reorderTimeoutMs);
          node.gap.unref();
        }
      }
      node.next = (seq + 1) & 255;
      if (!('deviceId' in topic)) return;
      if (topic.type === 'DBIRTH') node.devices.add(topic.deviceId);
      else if (topic.type === 'DDEATH') node.devices.delete(topic.deviceId);
      else if (!node.devices.has(topic.deviceId)) request(topic.groupId, topic.edgeNodeId, node, 'no_birth');
    },
    close() {
      for (const node of nodes.values()) clearGap(node);
      nodes.clear();
    },
  };
}
