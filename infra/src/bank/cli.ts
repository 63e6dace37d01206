import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { runCli } from '@bitv/shared/cli';
import pkg from '../../package.json' with { type: 'json' };
import { runPaymentService } from '../payments-ledger/cli.js';
import { startBank } from './server.js';

const usage = `bitv-bank: the legacy card bank, a SOAP 1.1 service (document/literal) for BitVelocity

Usage: npm run bank -w infra -- [options]

Options (each overrides the environment variable of the same name below):
  --host <addr>                      address to listen on
  --port <n>                         port (0 = any); SOAP endpoint /bank, WSDL /bank?wsdl
  --data-dir <path>                  keep the ledger in <path>/bank.sqlite
  --memory                           keep the ledger in memory (ignores --data-dir)
  --callback-url <url>               POST signed notifications here (form fields; headers
                                     X-Bank-Timestamp, X-Bank-Signature = hex HMAC-SHA256 of
                                     "<timestamp>.<body>")
  --secret <s>                       the shared HMAC secret
  --seed <n>                         seed of the fault dice
  --latency-ms <n>                   latency added to every call
  --fault-rate <r>                   share of calls answered with a soap:Server fault (91)
  --timeout-after-commit-rate <r>    share of calls that commit and then never answer
  --after-commit close|hang          such calls close the connection, or hang until the client gives up
  --duplicate-rate <r>               share of notifications sent twice
  --notification-delay-ms <n>        late notifications
  --settlement-drift none|drop|alter the settlement report disagrees with the day
  --fault-operations <list>          operations the fault rate and timeout after commit apply to
                                     (default authorize,capture,void,refund)
  --log-level <level>                log level
  -h, --help                         this text
  --version                          the version

Operations: Authorize, Capture, Void, Refund, GetStatus, GetSettlementReport (see bank.wsdl).
Test amounts: minor amount ending in 51 -> "51 INSUFFICIENT FUNDS", 05 -> "05 DO NOT HONOR",
59 -> "59 SUSPECTED FRAUD". Same RequestKey -> same answer; reused with other data -> fault 94.
Also: GET /healthz, GET /metrics, GET|PUT /admin/faults (JSON, partial changes).
`;

runCli({ name: 'bitv-bank', version: pkg.version }, (argv) =>
  runPaymentService(
    argv,
    { prefix: 'BV_BANK', defaultPort: 8091, usage, component: 'bank', file: 'bank.sqlite' },
    async (options) => {
      if (options.dbPath) mkdirSync(dirname(options.dbPath), { recursive: true });
      return startBank(options);
    },
  ),
);
