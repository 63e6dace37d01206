import { randomUUID } from 'node:crypto';
import type { Database } from '@bitv/shared/db';
import type { EventStore, EventStoreTransaction } from '@bitv/shared/event-store';
import { type Logger, silentLogger } from '@bitv/shared/log';
import { counter, createRegistry, type Registry } from '@bitv/shared/metrics';
import { sql } from 'kysely';
import { migrateCheckout } from './migrations.js';
import type { CheckoutBoundary, CheckoutState, CheckoutStep, SagaStatus, StepResult } from './saga.js';
import { finishRejected } from './steps.js';

export interface CheckoutRunnerOptions {
  database: Database;
  store: EventStore;
  steps: readonly CheckoutStep[];
  logger?: Logger;
  metrics?: Registry;
  /** A process drives a checkout under a lease; a dead process's checkouts resume after it lapses. */
  leaseMs?: number;
  /** Checkouts driven at once in this process. */
  concurrency?: number;
  /** Checkouts waiting to be driven; beyond it a kick is dropped (the resume timer finds it). */
  maxQueued?: number;
  /** Called at every step boundary, after the state there is stored (logging, crash tests). */
  onBoundary?: (boundary: CheckoutBoundary) => void | Promise<void>;
}

export const checkoutRunnerDefaults = { leaseMs: 15_000, concurrency: 8, maxQueued: 10_000 };

interface SagaRow {
  status: SagaStatus;
  step: number;
  state: CheckoutState;
}

export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/** Inserts new checkouts in the placing transaction: the orders and their sagas exist together. */
export async function startCheckouts(
  tx: EventStoreTransaction,
  states: readonly CheckoutState[],
): Promise<void> {
  if (states.length === 0) return;
  const values = states.map((s) => sql`(${s.orderId}, 'running', 0, ${JSON.stringify(s)}::jsonb, 1)`);
  await sql`INSERT INTO checkout_sagas (order_id, status, step, state, version)
    VALUES ${sql.join(values)}`.execute(tx.sql);
}

/**
 * Drives checkouts through their steps. Every checkout's state is a row; a process takes the row's
 * lease before driving it, so two processes never drive one checkout at once, and a process that
 * dies leaves a lease that lapses, after which `resumeDue` (on a timer) picks the checkout up
 * where its last stored state left it.
 */
export class CheckoutRunner {
  private readonly opts: Required<Omit<CheckoutRunnerOptions, 'onBoundary' | 'logger' | 'metrics'>>;
  private readonly owner = randomUUID();
  private readonly logger: Logger;
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private active = 0;
  private closed = false;
  private readonly idle = new Set<() => void>();
  private readonly finished;
  private readonly dropped;
  private readonly failures;

  constructor(private readonly options: CheckoutRunnerOptions) {
    this.opts = { ...checkoutRunnerDefaults, ...options };
    this.logger = (options.logger ?? silentLogger).child({ subsystem: 'checkout' });
    const registry = options.metrics ?? createRegistry();
    this.finished = counter(registry, 'bv_checkout_finished_total', 'Checkouts finished, by outcome', [
      'outcome',
    ]);
    this.dropped = counter(
      registry,
      'bv_checkout_kicks_dropped_total',
      'Checkouts not queued because the queue was full (resumed by the timer)',
    );
    this.failures = counter(
      registry,
      'bv_checkout_step_errors_total',
      'Checkout steps that threw (retried)',
      ['step'],
    );
  }

  static async migrate(database: Database): Promise<void> {
    await migrateCheckout(database);
  }

  /** Queues a checkout to be driven now (no-op when it is queued or being driven here). */
  kick(orderId: string): void {
    if (this.closed || this.queued.has(orderId)) return;
    if (this.queue.length >= this.opts.maxQueued) {
      this.dropped.inc();
      return;
    }
    this.queued.add(orderId);
    this.queue.push(orderId);
    this.pump();
  }

  /** Queues every unfinished checkout whose lease is free or lapsed; returns how many. */
  async resumeDue(limit = 500): Promise<number> {
    const { rows } = await sql<{ order_id: string }>`SELECT order_id FROM checkout_sagas
      WHERE status <> 'done' AND (lease_until IS NULL OR lease_until < now())
      ORDER BY created_at LIMIT ${limit}`.execute(this.options.database.kysely);
    for (const r of rows) this.kick(r.order_id);
    return rows.length;
  }

