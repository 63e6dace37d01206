import { Random } from '@bitv/shared/random';
import { z } from 'zod';
import type { LedgerOperation, SettledLine } from './ledger.js';

/**
 * How a payment service misbehaves on demand (CLI flags, env, and `PUT /admin/faults` at runtime).
 * Every random choice comes from one seeded stream, so a chaos run with the same seed and the same
 * sequence of calls misbehaves the same way.
 */
export const faultSettingsSchema = z
  .object({
    /** Added to every call before it is handled. */
    latencyMs: z.number().int().min(0).max(120_000),
    /** Share of calls that commit, then never answer (see `afterCommit`). */
    timeoutAfterCommitRate: z.number().min(0).max(1),
    /** `close`: the connection is dropped once the money moved; `hang`: no answer until the client gives up. */
    afterCommit: z.enum(['close', 'hang']),
    /** Share of calls refused with a server fault before anything moves. */
    faultRate: z.number().min(0).max(1),
    /** Share of notifications sent twice. */
    duplicateNotificationRate: z.number().min(0).max(1),
    /** Notifications wait this long before they are sent. */
    notificationDelayMs: z.number().int().min(0).max(3_600_000),
    /** The settlement report disagrees with the day: one line dropped, or one amount altered. */
    settlementDrift: z.enum(['none', 'drop', 'alter']),
    /** Which operations the fault rate and the timeout after commit apply to (a chaos test aims at one step). */
    operations: z.array(z.enum(['authorize', 'capture', 'void', 'refund'])).max(4),
  })
  .strict();

export type FaultSettings = z.infer<typeof faultSettingsSchema>;

export const noFaults: FaultSettings = {
  latencyMs: 0,
  timeoutAfterCommitRate: 0,
  afterCommit: 'close',
  faultRate: 0,
  duplicateNotificationRate: 0,
  notificationDelayMs: 0,
  settlementDrift: 'none',
  operations: ['authorize', 'capture', 'void', 'refund'],
};

export class FaultInjector {
  private current: FaultSettings;
  private readonly random: Random;

  constructor(seed: number, settings: Partial<FaultSettings> = {}) {
    this.random = Random.derive(seed, 'payment-faults');
    this.current = faultSettingsSchema.parse({ ...noFaults, ...settings });
  }

  get settings(): FaultSettings {
    return { ...this.current };
  }

  /** Merges a partial change (validated: throws a ZodError on a bad one) and returns the result. */
  update(change: unknown): FaultSettings {
    const partial = faultSettingsSchema.partial().parse(change);
    this.current = { ...this.current, ...partial };
    return this.settings;
  }

  async delay(): Promise<void> {
    if (this.current.latencyMs > 0) await new Promise((r) => setTimeout(r, this.current.latencyMs));
  }

  injectFault(operation: LedgerOperation): boolean {
    return this.roll(this.current.faultRate) && this.current.operations.includes(operation);
  }

  timeoutAfterCommit(operation: LedgerOperation): false | 'close' | 'hang' {
    const hit = this.roll(this.current.timeoutAfterCommitRate) && this.current.operations.includes(operation);
    return hit ? this.current.afterCommit : false;
  }

  duplicateNotification(): boolean {
    return this.roll(this.current.duplicateNotificationRate);
  }

  /** The report as the service sends it: the true lines, or the true lines with one seeded lie. */
  settlement(lines: SettledLine[]): SettledLine[] {
    if (this.current.settlementDrift === 'none' || lines.length === 0) return lines;
    const victim = this.random.int(0, lines.length - 1);
    if (this.current.settlementDrift === 'drop') return lines.filter((_, i) => i !== victim);
    return lines.map((line, i) => (i === victim ? { ...line, amountMinor: line.amountMinor + 100 } : line));
  }

  private roll(rate: number): boolean {
    // Always draw, so that changing one rate does not shift the stream the other faults see.
    const draw = this.random.next();
    return rate > 0 && draw < rate;
  }
}
