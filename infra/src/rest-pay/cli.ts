import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { runCli } from '@bitv/shared/cli';
import pkg from '../../package.json' with { type: 'json' };
import { runPaymentService } from '../payments-ledger/cli.js';
import { startRestPay } from './server.js';

const usage = `bitv-rest-pay: the modern payment service, JSON over HTTP, for BitVelocity

Usage: npm run rest-pay -w infra -- [options]

Options (each overrides the environment variable of the same name below):
  --host <addr>                      address to listen on
  --port <n>                         port (0 = any)
  --data-dir <path>                  keep the ledger in <path>/rest-pay.sqlite
  --memory                           keep the ledger in memory (ignores --data-dir)
  --callback-url <url>               POST signed webhooks here (JSON; header RestPay-Signature:
                                     t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">)
  --secret <s>                       the shared HMAC secret
  --seed <n>                         seed of the fault dice
  --latency-ms <n>                   latency added to every call
  --fault-rate <r>                   share of calls answered 503
  --timeout-after-commit-rate <r>    share of calls that commit and then never answer
  --after-commit close|hang          such calls close the connection, or hang until the client gives up
  --duplicate-rate <r>               share of webhooks sent twice
  --notification-delay-ms <n>        late webhooks
  --settlement-drift none|drop|alter the settlement report disagrees with the day
  --fault-operations <list>          operations the fault rate and timeout after commit apply to
                                     (default authorize,capture,void,refund)
  --log-level <level>                log level
  -h, --help                         this text
  --version                          the version

API: POST /v1/authorizations, POST /v1/authorizations/:id/{captures,refunds,void} (header
Idempotency-Key), GET /v1/operations/:key, GET /v1/settlements/:day. Test amounts as the bank's:
minor amount ending in 51, 05, 59 is declined. Also GET /healthz, /metrics, GET|PUT /admin/faults.
`;

runCli({ name: 'bitv-rest-pay', version: pkg.version }, (argv) =>
  runPaymentService(
    argv,
    { prefix: 'BV_REST_PAY', defaultPort: 8092, usage, component: 'rest-pay', file: 'rest-pay.sqlite' },
    async (options) => {
      if (options.dbPath) mkdirSync(dirname(options.dbPath), { recursive: true });
      return startRestPay(options);
    },
  ),
);
