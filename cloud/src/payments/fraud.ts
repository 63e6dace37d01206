import type { Database } from '@bitv/shared/db';
import { sql } from 'kysely';

/** What a fraud check sees of a payment about to be authorized. */
export interface FraudInput {
  paymentId: string;
  merchantId: string;
  customerId: string;
  amountMinor: number;
  currency: string;
}

export type FraudVerdict = { allow: true } | { allow: false; rule: string; reason: string };

/**
 * The hook run before every authorization. The rules below are today's implementation; a trained
 * model is another implementation of the same interface (or runs after the rules in a chain).
 */
export interface FraudCheck {
  check(input: FraudInput): Promise<FraudVerdict>;
}

export interface FraudRules {
  /** Largest single payment, in minor units. */
  maxAmountMinor: number;
  /** Payments one customer may start within `velocityWindowSeconds` (the new one included). */
  velocityLimit: number;
  velocityWindowSeconds: number;
  blockedCustomers: readonly string[];
}

export const fraudRuleDefaults: FraudRules = {
  maxAmountMinor: 1_000_000,
  velocityLimit: 20,
  velocityWindowSeconds: 3600,
  blockedCustomers: [],
};

/** Amount limit, blocked customers, and velocity per customer counted in the payments table. */
export class RulesFraudCheck implements FraudCheck {
  private readonly rules: FraudRules;

  constructor(
    private readonly database: Database,
    rules: Partial<FraudRules> = {},
  ) {
    this.rules = { ...fraudRuleDefaults, ...rules };
  }

  async check(input: FraudInput): Promise<FraudVerdict> {
    if (this.rules.blockedCustomers.includes(input.customerId)) {
      return { allow: false, rule: 'blocked-customer', reason: `customer ${input.customerId} is blocked` };
    }
    if (input.amountMinor > this.rules.maxAmountMinor) {
      return {
        allow: false,
        rule: 'amount-limit',
        reason: `${input.amountMinor} exceeds the limit of ${this.rules.maxAmountMinor} per payment`,
      };
    }
    const { rows } = await sql<{ n: number | string }>`SELECT count(*) AS n FROM payments
      WHERE customer_id = ${input.customerId} AND payment_id <> ${input.paymentId}
        AND created_at > now() - ${this.rules.velocityWindowSeconds} * interval '1 second'`.execute(
      this.database.kysely,
    );
    const recent = Number(rows[0]?.n ?? 0);
    if (recent + 1 > this.rules.velocityLimit) {
      return {
        allow: false,
        rule: 'velocity',
        reason: `customer ${input.customerId} made ${recent} payments in ${this.rules.velocityWindowSeconds} s (limit ${this.rules.velocityLimit})`,
      };
    }
    return { allow: true };
  }
}
