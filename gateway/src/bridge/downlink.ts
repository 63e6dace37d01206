import type { EventLog, Subscription } from '@bitv/shared/event-log';
import { type BvEvent, commandRequestedV1, commandResultV1, createEvent, topics } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { deviceTopic, encodeCommands, nodeTopic } from '@bitv/shared/sparkplug';
import type { Aedes } from 'aedes';
import type { GatewayMetrics } from '../metrics.js';

export interface DownlinkOptions {
  eventLog: EventLog;
  broker: Aedes;
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
      const expiresAt = Date.parse(c.expiresAt);
      if (expiresAt <= Date.now()) {
        metrics.commands.inc({ result: 'expired' });
        await eventLog.publish(
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
              status: 'expired',
              reason: 'expired before the gateway could send it',
            },
          }),
        );
        return;
      }
      const topic =
        c.deviceId === undefined
          ? nodeTopic('NCMD', c.groupId, c.edgeNodeId)
          : deviceTopic('DCMD', c.groupId, c.edgeNodeId, c.deviceId);
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
