import { loadConfig, setting } from '@bitv/shared';

/** The payments module's settings (`BV_BANK_*`, `BV_REST_PAY_*`, `BV_PAYMENTS_*`; docs/payments.md). */
export interface PaymentSettings {
  /** The legacy SOAP bank's endpoint; unset: no `soap-bank` provider. */
  bankUrl?: string;
  bankSecret: string;
  /** rest-pay's base URL; unset: no `rest-pay` provider. */
  restPayUrl?: string;
  restPaySecret: string;
  /** Provider of new payments while no admin has set the toggle (`soap-bank` or `rest-pay`). */
  defaultProvider: string;
  /** Timeout of one provider call (the adapters' policy; ours is this plus a margin). */
  timeoutMs: number;
  /** Calls after the first one per operation before a checkout step gives up for now (it resumes). */
  retries: number;
  retryInitialDelayMs: number;
  /** A pending attempt untouched this long is resolved by the timer (status first). */
  staleAttemptMs: number;
  /** How often stored notifications are processed, pending attempts resolved and the toggle reloaded. */
  workEveryMs: number;
  /** How often yesterday (UTC) is reconciled against the providers' settlement reports. */
  reconcileEveryMs: number;
  maxAmountMinor: number;
  velocityLimit: number;
  velocityWindowSeconds: number;
  blockedCustomers: readonly string[];
}

export const paymentDefaults: PaymentSettings = {
  bankSecret: 'bank-secret',
  restPaySecret: 'rest-pay-secret',
  defaultProvider: 'soap-bank',
  timeoutMs: 5_000,
  retries: 4,
  retryInitialDelayMs: 200,
  staleAttemptMs: 30_000,
  workEveryMs: 1_000,
  reconcileEveryMs: 3_600_000,
  maxAmountMinor: 1_000_000,
  velocityLimit: 20,
  velocityWindowSeconds: 3_600,
  blockedCustomers: [],
};

export const paymentSettingsSpec = {
  bankUrl: setting.optionalUrl('BV_BANK_URL', {
    description:
      'the legacy SOAP bank endpoint (e.g. http://127.0.0.1:8091/bank); unset: no soap-bank provider',
  }),
  bankSecret: setting.string('BV_BANK_SECRET', {
    default: paymentDefaults.bankSecret,
    secret: true,
    description: 'HMAC secret the bank signs its notifications with',
  }),
  restPayUrl: setting.optionalUrl('BV_REST_PAY_URL', {
    description: 'rest-pay base URL (e.g. http://127.0.0.1:8092); unset: no rest-pay provider',
  }),
  restPaySecret: setting.string('BV_REST_PAY_SECRET', {
    default: paymentDefaults.restPaySecret,
    secret: true,
    description: 'HMAC secret rest-pay signs its webhooks with',
  }),
  defaultProvider: setting.enum('BV_PAYMENTS_DEFAULT_PROVIDER', ['soap-bank', 'rest-pay'], {
    default: paymentDefaults.defaultProvider,
    description: 'provider of new payments until an admin sets the payments.provider toggle',
  }),
  timeoutMs: setting.int('BV_PAYMENTS_TIMEOUT_MS', {
    default: String(paymentDefaults.timeoutMs),
    min: 10,
    description:
      'timeout of one provider call (a timed-out call is looked up by its idempotency key before a retry)',
  }),
  retries: setting.int('BV_PAYMENTS_RETRIES', {
    default: String(paymentDefaults.retries),
    min: 0,
    max: 20,
    description: 'retries of one provider operation (exponential backoff) before the step resumes later',
  }),
  retryInitialDelayMs: setting.int('BV_PAYMENTS_RETRY_DELAY_MS', {
    default: String(paymentDefaults.retryInitialDelayMs),
    min: 1,
    description: 'first retry delay (doubles each time, with jitter)',
  }),
  staleAttemptMs: setting.int('BV_PAYMENTS_STALE_ATTEMPT_MS', {
    default: String(paymentDefaults.staleAttemptMs),
    min: 100,
    description:
      'a provider call left pending this long (its process died) is resolved by the timer, status first',
  }),
  workEveryMs: setting.int('BV_PAYMENTS_WORK_EVERY_MS', {
    default: String(paymentDefaults.workEveryMs),
    min: 10,
    description: 'how often notifications are processed, pending calls resolved and the toggle reloaded',
  }),
  reconcileEveryMs: setting.int('BV_PAYMENTS_RECONCILE_EVERY_MS', {
    default: String(paymentDefaults.reconcileEveryMs),
    min: 1_000,
    description: 'how often yesterday (UTC) is reconciled against each provider’s settlement report',
  }),
  maxAmountMinor: setting.int('BV_PAYMENTS_MAX_AMOUNT_MINOR', {
    default: String(paymentDefaults.maxAmountMinor),
    min: 1,
    description: 'fraud rule: the largest payment (minor units); larger ones are declined fraud-suspected',
  }),
  velocityLimit: setting.int('BV_PAYMENTS_VELOCITY_LIMIT', {
    default: String(paymentDefaults.velocityLimit),
    min: 1,
    description: 'fraud rule: payments one customer may start within BV_PAYMENTS_VELOCITY_WINDOW_SECONDS',
  }),
  velocityWindowSeconds: setting.int('BV_PAYMENTS_VELOCITY_WINDOW_SECONDS', {
    default: String(paymentDefaults.velocityWindowSeconds),
    min: 1,
    description: 'fraud rule: the velocity window',
  }),
  blockedCustomers: setting.list('BV_PAYMENTS_BLOCKED_CUSTOMERS', {
    default: '',
    description: 'fraud rule: customer ids whose payments are declined (comma list)',
  }),
};

/** The payment settings as the environment gives them; `cli.ts` loads it once. */
export function paymentSettingsOf(env: NodeJS.ProcessEnv): PaymentSettings {
  return loadConfig(paymentSettingsSpec, env);
}
