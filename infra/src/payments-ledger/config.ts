import { setting } from '@bitv/shared/config';
import type { FaultSettings } from './faults.js';

/**
 * The settings both payment services read at start (env `<prefix>_*`, each overridable by the flag
 * beside it). The fault settings start the service misbehaving; `PUT /admin/faults` changes them later.
 */
export function paymentServiceConfig(prefix: 'BV_BANK' | 'BV_REST_PAY', defaultPort: number) {
  return {
    host: setting.string(`${prefix}_HOST`, { default: '127.0.0.1', description: 'address to listen on' }),
    port: setting.int(`${prefix}_PORT`, {
      default: String(defaultPort),
      min: 0,
      max: 65535,
      description: 'port (0 picks a free one)',
    }),
    dataDir: setting.optionalString(`${prefix}_DATA_DIR`, {
      description: 'folder of the SQLite ledger; unset (or --memory) keeps it in memory',
    }),
    callbackUrl: setting.optionalUrl(`${prefix}_CALLBACK_URL`, {
      description: 'where signed notifications are POSTed; unset sends none',
    }),
    secret: setting.string(`${prefix}_SECRET`, {
      // The cloud's defaults for BV_BANK_SECRET / BV_REST_PAY_SECRET, so the two agree out of the box.
      default: prefix === 'BV_BANK' ? 'bank-secret' : 'rest-pay-secret',
      secret: true,
      description: 'HMAC-SHA256 secret shared with the merchant (notifications are signed with it)',
    }),
    seed: setting.int(`${prefix}_SEED`, { default: '1', description: 'seed of the fault dice' }),
    latencyMs: setting.int(`${prefix}_LATENCY_MS`, {
      default: '0',
      min: 0,
      max: 120_000,
      description: 'latency added to every call',
    }),
    faultRate: setting.number(`${prefix}_FAULT_RATE`, {
      default: '0',
      description: 'share of calls refused with a server fault (0..1)',
    }),
    timeoutAfterCommitRate: setting.number(`${prefix}_TIMEOUT_AFTER_COMMIT_RATE`, {
      default: '0',
      description: 'share of calls that commit and then never answer (0..1)',
    }),
    afterCommit: setting.enum(`${prefix}_AFTER_COMMIT`, ['close', 'hang'], {
      default: 'close',
      description: 'how such a call ends: the connection closed, or held until the client gives up',
    }),
    duplicateNotificationRate: setting.number(`${prefix}_DUPLICATE_RATE`, {
      default: '0',
      description: 'share of notifications sent twice (0..1)',
    }),
    notificationDelayMs: setting.int(`${prefix}_NOTIFICATION_DELAY_MS`, {
      default: '0',
      min: 0,
      max: 3_600_000,
      description: 'delay before each notification is sent',
    }),
    settlementDrift: setting.enum(`${prefix}_SETTLEMENT_DRIFT`, ['none', 'drop', 'alter'], {
      default: 'none',
      description: 'settlement report disagrees with the day: one line dropped or one amount altered',
    }),
    operations: setting.list(`${prefix}_FAULT_OPERATIONS`, {
      default: 'authorize,capture,void,refund',
      description: 'operations the fault rate and the timeout after commit apply to',
    }),
    logLevel: setting.logLevel(),
  };
}

/** Flags and the variable each sets (`--memory` is handled by the CLI: it unsets the data dir). */
export function paymentServiceFlags(prefix: 'BV_BANK' | 'BV_REST_PAY'): Record<string, string> {
  return {
    host: `${prefix}_HOST`,
    port: `${prefix}_PORT`,
    'data-dir': `${prefix}_DATA_DIR`,
    'callback-url': `${prefix}_CALLBACK_URL`,
    secret: `${prefix}_SECRET`,
    seed: `${prefix}_SEED`,
    'latency-ms': `${prefix}_LATENCY_MS`,
    'fault-rate': `${prefix}_FAULT_RATE`,
    'timeout-after-commit-rate': `${prefix}_TIMEOUT_AFTER_COMMIT_RATE`,
    'after-commit': `${prefix}_AFTER_COMMIT`,
    'duplicate-rate': `${prefix}_DUPLICATE_RATE`,
    'notification-delay-ms': `${prefix}_NOTIFICATION_DELAY_MS`,
    'settlement-drift': `${prefix}_SETTLEMENT_DRIFT`,
    'fault-operations': `${prefix}_FAULT_OPERATIONS`,
    'log-level': 'BV_LOG_LEVEL',
  };
}

export function faultsOf(config: {
  latencyMs: number;
  faultRate: number;
  timeoutAfterCommitRate: number;
  afterCommit: 'close' | 'hang';
  duplicateNotificationRate: number;
  notificationDelayMs: number;
  settlementDrift: 'none' | 'drop' | 'alter';
  operations: string[];
}): Record<keyof FaultSettings, unknown> {
  return {
    latencyMs: config.latencyMs,
    faultRate: config.faultRate,
    timeoutAfterCommitRate: config.timeoutAfterCommitRate,
    afterCommit: config.afterCommit,
    duplicateNotificationRate: config.duplicateNotificationRate,
    notificationDelayMs: config.notificationDelayMs,
    settlementDrift: config.settlementDrift,
    operations: config.operations,
  };
}