  /** Resolves when nothing is queued or being driven in this process. */
  async drained(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idle.add(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.queued.clear();
    await this.drained();
  }

  private pump(): void {
    while (this.active < this.opts.concurrency && this.queue.length > 0) {
      const orderId = this.queue.shift() as string;
      this.active += 1;
      this.drive(orderId)
        .catch((error: unknown) => {
          if (error instanceof LeaseLostError) return;
          this.logger.warn({ err: error, orderId }, 'checkout stopped; it resumes when its lease lapses');
        })
        .finally(() => {
          this.queued.delete(orderId);
          this.active -= 1;
          if (!this.closed) this.pump();
          if (this.active === 0 && this.queue.length === 0) {
            for (const resolve of this.idle) resolve();
            this.idle.clear();
          }
        });
    }
  }

  /** Drives one checkout as far as it goes; returns its status (undefined: someone else holds it). */
  async drive(orderId: string): Promise<SagaStatus | undefined> {
    const claimed = await this.claim(orderId);
    if (!claimed) return undefined;
    let row: SagaRow = claimed;
    const steps = this.options.steps;
    while (row.status !== 'done') {
      if (this.closed) return row.status;
      if (row.status === 'running') {
        const step: CheckoutStep | undefined = steps[row.step];
        if (!step) throw new Error(`checkout ${orderId} is at step ${row.step} of ${steps.length}`);
        await this.boundary({ orderId, step: step.name, phase: 'before' });
        const current: SagaRow = row;
        const result: StepResult = await this.guard(step.name, () =>
          step.run({
            state: current.state,
            save: (s) => this.save(orderId, current.status, current.step, s),
          }),
        );
        if ('failure' in result) {
          row = {
            status: 'compensating',
            step: row.step,
            state: { ...result.state, failure: result.failure },
          };
          await this.save(orderId, row.status, row.step, row.state);
          await this.boundary({ orderId, step: step.name, phase: 'failed' });
          continue;
        }
        const last = row.step + 1 === steps.length;
        const next: SagaRow = { status: last ? 'done' : 'running', step: row.step + 1, state: result.state };
        const commit = result.commit;
        if (commit) {
          await this.options.store.transaction(async (tx) => {
            await commit(tx);
            await this.save(orderId, next.status, next.step, next.state, tx);
          });
        } else {
          await this.save(orderId, next.status, next.step, next.state);
        }
        row = next;
        await this.boundary({ orderId, step: step.name, phase: 'after' });
        if (last) this.finish(row.state);
        continue;
      }
      // Compensating: the failed step and every one before it, last first, each once.
      for (let i = Math.min(row.step, steps.length - 1); i >= 0; i -= 1) {
        const step = steps[i] as CheckoutStep;
        if (!step.compensate || row.state.compensated.includes(step.name)) continue;
        const current = row;
        const state = await this.guard(`${step.name}.compensate`, () =>
          (step.compensate as NonNullable<CheckoutStep['compensate']>)({
            state: current.state,
            save: (s) => this.save(orderId, current.status, current.step, s),
          }),
        );
        row = { ...row, state: { ...state, compensated: [...state.compensated, step.name] } };
        await this.save(orderId, row.status, row.step, row.state);
        await this.boundary({ orderId, step: step.name, phase: 'compensated' });
      }
      const closing = row;
      const done = await this.options.store.transaction(async (tx) => {
        const outcome = await finishRejected(tx, closing.state);
        const state = { ...closing.state, ...(outcome ? { outcome } : {}) };
        await this.save(orderId, 'done', closing.step, state, tx);
        return { status: 'done' as const, step: closing.step, state };
      });
      row = done;
      await this.boundary({ orderId, step: 'reject', phase: 'done' });
      this.finish(row.state);
    }
    return row.status;
  }

  private finish(state: CheckoutState): void {
    this.finished.inc({ outcome: state.outcome ?? 'unknown' });
    this.logger.debug(
      { orderId: state.orderId, outcome: state.outcome, failure: state.failure },
      'checkout finished',
    );
  }

  private async guard<T>(step: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      this.failures.inc({ step });
      throw error;
    }
  }

  private async boundary(b: CheckoutBoundary): Promise<void> {
    await this.options.onBoundary?.(b);
  }

  private async claim(orderId: string): Promise<SagaRow | undefined> {
    const { rows } = await sql<{ status: SagaStatus; step: number; state: CheckoutState | string }>`
      UPDATE checkout_sagas SET lease_owner = ${this.owner},
        lease_until = now() + ${this.opts.leaseMs} * interval '1 millisecond'
      WHERE order_id = ${orderId} AND status <> 'done'
        AND (lease_owner IS NULL OR lease_owner = ${this.owner} OR lease_until < now())
      RETURNING status, step, state`.execute(this.options.database.kysely);
    const r = rows[0];
    if (!r) return undefined;
    return {
      status: r.status,
      step: r.step,
      state: typeof r.state === 'string' ? JSON.parse(r.state) : r.state,
    };
  }

  private async save(
    orderId: string,
    status: SagaStatus,
    step: number,
    state: CheckoutState,
    tx?: EventStoreTransaction,
  ): Promise<void> {
    // The save that closes a checkout also gives its lease up (a finished checkout is never claimed).
    const lease =
      status === 'done'
        ? sql`lease_owner = NULL, lease_until = NULL`
        : sql`lease_until = now() + ${this.opts.leaseMs} * interval '1 millisecond'`;
    const q = sql`UPDATE checkout_sagas SET status = ${status}, step = ${step}, state = ${JSON.stringify(state)}::jsonb,
        version = version + 1, updated_at = now(), ${lease}
      WHERE order_id = ${orderId} AND lease_owner = ${this.owner}`;
    const result = await q.execute(tx ? tx.sql : this.options.database.kysely);
    if (Number(result.numAffectedRows ?? 0) !== 1) {
      throw new LeaseLostError(`checkout ${orderId}: lease lost to another process`);
    }
  }
}
