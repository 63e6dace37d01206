import { createHash, randomUUID } from 'node:crypto';
import { ValidationError } from '@bitv/shared';
import type { Database } from '@bitv/shared/db';
import { type Client, type EvaluationContext, InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { sql } from 'kysely';
import { z } from 'zod';

/** The flag that routes each new payment to a provider. */
export const providerFlag = 'payments.provider';

/**
 * The routing rules an admin edits: a merchant (site) listed in `merchants` goes to its provider;
 * otherwise `percentage.percent` % of payments (by a stable hash of the payment id, so a payment
 * asked twice lands on the same side) go to `percentage.provider`; the rest to `defaultProvider`.
 */
export const providerRules = z
  .object({
    defaultProvider: z.string().min(1).max(64),
    merchants: z.record(z.string().min(1).max(128), z.string().min(1).max(64)).default({}),
    percentage: z
      .object({ provider: z.string().min(1).max(64), percent: z.number().int().min(0).max(100) })
      .nullable()
      .default(null),
  })
  .strict();
export type ProviderRules = z.infer<typeof providerRules>;

/** The bucket (0..99) of a payment id: the same id always falls in the same one. */
export function percentBucket(paymentId: string): number {
  return createHash('sha256').update(paymentId).digest().readUInt32BE(0) % 100;
}

export function route(rules: ProviderRules, context: { merchantId?: string; paymentId?: string }): string {
  const byMerchant = context.merchantId ? rules.merchants[context.merchantId] : undefined;
  if (byMerchant) return byMerchant;
  if (rules.percentage && context.paymentId && percentBucket(context.paymentId) < rules.percentage.percent) {
    return rules.percentage.provider;
  }
  return rules.defaultProvider;
}

/**
 * The provider toggle through OpenFeature: an in-process InMemoryProvider (the SDK's own) whose
 * flag evaluates `route` on the payment's context. The rules live in `payment_flags`, so a restart
 * keeps what an admin set; every process reloads them on a timer (`refresh`), so a change made on
 * one instance reaches the others. Each instance has its own OpenFeature domain (several clouds in
 * one test process must not share a flag).
 */
export class PaymentFlags {
  private readonly domain = `bv-payments-${randomUUID()}`;
  private readonly provider = new InMemoryProvider({});
  private client: Client | undefined;
  private current: ProviderRules;
  private updatedBy = 'defaults';
  private updatedAt: string | undefined;

  constructor(
    private readonly database: Database,
    private readonly known: readonly string[],
    defaults: ProviderRules,
  ) {
    this.current = defaults;
  }

  async start(): Promise<void> {
    await OpenFeature.setProviderAndWait(this.domain, this.provider);
    this.client = OpenFeature.getClient(this.domain);
    await this.refresh();
  }

  /** The rules as stored (or the defaults when no admin has set any), put into the provider. */
  async refresh(): Promise<void> {
    const { rows } = await sql<{ config: unknown; updated_by: string; updated_at: Date | string }>`
      SELECT config, updated_by, updated_at FROM payment_flags WHERE key = ${providerFlag}`.execute(
      this.database.kysely,
    );
    const row = rows[0];
    if (row) {
      const raw = typeof row.config === 'string' ? JSON.parse(row.config) : row.config;
      const parsed = providerRules.safeParse(raw);
      if (parsed.success) {
        this.current = parsed.data;
        this.updatedBy = row.updated_by;
        this.updatedAt = new Date(row.updated_at).toISOString();
      }
    }
    this.apply();
  }

  rules(): { rules: ProviderRules; updatedBy: string; updatedAt?: string; providers: readonly string[] } {
    return {
      rules: this.current,
      updatedBy: this.updatedBy,
      ...(this.updatedAt ? { updatedAt: this.updatedAt } : {}),
      providers: this.known,
    };
  }

  /** An admin's change: checked against the known providers, stored, then used at once. */
  async set(input: unknown, by: string): Promise<ProviderRules> {
    const parsed = providerRules.safeParse(input);
    if (!parsed.success) {
      throw new ValidationError(
        `invalid ${providerFlag} rules: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    const rules = parsed.data;
    const named = [
      rules.defaultProvider,
      ...Object.values(rules.merchants),
      ...(rules.percentage ? [rules.percentage.provider] : []),
    ];
    const unknown = named.filter((n) => !this.known.includes(n));
    if (unknown.length > 0) {
      throw new ValidationError(`unknown provider ${unknown.join(', ')} (known: ${this.known.join(', ')})`);
    }
    await sql`INSERT INTO payment_flags (key, config, updated_by, updated_at)
      VALUES (${providerFlag}, ${JSON.stringify(rules)}::jsonb, ${by}, now())
      ON CONFLICT (key) DO UPDATE SET config = EXCLUDED.config, updated_by = EXCLUDED.updated_by, updated_at = now()`.execute(
      this.database.kysely,
    );
    await this.refresh();
    return rules;
  }

  /** The provider for a new payment, evaluated through the OpenFeature client. */
  async providerFor(context: { paymentId: string; merchantId: string; customerId: string }): Promise<string> {
    if (!this.client) throw new Error('PaymentFlags.start() was not called');
    const evaluation: EvaluationContext = { targetingKey: context.paymentId, ...context };
    return this.client.getStringValue(providerFlag, this.current.defaultProvider, evaluation);
  }

  async close(): Promise<void> {
    // The InMemoryProvider holds nothing to release; the domain is this instance's alone, so
    // other clouds in the same process keep their flags.
    this.client = undefined;
  }

  private apply(): void {
    const rules = this.current;
    const variants = Object.fromEntries(this.known.map((n) => [n, n]));
    this.provider.putConfiguration({
      [providerFlag]: {
        variants,
        defaultVariant: this.known.includes(rules.defaultProvider)
          ? rules.defaultProvider
          : (this.known[0] ?? ''),
        disabled: false,
        contextEvaluator: (ctx: EvaluationContext) =>
          route(rules, {
            merchantId: typeof ctx.merchantId === 'string' ? ctx.merchantId : undefined,
            paymentId: ctx.targetingKey,
          }),
      },
    });
  }
}
