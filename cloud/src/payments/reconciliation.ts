import type { Database } from '@bitv/shared/db';
import type { Logger } from '@bitv/shared/log';
import { counter, type Registry } from '@bitv/shared/metrics';
import { sql } from 'kysely';
import type { PaymentProvider, SettlementLine } from './provider.js';

export type FindingKind = 'missing' | 'unexpected' | 'amount';

/** One disagreement between what we recorded and what the provider settled on a day. */
export interface Finding {
  day: string;
  provider: string;
  paymentId: string;
  operation: 'capture' | 'refund';
  kind: FindingKind;
  expectedMinor: number | null;
  settledMinor: number | null;
  detail: string;
}

export interface ReconciliationResult {
  day: string;
  provider: string;
  lines: number;
  matched: number;
  findings: Finding[];
}

export interface RunSummary {
  day: string;
  provider: string;
  lines: number;
  matched: number;
  findings: number;
}

/** `YYYY-MM-DD`, a real date. */
export function isDay(day: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return false;
  // An impossible date (2026-13-40) is an Invalid Date, whose toISOString throws.
  const date = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(day);
}

/**
 * Matches every capture and refund we recorded on a UTC day (`payment_movements`) against each
 * provider's settlement report, per payment and operation (partial amounts summed): ours but not
 * settled is `missing`, settled but not ours `unexpected`, both with other sums `amount`. Each
 * finding is stored (shown on the payments page, listed by the API), logged as a warning and
 * counted in `bv_payments_reconciliation_findings_total`. Running a day again replaces its findings.
 */
export class Reconciliation {
  private readonly findings;
  private readonly runs;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    metrics: Registry,
  ) {
    this.findings = counter(
      metrics,
      'bv_payments_reconciliation_findings_total',
      'Reconciliation mismatches found, by provider and kind',
      ['provider', 'kind'],
    );
    this.runs = counter(
      metrics,
      'bv_payments_reconciliations_total',
      'Reconciliation runs, by provider and result',
      ['provider', 'result'],
    );
  }

  async run(day: string, providers: readonly PaymentProvider[]): Promise<ReconciliationResult[]> {
    const results: ReconciliationResult[] = [];
    for (const provider of providers) {
      try {
        const report = await provider.settlement(day);
        results.push(await this.match(day, provider.name, report));
        this.runs.inc({ provider: provider.name, result: 'done' });
      } catch (error) {
        this.runs.inc({ provider: provider.name, result: 'error' });
        throw error;
      }
    }
    return results;
  }

  async match(
    day: string,
    provider: string,
    report: readonly SettlementLine[],
  ): Promise<ReconciliationResult> {
    const { rows } = await sql<{
      payment_id: string;
      operation: 'capture' | 'refund';
      total: string | number;
    }>`
      SELECT payment_id, operation, sum(amount_minor) AS total FROM payment_movements
      WHERE day = ${day} AND provider = ${provider} GROUP BY payment_id, operation`.execute(
      this.database.kysely,
    );
    const ours = new Map(rows.map((r) => [`${r.payment_id}|${r.operation}`, Number(r.total)]));
    const theirs = new Map<string, number>();
    for (const l of report) {
      const k = `${l.paymentId}|${l.operation}`;
      theirs.set(k, (theirs.get(k) ?? 0) + l.money.amountMinor);
    }
    const findings: Finding[] = [];
    let matched = 0;
    for (const [k, expected] of ours) {
      const [paymentId, operation] = k.split('|') as [string, 'capture' | 'refund'];
      const settled = theirs.get(k);
      const base = { day, provider, paymentId, operation };
      if (settled === undefined) {
        findings.push({
          ...base,
          kind: 'missing',
          expectedMinor: expected,
          settledMinor: null,
          detail: `we recorded a ${operation} of ${expected}; the report has none`,
        });
      } else if (settled !== expected) {
        findings.push({
          ...base,
          kind: 'amount',
          expectedMinor: expected,
          settledMinor: settled,
          detail: `we recorded ${expected}; the report settled ${settled}`,
        });
      } else matched += 1;
    }
    for (const [k, settled] of theirs) {
      if (ours.has(k)) continue;
      const [paymentId, operation] = k.split('|') as [string, 'capture' | 'refund'];
      findings.push({
        day,
        provider,
        paymentId,
        operation,
        kind: 'unexpected',
        expectedMinor: null,
        settledMinor: settled,
        detail: `the report settled a ${operation} of ${settled} we have no record of`,
      });
    }
    await this.database.kysely.transaction().execute(async (trx) => {
      await sql`DELETE FROM payment_findings WHERE day = ${day} AND provider = ${provider}`.execute(trx);
      for (const f of findings) {
        await sql`INSERT INTO payment_findings (day, provider, payment_id, operation, kind, expected_minor, settled_minor, detail)
          VALUES (${f.day}, ${f.provider}, ${f.paymentId}, ${f.operation}, ${f.kind}, ${f.expectedMinor}, ${f.settledMinor}, ${f.detail})`.execute(
          trx,
        );
      }
      await sql`INSERT INTO payment_reconciliations (day, provider, lines, matched, findings, ran_at)
        VALUES (${day}, ${provider}, ${report.length}, ${matched}, ${findings.length}, now())
        ON CONFLICT (day, provider) DO UPDATE SET lines = EXCLUDED.lines, matched = EXCLUDED.matched,
          findings = EXCLUDED.findings, ran_at = now()`.execute(trx);
    });
    for (const f of findings) {
      this.findings.inc({ provider, kind: f.kind });
      this.logger.warn({ finding: f }, 'reconciliation mismatch');
    }
    return { day, provider, lines: report.length, matched, findings };
  }

  async list(limit = 200): Promise<{ runs: RunSummary[]; findings: Finding[] }> {
    const runs = await sql<{
      day: string;
      provider: string;
      lines: number;
      matched: number;
      findings: number;
    }>`
      SELECT day, provider, lines, matched, findings FROM payment_reconciliations ORDER BY day DESC, provider LIMIT 30`.execute(
      this.database.kysely,
    );
    const found = await sql<{
      day: string;
      provider: string;
      payment_id: string;
      operation: 'capture' | 'refund';
      kind: FindingKind;
      expected_minor: string | number | null;
      settled_minor: string | number | null;
      detail: string;
    }>`SELECT * FROM payment_findings ORDER BY day DESC, provider, payment_id LIMIT ${limit}`.execute(
      this.database.kysely,
    );
    return {
      runs: runs.rows.map((r) => ({
        ...r,
        lines: Number(r.lines),
        matched: Number(r.matched),
        findings: Number(r.findings),
      })),
      findings: found.rows.map((r) => ({
        day: r.day,
        provider: r.provider,
        paymentId: r.payment_id,
        operation: r.operation,
        kind: r.kind,
        expectedMinor: r.expected_minor === null ? null : Number(r.expected_minor),
        settledMinor: r.settled_minor === null ? null : Number(r.settled_minor),
        detail: r.detail,
      })),
    };
  }
}
