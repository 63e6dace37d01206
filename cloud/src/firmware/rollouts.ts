import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '@bitv/shared';
import type { CommandResult } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Counter } from '@bitv/shared/metrics';
import {
  type Candidate,
  type Change,
  control,
  plan,
  progress,
  type Rollout,
  type RolloutDevice,
  type RolloutSpec,
  type RolloutStatus,
  report,
  type Selector,
  type Step,
  tick,
} from './rollout-model.js';
import type { FirmwareDb } from './rollout-tables.js';

export interface RolloutCandidate extends Candidate {
  siteId: string;
}

export interface RolloutDeps {
  /**
   * What a selector picks for a target: shelves (by registry id) with their gateway and site, or
   * for `edge-agent` the gateways themselves (device id = gateway id).
   */
  candidates(selector: Selector, target: RolloutSpec['target']): Promise<RolloutCandidate[]>;
  /** Sends the update command for one attempt; returns the command's id. */
  send(device: RolloutDevice, spec: RolloutSpec, rolloutId: string): Promise<string>;
  /** Tells live viewers a rollout moved (one message per site it touches). */
  announce(view: RolloutView): void;
  now(): number;
  /**
   * Whether the release is in the firmware store the devices fetch from; absent when the cloud has
   * no store configured (then a rollout of a missing release fails device by device).
   */
  releaseExists?(target: RolloutSpec['target'], version: string): Promise<boolean>;
}

export interface RolloutView {
  id: string;
  spec: RolloutSpec;
  status: RolloutStatus;
  wave: number;
  waves: number;
  reason: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  sites: string[];
  progress: ReturnType<typeof progress>;
  devices: (RolloutDevice & { siteId: string; commandId: string | null })[];
}

const active: RolloutStatus[] = ['running', 'paused'];

/**
 * Rollout jobs kept in tables, so a restarted cloud carries on where it stopped: a timer `tick`s
 * every running job (time-outs, retries, the next wave), command results report devices'
 * outcomes. Each change runs in a transaction that locks the job's row (two cloud instances never
 * both move one job); commands go out after the commit, so a crash between the two is an attempt
 * that times out and is retried, never a device counted twice.
 */
export class Rollouts {
  constructor(
    private readonly db: FirmwareDb,
    private readonly deps: RolloutDeps,
    private readonly logger: Logger,
    private readonly sent: Counter<'result'>,
  ) {}

