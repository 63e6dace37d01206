import type { EventLog, Subscription } from '@bitv/shared/event-log';
import { type BvEvent, commandRequestedV1, commandResultV1, createEvent, topics } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { deviceTopic, encodeCommands, nodeTopic } from '@bitv/shared/sparkplug';
import type { Aedes } from 'aedes';
import type { GatewayMetrics } from '../metrics.js';

export interface DownlinkOptions {
  eventLog: EventLog;
  broker: Aedes;
  /** Whether some client, on any node, subscribes with exactly this filter (the bus's routes). */
  hasRoute(filter: string): boolean;
  group: string;
  source: string;
  metrics: GatewayMetrics;
  logger: Logger;
}

/**
 * bv.commands -> NCMD (for the edge agent) or DCMD (for one of its shelves), QoS 1, through the
 * broker: on whichever cluster node the edge node is connected, or queued in its persistent
 * session until it reconnects. The group is shared by all nodes, so each command goes out once.
 * A command already past its expiry is not sent; its `expired` result goes to bv.command-results.
 * A command for an edge node that has no subscription for its commands anywhere (not connected:
 * edge agents use clean sessions, so nothing would queue it) is not sent either: a `failed`
 * result says so at once, rather than the command waiting out its expiry. Only the edge node's
 * own subscriptions count (`commandFilters`): an operator watching `spBv1.0/<group>/#` receives
 * the command too, but does not make an edge node that is away look reachable.
 * The device's own result comes back up in NDATA/DDATA and the uplink bridges it.
 */
export function startDownlink(options: DownlinkOptions): Promise<Subscription> {
  const { eventLog, broker, metrics, logger, source } = options;
  return eventLog.subscribe({
    group: options.group,
    topics: [topics.commands],
    fromBeginning: true,
    handler: async (event: BvEvent) => {
      if (event.type !== commandRequestedV1.type) return;
      const parsed = commandRequestedV1.schema.safeParse(event.data);
      if (!parsed.success) {
        // a record no one can act on: count it and move on rather than dead-letter it forever
        metrics.commands.inc({ result: 'invalid' });
        logger.warn({ id: event.id, issues: parsed.error.issues.length }, 'invalid command event dropped');
        return;
      }
      const c = parsed.data;
      const result = (status: 'expired' | 'failed', reason: string) =>
        eventLog.publish(
          topics.commandResults,
          createEvent(commandResultV1, {
            source,
            key: c.edgeNodeId,
            subject: c.deviceId ?? c.edgeNodeId,
            data: {
              commandId: c.commandId,
              groupId: c.groupId,
              edgeNodeId: c.edgeNodeId,
              ...(c.deviceId !== undefined ? { deviceId: c.deviceId } : {}),
              status,
              reason,
            },
          }),
        );
      const expiresAt = Date.parse(c.expiresAt);
      if (expiresAt <= Date.now()) {
        metrics.commands.inc({ result: 'expired' });
        await result('expired', 'expired before the gateway could send it');
        return;
      }
      const topic =
        c.deviceId === undefined
          ? nodeTopic('NCMD', c.groupId, c.edgeNodeId)
          : deviceTopic('DCMD', c.groupId, c.edgeNodeId, c.deviceId);
      if (!commandFilters(c.groupId, c.edgeNodeId, c.deviceId).some((f) => options.hasRoute(f))) {
        metrics.commands.inc({ result: 'not_connected' });
        await result('failed', `edge node ${c.edgeNodeId} is not connected`);
        return;
      }
      const payload = Buffer.from(
        encodeCommands({
          commands: [{ id: c.commandId, action: c.command, expiresAt }],
          rebirth: c.command.action === 'rebirth' && c.deviceId === undefined,
        }),
      );
      await new Promise<void>((resolve, reject) =>
        broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
      metrics.commands.inc({ result: 'sent' });
      logger.debug({ commandId: c.commandId, topic }, 'command sent');
    },
  });
}

/**
 * The subscriptions through which an edge node itself receives a command: every filter that
 * matches the command's topic and spells out the group, the type and the edge node id, as an
 * edge node's own subscriptions do (its ACL allows no others; Sparkplug agents use the first
 * forms, `.../NCMD/<node>` or `.../NCMD/<node>/#`, and `.../DCMD/<node>/+` or `.../DCMD/<node>/#`).
 * A wildcard over groups, types or edge nodes is somebody watching, not the edge node.
 */
export function commandFilters(groupId: string, edgeNodeId: string, deviceId?: string): string[] {
  if (deviceId === undefined) {
    const node = nodeTopic('NCMD', groupId, edgeNodeId);
    return [node, `${node}/#`];
  }
  const node = deviceTopic('DCMD', groupId, edgeNodeId, deviceId).slice(0, -(deviceId.length + 1));
  return [`${node}/${deviceId}`, `${node}/+`, `${node}/#`, `${node}/${deviceId}/#`, `${node}/+/#`];
}
