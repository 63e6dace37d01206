import { join } from 'node:path';
import type { Logger } from '@bitv/shared/log';
import type { Registry } from '@bitv/shared/metrics';
import { startBank } from '../bank/index.js';
import { noFaults } from '../payments-ledger/index.js';
import { startRestPay } from '../rest-pay/index.js';
import type { PlatformConfig } from './config.js';

/**
 * The embedded payment providers of `npm start`: the legacy SOAP bank and rest-pay, each with its
 * SQLite ledger in the run folder, no faults (change them at `<url>/admin/faults`), and the cloud's
 * defaults for the shared secrets. Their notifications go to the cloud's payments endpoint once the
 * cloud is up (`notifyCloudAt`).
 */
export async function startPaymentProviders(
  config: PlatformConfig,
  runDir: string,
  deps: { logger: Logger; registry: Registry },
) {
  const common = {
    host: config.host,
    callbackUrl: undefined,
    seed: config.seed,
    faults: noFaults,
    registry: deps.registry,
  };
  const bank =
    config.bankPort < 0
      ? undefined
      : await startBank({
          ...common,
          port: config.bankPort,
          dbPath: join(runDir, 'bank.sqlite'),
          secret: config.bankSecret,
          log: deps.logger.child({ component: 'bank' }),
        });
  const restPay =
    config.restPayPort < 0
      ? undefined
      : await startRestPay({
          ...common,
          port: config.restPayPort,
          dbPath: join(runDir, 'rest-pay.sqlite'),
          secret: config.restPaySecret,
          log: deps.logger.child({ component: 'rest-pay' }),
        }).catch(async (error: unknown) => {
          await bank?.close();
          throw error;
        });
  return {
    bankUrl: bank?.url,
    restPayUrl: restPay?.url,
    /** The cloud's payments settings for these two (what BV_BANK_URL / BV_REST_PAY_URL say to a cloud elsewhere). */
    cloudSettings: {
      ...(bank ? { bankUrl: bank.url, bankSecret: config.bankSecret } : {}),
      ...(restPay ? { restPayUrl: restPay.url, restPaySecret: config.restPaySecret } : {}),
    },
    notifyCloudAt(cloudUrl: string) {
      bank?.setCallbackUrl(`${cloudUrl}/api/v1/payments/notifications/soap-bank`);
      restPay?.setCallbackUrl(`${cloudUrl}/api/v1/payments/notifications/rest-pay`);
    },
    async close() {
      await restPay?.close();
      await bank?.close();
    },
  };
}