  async create(spec: RolloutSpec, createdBy: string): Promise<RolloutView> {
    const candidates = await this.deps.candidates(spec.selector, spec.target);
    if (candidates.length === 0) throw new ValidationError(`the selector matches no ${spec.target}`);
    if (this.deps.releaseExists && !(await this.deps.releaseExists(spec.target, spec.version)))
      throw new ValidationError(
        `no release ${spec.target} ${spec.version} in the firmware store: publish it first (bitv-firmware publish)`,
      );
    const busy = await this.db
      .selectFrom('rollout_devices')
      .innerJoin('rollouts', 'rollouts.id', 'rollout_devices.rollout_id')
      .select(['rollout_devices.device_id', 'rollouts.id'])
      .where('rollouts.status', 'in', active)
      .where(
        'rollout_devices.device_id',
        'in',
        candidates.map((c) => c.deviceId),
      )
      .executeTakeFirst();
    if (busy) throw new ConflictError(`${busy.device_id} is already in rollout ${busy.id}`);
    const id = randomUUID();
    const r = plan(id, spec, candidates);
    const siteOf = new Map(candidates.map((c) => [c.deviceId, c.siteId]));
    const now = new Date(this.deps.now());
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('rollouts')
        .values({
          id,
          spec: JSON.stringify(spec),
          status: r.status,
          wave: r.wave,
          waves: r.waves,
          reason: r.reason,
          created_by: createdBy,
          created_at: now,
          updated_at: now,
        })
        .execute();
      for (let i = 0; i < r.devices.length; i += 500) {
        await trx
          .insertInto('rollout_devices')
          .values(
            r.devices.slice(i, i + 500).map((d) => ({
              rollout_id: id,
              device_id: d.deviceId,
              gateway_id: d.gatewayId,
              site_id: siteOf.get(d.deviceId) ?? '',
              wave: d.wave,
              state: d.state,
              attempts: 0,
              sent_at: null,
              reason: null,
              version: null,
              command_id: null,
            })),
          )
          .execute();
      }
    });
    this.logger.info(
      { rollout: id, devices: r.devices.length, waves: r.waves, version: spec.version },
      'rollout created',
    );
    await this.advance(id);
    return this.get(id);
  }

  async get(id: string): Promise<RolloutView> {
    const row = await this.db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError(`rollout ${id} not found`);
    const devices = await this.db
      .selectFrom('rollout_devices')
      .selectAll()
      .where('rollout_id', '=', id)
      .orderBy('wave')
      .orderBy('device_id')
      .execute();
    const r = toRollout(row, devices);
    return {
      id,
      spec: r.spec,
      status: r.status,
      wave: r.wave,
      waves: r.waves,
      reason: r.reason,
      createdBy: row.created_by,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
      sites: [...new Set(devices.map((d) => d.site_id))].sort(),
      progress: progress(r),
      devices: r.devices.map((d, i) => ({
        ...d,
        siteId: devices[i]!.site_id,
        commandId: devices[i]!.command_id,
      })),
    };
  }

  /** Jobs, newest first; `gatewayId` keeps those that touch that gateway. */
  async list(
    filter: { status?: RolloutStatus; gatewayId?: string; limit?: number } = {},
  ): Promise<RolloutView[]> {
    let q = this.db
      .selectFrom('rollouts')
      .select('id')
      .orderBy('created_at', 'desc')
      .limit(filter.limit ?? 50);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.gatewayId) {
      const gw = filter.gatewayId;
      q = q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('rollout_devices')
            .select('device_id')
            .whereRef('rollout_devices.rollout_id', '=', 'rollouts.id')
            .where('rollout_devices.gateway_id', '=', gw),
        ),
      );
    }
    const ids = await q.execute();
    return Promise.all(ids.map((r) => this.get(r.id)));
  }

  async control(id: string, action: 'pause' | 'resume' | 'cancel', by: string): Promise<RolloutView> {
    await this.locked(id, (r) => {
      const next = control(r, action);
      if (!active.includes(next as RolloutStatus) && next !== 'cancelled') throw new ConflictError(next);
      this.logger.info({ rollout: id, action, by }, 'rollout control');
      // A cancelled job sends nothing more; devices not yet sent are skipped, those in flight finish.
      const changes: Change[] =
        next === 'cancelled'
          ? r.devices
              .filter((d) => d.state === 'pending')
              .map((d) => ({ deviceId: d.deviceId, state: 'skipped' as const }))
          : [];
      return {
        send: [],
        changes,
        rollout: { status: next as RolloutStatus, wave: r.wave, reason: r.reason },
      };
    });
    if (action === 'resume') await this.advance(id);
    return this.get(id);
  }

  /** Moves every running job (the module's timer). */
  async tickAll(): Promise<void> {
    const running = await this.db
      .selectFrom('rollouts')
      .select('id')
      .where('status', '=', 'running')
      .execute();
    for (const { id } of running) {
      try {
        await this.advance(id);
      } catch (error) {
        this.logger.error({ err: error, rollout: id }, 'rollout tick failed');
      }
    }
  }

  /** A command's result: the outcome of the device whose current attempt it was. */
  async onCommandResult(result: CommandResult): Promise<void> {
    const row = await this.db
      .selectFrom('rollout_devices')
      .select(['rollout_id', 'device_id'])
      .where('command_id', '=', result.commandId)
      .executeTakeFirst();
    if (!row) return; // not a rollout's command
    // Expired: the agent never ran it; the device's timeout retries it.
    if (result.status === 'expired') return;
    await this.locked(
      row.rollout_id,
      (r) => {
        const d = r.devices.find((x) => x.deviceId === row.device_id);
        if (d?.state !== 'in_progress') return undefined;
        const ok = result.status === 'done';
        return report(r, row.device_id, {
          ok,
          ...(ok ? { version: r.spec.version } : {}),
          reason: result.reason ?? result.status,
        });
      },
      result.commandId,
    );
    await this.advance(row.rollout_id);
  }

  private async advance(id: string): Promise<void> {
    const now = this.deps.now();
    const step = await this.locked(id, (r) => tick(r, now));
    if (!step || step.send.length === 0) return;
    const spec = step.spec;
    for (const d of step.send) {
      try {
        const commandId = await this.deps.send(d, spec, id);
        await this.db
          .updateTable('rollout_devices')
          .set({ command_id: commandId })
          .where('rollout_id', '=', id)
          .where('device_id', '=', d.deviceId)
          .where('attempts', '=', d.attempts)
          .execute();
        this.sent.inc({ result: 'sent' });
      } catch (error) {
        // Left in progress without a command: its timeout sends it again.
        this.sent.inc({ result: 'failed' });
        this.logger.warn(
          { err: error, rollout: id, device: d.deviceId },
          'could not send the update command',
        );
      }
    }
  }

  /**
   * Loads the job under a row lock, lets `decide` compute a step, writes it. `commandId`: only
   * apply when the device's current command is this one (a late result of an earlier attempt
   * does not count).
   */
  private async locked(
    id: string,
    decide: (r: Rollout) => Step | undefined,
    commandId?: string,
  ): Promise<(Step & { spec: RolloutSpec }) | undefined> {
    const result = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('rollouts')
        .selectAll()
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!row) throw new NotFoundError(`rollout ${id} not found`);
      const rows = await trx.selectFrom('rollout_devices').selectAll().where('rollout_id', '=', id).execute();
      if (commandId && !rows.some((d) => d.command_id === commandId)) return undefined;
      const r = toRollout(row, rows);
      const step = decide(r);
      if (!step) return undefined;
      for (const c of step.changes) {
        const { deviceId, ...fields } = c;
        await trx
          .updateTable('rollout_devices')
          .set({
            ...(fields.state !== undefined ? { state: fields.state } : {}),
            ...(fields.attempts !== undefined ? { attempts: fields.attempts } : {}),
            ...(fields.sentAt !== undefined ? { sent_at: fields.sentAt } : {}),
            ...(fields.reason !== undefined ? { reason: fields.reason } : {}),
            ...(fields.version !== undefined ? { version: fields.version } : {}),
            ...(fields.attempts !== undefined ? { command_id: null } : {}),
          })
          .where('rollout_id', '=', id)
          .where('device_id', '=', deviceId)
          .execute();
      }
      const moved =
        step.changes.length > 0 ||
        step.rollout.status !== r.status ||
        step.rollout.wave !== r.wave ||
        step.rollout.reason !== r.reason;
      if (moved)
        await trx
          .updateTable('rollouts')
          .set({
            status: step.rollout.status,
            wave: step.rollout.wave,
            reason: step.rollout.reason,
            updated_at: new Date(this.deps.now()),
          })
          .where('id', '=', id)
          .execute();
      if (step.rollout.status !== r.status)
        this.logger.info(
          { rollout: id, status: step.rollout.status, reason: step.rollout.reason },
          'rollout status',
        );
      return { ...step, spec: r.spec, moved };
    });
    if (result?.moved) this.deps.announce(await this.get(id));
    return result;
  }
}

function toRollout(
  row: {
    id: string;
    spec: RolloutSpec | string;
    status: RolloutStatus;
    wave: number;
    waves: number;
    reason: string | null;
  },
  devices: readonly {
    device_id: string;
    gateway_id: string;
    wave: number;
    state: RolloutDevice['state'];
    attempts: number;
    sent_at: string | number | null;
    reason: string | null;
    version: string | null;
  }[],
): Rollout {
  return {
    id: row.id,
    // jsonb comes back parsed from both pg and PGlite; a text column would not.
    spec: typeof row.spec === 'string' ? (JSON.parse(row.spec) as RolloutSpec) : row.spec,
    status: row.status,
    wave: row.wave,
    waves: row.waves,
    reason: row.reason,
    devices: devices.map((d) => ({
      deviceId: d.device_id,
      gatewayId: d.gateway_id,
      wave: d.wave,
      state: d.state,
      attempts: d.attempts,
      sentAt: d.sent_at === null ? null : Number(d.sent_at),
      reason: d.reason,
      version: d.version,
    })),
  };
}
