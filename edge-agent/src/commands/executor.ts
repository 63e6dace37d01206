import { commandTargetProblem, type ShadowCommand } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { type DeviceTopic, decodeCommands, type NodeTopic } from '@bitv/shared/sparkplug';
import type { CommandOutcome, Driver } from '../drivers/driver.js';
import type { AgentMetrics } from '../metrics.js';
import type { CommandStore } from '../outbox/index.js';

export interface ExecutorLimits {
  /** NCMD/DCMD payloads above this are dropped undecoded (counted). */
  maxPayloadBytes: number;
  /** `command/json` above this is refused with a `failed` result. */
  maxCommandBytes: number;
  maxCommandsPerMessage: number;
}

export interface ExecutorDeps {
  store: CommandStore;
  drivers: () => readonly Driver[];
  /** Results were stored: the uplink publishes them. */
  notify: () => void;
  rebirth: () => void;
  /** A shadow delta (NCMD): accepted, persisted and applied by the agent's shadow. */
  shadow?: (command: ShadowCommand) => Promise<CommandOutcome>;
  /**
   * An `agent_update` (NCMD): install the release and restart into it (docs/ota.md).
   * `restarting`: the command stays open; the version running after the trial answers it.
   */
  agentUpdate?: (version: string, commandId: string) => Promise<CommandOutcome | 'restarting'>;
  logger: Logger;
  metrics: AgentMetrics;
  now?: () => number;
}

/**
 * NCMD/DCMD to shelf COMMANDs and back to results. A command id is executed at most once: the id
 * is claimed in SQLite before the command goes to the device; a redelivery only republishes the
 * stored result. Bad input never throws: it is refused with a `failed` result when it has an id,
 * otherwise counted and dropped.
 */
export class CommandExecutor {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly now: () => number;

  constructor(
    private readonly limits: ExecutorLimits,
    private readonly deps: ExecutorDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  handle(topic: NodeTopic | DeviceTopic, payload: Buffer): void {
    const { metrics, logger, store } = this.deps;
    const device = 'deviceId' in topic ? topic.deviceId : null;
    if (payload.length > this.limits.maxPayloadBytes) {
      metrics.commandsRejected.inc({ reason: 'oversized' });
      logger.warn(
        { bytes: payload.length, device },
        `dropping ${topic.type} larger than ${this.limits.maxPayloadBytes} bytes`,
      );
      return;
    }
    let decoded: ReturnType<typeof decodeCommands>;
    try {
      decoded = decodeCommands(payload, {
        maxCommandBytes: this.limits.maxCommandBytes,
        maxCommands: this.limits.maxCommandsPerMessage,
        maxMetrics: this.limits.maxCommandsPerMessage * 4 + 8,
      });
    } catch (error) {
      metrics.commandsRejected.inc({ reason: 'undecodable' });
      logger.warn({ err: String(error), device }, `dropping undecodable ${topic.type}`);
      return;
    }
    if (decoded.unknownMetrics.length > 0) {
      metrics.unknownMetrics.inc(decoded.unknownMetrics.length);
      logger.warn(
        { names: decoded.unknownMetrics.slice(0, 10), device },
        'ignoring unknown metrics in command',
      );
    }
    if (decoded.rebirth) {
      if (device === null) this.deps.rebirth();
      else metrics.commandsRejected.inc({ reason: 'rebirth_in_dcmd' });
    }
    for (const r of decoded.rejected) {
      metrics.commandsRejected.inc({ reason: 'invalid' });
      if (r.id === undefined) {
        logger.warn({ reason: r.reason, device }, 'dropping command without a usable id');
        continue;
      }
      const claim = store.begin(r.id, device);
      if (claim.fresh) this.finish(r.id, 'failed', r.reason);
      else store.republish(r.id);
    }
    for (const c of decoded.commands) {
      const claim = store.begin(c.id, device);
      if (!claim.fresh) {
        // [idempotency] redelivered (QoS 1 duplicate, cloud retry): never run twice.
        logger.info({ id: c.id, status: claim.record.status }, 'command already seen');
        store.republish(c.id);
        continue;
      }
      if (c.expiresAt !== undefined && c.expiresAt < this.now()) {
        this.finish(c.id, 'expired', `expired at ${new Date(c.expiresAt).toISOString()}`);
        continue;
      }
      const misdirected = commandTargetProblem(c.action.action, device);
      if (misdirected !== undefined) {
        this.finish(c.id, 'failed', misdirected);
        continue;
      }
      if (device === null) {
        // commandTargets lets only node commands through to here; rebirth is the one there is.
        if (c.action.action === 'rebirth') {
          this.deps.rebirth();
          this.finish(c.id, 'done');
        } else if (c.action.action === 'shadow' && this.deps.shadow) {
          const apply = this.deps.shadow;
          const action = c.action;
          this.enqueue('', async () => {
            const outcome = await apply(action).catch((error: unknown) => ({
              status: 'failed' as const,
              reason: String(error),
            }));
            this.finish(c.id, outcome.status, outcome.status === 'failed' ? outcome.reason : undefined);
          });
        } else if (c.action.action === 'agent_update' && this.deps.agentUpdate) {
          const update = this.deps.agentUpdate;
          const version = c.action.version;
          this.enqueue('', async () => {
            const outcome = await update(version, c.id).catch((error: unknown) => ({
              status: 'failed' as const,
              reason: String(error),
            }));
            if (outcome === 'restarting') return;
            this.finish(c.id, outcome.status, outcome.status === 'failed' ? outcome.reason : undefined);
          });
        } else this.finish(c.id, 'failed', `${c.action.action} has no edge-node handler`);
        continue;
      }
      const driver = this.deps.drivers().find((d) => d.owns(device));
      if (!driver) {
        this.finish(c.id, 'failed', 'device not linked');
        continue;
      }
      this.enqueue(device, async () => {
        const expiresAt = c.expiresAt;
        if (expiresAt !== undefined && expiresAt < this.now())
          return this.finish(c.id, 'expired', 'expired while queued');
        const outcome = await driver.execute(device, c.action).catch((error: unknown) => ({
          status: 'failed' as const,
          reason: String(error),
        }));
        this.finish(c.id, outcome.status, outcome.status === 'failed' ? outcome.reason : undefined);
      });
    }
    this.deps.notify();
  }

  /** One command at a time per device (`''`: the edge node), in arrival order. */
  private enqueue(device: string, task: () => Promise<void>): void {
    const previous = this.queues.get(device) ?? Promise.resolve();
    const run = previous.then(task);
    this.queues.set(device, run);
    void run.finally(() => {
      if (this.queues.get(device) === run) this.queues.delete(device);
    });
  }

  private finish(id: string, status: 'done' | 'failed' | 'expired', reason?: string): void {
    this.deps.store.finish(id, status, reason);
    this.deps.metrics.commands.inc({ status });
    this.deps.notify();
  }

  /** Resolves when every queued command has finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()]);
  }
}
