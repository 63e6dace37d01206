import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '@bitv/shared';
import type { EventLog } from '@bitv/shared/event-log';
import {
  type CommandAction,
  type CommandResult,
  commandAction,
  commandRequestedV1,
  commandTargetProblem,
  formatIssue,
} from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { sql } from 'kysely';
import type { CloudDb } from '../db/index.js';
import { iso } from '../db/time.js';
import { publishEvent } from '../events.js';
import type { LiveHub } from '../live/hub.js';
import type { BinLightSetting, ShelfLightsInput } from './api.js';
import { announceLights, setLightsFromCommand } from './lights.js';

export interface Command {
  id: string;
  gatewayId: string;
  deviceId: string | null;
  groupId: string;
  command: CommandAction;
  status: 'sent' | 'done' | 'failed' | 'expired';
  reason: string | null;
  requestedBy: string | null;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
}

type CommandRow = {
  id: string;
  gateway_id: string;
  device_id: string | null;
  group_id: string;
  command: Record<string, unknown>;
  status: Command['status'];
  reason: string | null;
  requested_by: string | null;
  expires_at: Date;
  created_at: Date;
  updated_at: Date;
};

const toCommand = (r: CommandRow): Command => ({
  id: r.id,
  gatewayId: r.gateway_id,
  deviceId: r.device_id,
  groupId: r.group_id,
  command: r.command as CommandAction,
  status: r.status,
  reason: r.reason,
  requestedBy: r.requested_by,
  expiresAt: iso(r.expires_at),
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

/** [SL-BIN-1] bins are numbered from 0; 255 means every bin, for tare and set_led only. */
const everyBin = 255;

/**
 * Most bins one `set_leds` carries: 64 entries are ~3 KB of `command/json`, inside the agent's
 * default `BV_EDGE_MAX_COMMAND_BYTES` (4096); a shelf with more bins to change gets several.
 */
export const maxGroupLeds = 64;

function binOutOfRange(command: CommandAction, shelfId: string, binCount: number): string | undefined {
  if (command.action === 'set_leds') {
    const bad = command.leds.find((l) => l.bin >= binCount);
    return bad ? `shelf ${shelfId} has no bin ${bad.bin} (its bins are 0 to ${binCount - 1})` : undefined;
  }
  if (!('bin' in command)) return undefined;
  if (command.bin < binCount) return undefined;
  if (command.bin === everyBin && command.action !== 'calibrate') return undefined;
  return `shelf ${shelfId} has no bin ${command.bin} (its bins are 0 to ${binCount - 1})`;
}

/** The highest bin a command names; -1 for none or every bin (255) [SL-BIN-1]. */
function highestBin(command: CommandAction): number {
  if (command.action === 'set_leds') return Math.max(...command.leds.map((l) => l.bin));
  if (!('bin' in command) || command.bin === everyBin) return -1;
  return command.bin;
}

const ledOf = (light: BinLightSetting) => (light === 'off' ? { color: '#000000', blink: 'off' } : light);

/** A light command checked against the schema (colour, blink, bins), or a ValidationError. */
function lightCommand(input: unknown): CommandAction {
  const command = commandAction.safeParse(input);
  if (!command.success)
    throw new ValidationError(`invalid light: ${command.error.issues.map(formatIssue).join('; ')}`);
  return command.data;
}

export interface SendCommand {
  command: CommandAction;
  deviceId?: string;
  ttlSeconds: number;
  requestedBy: string;
}

/**
 * Device commands: stored, then published on `bv.commands` (the gateway turns them into NCMD or
 * DCMD); their fate comes back on `bv.command-results`. A command nobody answered by its expiry
 * is marked expired here, whatever the edge says later (a late "done" is kept as the reason).
 */
export class Commands {
  constructor(
    private readonly db: CloudDb,
    private readonly eventLog: EventLog,
    private readonly hub: LiveHub,
    private readonly logger: Logger,
  ) {}

  async send(gatewayId: string, input: SendCommand): Promise<Command> {
    // Refused here rather than failed at the edge later: the request names the wrong target.
    const misdirected = commandTargetProblem(input.command.action, input.deviceId);
    if (misdirected) throw new ValidationError(misdirected);
    const gateway = await this.db
      .selectFrom('gateways')
      .select(['id', 'site_id'])
      .where('id', '=', gatewayId)
      .executeTakeFirst();
    if (!gateway) throw new NotFoundError(`gateway ${gatewayId} not found`);
    if (input.deviceId) {
      const shelf = await this.db
        .selectFrom('shelves')
        .select(['id', 'bin_count'])
        .where('id', '=', input.deviceId)
        .where('gateway_id', '=', gatewayId)
        .executeTakeFirst();
      if (!shelf)
        throw new ValidationError(`device ${input.deviceId} is not attached to gateway ${gatewayId}`);
      const binProblem = binOutOfRange(input.command, shelf.id, shelf.bin_count);
      if (binProblem) throw new ValidationError(binProblem);
    }
    return this.store(gatewayId, gateway.site_id, input);
  }

  /** Stores a checked command and publishes it. */
  private async store(gatewayId: string, siteId: string, input: SendCommand): Promise<Command> {
    const now = new Date();
    const row = await this.db
      .insertInto('commands')
      .values({
        id: randomUUID(),
        gateway_id: gatewayId,
        device_id: input.deviceId ?? null,
        group_id: siteId,
        command: JSON.stringify(input.command),
        status: 'sent',
        reason: null,
        requested_by: input.requestedBy,
        expires_at: new Date(now.getTime() + input.ttlSeconds * 1000),
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return this.publish(row, input);
  }

  /**
   * A shelf's light command in one statement, then the event log's own write: the row is inserted
   * from the shelf's row (its gateway, and the gateway's site) only when the shelf has every bin
   * the command names. That is two statements per shelf's command on the pick-to-light path, where
   * it took five per bin (shelf, gateway, shelf again, insert, the log), each waiting its turn on
   * PGlite's single connection behind the telemetry writes. No row back means the shelf is unknown
   * or lacks a bin: `binCountOf` then says which (the error path only).
   */
  private async storeForShelf(
    shelfId: string,
    command: CommandAction,
    input: { requestedBy: string; ttlSeconds?: number },
  ): Promise<Command> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + (input.ttlSeconds ?? 60) * 1000);
    const row = await this.db
      .insertInto('commands')
      .columns([
        'id',
        'gateway_id',
        'device_id',
        'group_id',
        'command',
        'status',
        'requested_by',
        'expires_at',
        'updated_at',
      ])
      .expression((eb) =>
        eb
          .selectFrom('shelves')
          .innerJoin('gateways', 'gateways.id', 'shelves.gateway_id')
          .select([
            sql<string>`${randomUUID()}::text`.as('id'),
            'shelves.gateway_id',
            'shelves.id as device_id',
            'gateways.site_id as group_id',
            sql<string>`${JSON.stringify(command)}::jsonb`.as('command'),
            sql<string>`'sent'`.as('status'),
            sql<string>`${input.requestedBy}::text`.as('requested_by'),
            sql<Date>`${expiresAt.toISOString()}::timestamptz`.as('expires_at'),
            sql<Date>`${now.toISOString()}::timestamptz`.as('updated_at'),
          ])
          .where('shelves.id', '=', shelfId)
          .where('shelves.bin_count', '>', highestBin(command)),
      )
      .returningAll()
      .executeTakeFirst();
    if (!row) {
      const binCount = await this.binCountOf(shelfId);
      throw new ValidationError(
        binOutOfRange(command, shelfId, binCount) ?? `shelf ${shelfId} has no gateway to send to`,
      );
    }
    return this.publish(row, { command, requestedBy: input.requestedBy });
  }

  private async publish(
    row: CommandRow,
    input: { command: CommandAction; requestedBy: string },
  ): Promise<Command> {
    const command = toCommand(row);
    const gatewayId = command.gatewayId;
    await publishEvent(this.eventLog, commandRequestedV1, gatewayId, {
      commandId: command.id,
      groupId: command.groupId,
      edgeNodeId: gatewayId,
      ...(command.deviceId ? { deviceId: command.deviceId } : {}),
      command: input.command,
      expiresAt: command.expiresAt,
      requestedBy: input.requestedBy,
    });
    this.logger.info({ commandId: command.id, gatewayId, action: input.command.action }, 'command sent');
    return command;
  }

  /**
   * Pick-to-light on one bin (or every bin, 255) of a shelf, sent through the shelf's gateway; a
   * light is turned off with `blink: off` [SL-CMD-2].
   */
  async setBinLight(input: {
    shelfId: string;
    bin: number;
    light: BinLightSetting;
    requestedBy: string;
    ttlSeconds?: number;
  }): Promise<Command> {
    return this.storeForShelf(
      input.shelfId,
      lightCommand({ action: 'set_led', bin: input.bin, ...ledOf(input.light) }),
      input,
    );
  }

  /**
   * Several bins of one shelf: one `set_leds` (up to `maxGroupLeds` bins each), or `set_led` for
   * a single bin (also understood by agents older than the group command). A bin named twice
   * takes its last setting.
   */
  async setBinLights(input: ShelfLightsInput): Promise<Command[]> {
    const byBin = new Map<number, BinLightSetting>();
    for (const l of input.lights) byBin.set(l.bin, l.light);
    const leds = [...byBin].map(([bin, light]) => ({ bin, ...ledOf(light) }));
    if (leds.length === 0) return [];
    const commands: CommandAction[] = [];
    for (let i = 0; i < leds.length; i += maxGroupLeds) {
      const part = leds.slice(i, i + maxGroupLeds);
      commands.push(
        lightCommand(
          part.length === 1 ? { action: 'set_led', ...part[0] } : { action: 'set_leds', leds: part },
        ),
      );
    }
    const sent: Command[] = [];
    for (const command of commands) sent.push(await this.storeForShelf(input.shelfId, command, input));
    return sent;
  }

  /** A shelf's bin count, or NotFoundError (why a light command found no shelf to go to). */
  private async binCountOf(shelfId: string): Promise<number> {
    const row = await this.db
      .selectFrom('shelves')
      .select('bin_count')
      .where('id', '=', shelfId)
      .executeTakeFirst();
    if (!row) throw new NotFoundError(`shelf ${shelfId} not found`);
    return row.bin_count;
  }

  /** Sends the same command to several gateways (a site, or a list). */
  async sendToGroup(
    target: { siteId?: string; gatewayIds?: string[] },
    input: SendCommand,
  ): Promise<Command[]> {
    // A group command has no device: only edge-node commands make sense (checked before any is sent).
    const misdirected = commandTargetProblem(input.command.action, input.deviceId);
    if (misdirected) throw new ValidationError(misdirected);
    let ids = target.gatewayIds ?? [];
    if (target.siteId) {
      const rows = await this.db
        .selectFrom('gateways')
        .select('id')
        .where('site_id', '=', target.siteId)
        .where('status', '=', 'provisioned')
        .execute();
      ids = [...new Set([...ids, ...rows.map((r) => r.id)])];
    }
    if (ids.length === 0) throw new ValidationError('no gateways to send to');
    const sent: Command[] = [];
    for (const id of ids) sent.push(await this.send(id, input));
    return sent;
  }

  async get(id: string): Promise<Command> {
    await this.expireDue();
    const row = await this.db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError(`command ${id} not found`);
    return toCommand(row);
  }

  async list(gatewayId: string, limit = 50): Promise<Command[]> {
    await this.expireDue();
    const rows = await this.db
      .selectFrom('commands')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toCommand);
  }

  /** Applies a result from the edge; only a command still in flight changes state. */
  async applyResult(result: CommandResult): Promise<Command | undefined> {
    // The status and what it means for the bins (pick-to-light) commit together, so a reader that
    // sees "done" also sees the light.
    const outcome = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('commands')
        .set({ status: result.status, reason: result.reason ?? null, updated_at: new Date() })
        .where('id', '=', result.commandId)
        .where('status', '=', 'sent')
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      const command = toCommand(row);
      const c = command.command;
      if (command.status !== 'done' || !command.deviceId) return { command, lights: [] };
      // ACK means carried out [SL-CMD-2]; bin 255 is every bin [SL-BIN-1]; an ACKed set_leds is
      // every entry carried out [SL-LED-2].
      const leds = c.action === 'set_led' ? [c] : c.action === 'set_leds' ? c.leds : [];
      if (leds.length === 0) return { command, lights: [] };
      const lights = await setLightsFromCommand(
        trx,
        command.deviceId,
        leds.map((l) => ({
          bin: l.bin,
          light: l.blink === 'off' ? null : { color: l.color.toLowerCase(), blink: l.blink },
        })),
        row.created_at,
      );
      return { command, lights };
    });
    if (!outcome) return undefined;
    this.announce(outcome.command);
    announceLights(this.hub, outcome.command.groupId, outcome.lights);
    return outcome.command;
  }

  /** Marks commands past their expiry as expired; run on a timer and before reads. */
  async expireDue(now = new Date()): Promise<number> {
    const rows = await this.db
      .updateTable('commands')
      .set({ status: 'expired', reason: 'no result before expiry', updated_at: now })
      .where('status', '=', 'sent')
      .where('expires_at', '<=', now)
      .returningAll()
      .execute();
    for (const r of rows) this.announce(toCommand(r));
    return rows.length;
  }

  private announce(c: Command): void {
    this.hub.publish({
      type: 'command',
      siteId: c.groupId,
      commandId: c.id,
      gatewayId: c.gatewayId,
      status: c.status,
      reason: c.reason,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    });
  }
}
