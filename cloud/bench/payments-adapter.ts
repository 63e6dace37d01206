/**
 * Payment authorization through the SOAP adapter (anti-corruption layer: argument mapping, the
 * dependency policy with timeout, breaker and bulkhead, zod over the answer, code mapping) against
 * a bare `soap` client call of the same operation to the same bank, in the same run.
 *
 * The legacy bank runs in this process on port 0 with an in-memory ledger and no faults. Calls are
 * sequential and interleaved (adapter, bare, adapter, ...) so that load on the shared machine
 * falls on both alike; warm-up calls are not counted. Prints the overhead in ms at p50 and p99.
 */

import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startBank } from '@bitv/infra/bank';
import { machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { createRegistry } from '@bitv/shared/metrics';
import * as soap from 'soap';
import { createSoapBankProvider } from '../src/payments/providers/soap/index.js';

const calls = Math.min(20_000, Number(process.env.BENCH_CALLS ?? 2000));
const warmup = 200;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const ms = (n: number) => n.toFixed(3);

async function main() {
  const bank = await startBank({
    host: '127.0.0.1',
    port: 0,
    dbPath: undefined,
    callbackUrl: undefined,
    secret: 'bench',
    seed: 1,
  });
  const provider = await createSoapBankProvider({
    url: bank.url,
    secret: 'bench',
    timeoutMs: 5000,
    registry: createRegistry(),
  });
  const wsdl = fileURLToPath(new URL('../src/payments/providers/soap/bank.wsdl', import.meta.url));
  const bare = await soap.createClientAsync(wsdl, {}, bank.url);
  const authorizeBare = bare['AuthorizeAsync'] as (args: unknown) => Promise<[{ ResponseCode: string }]>;

  const viaAdapter = async () => {
    const outcome = await provider.authorize({
      idempotencyKey: randomUUID(),
      paymentId: randomUUID(),
      merchantId: 'merchant-1',
      customerId: 'customer-1',
      money: { amountMinor: 1000, currency: 'EUR' },
      reference: 'order-1',
    });
    if (outcome.outcome !== 'approved') throw new Error('bench authorization declined');
  };
  const viaBare = async () => {
    const [answer] = await authorizeBare({
      RequestKey: randomUUID(),
      MerchantId: 'merchant-1',
      CustomerId: 'customer-1',
      PaymentId: randomUUID(),
      Amount: 1000,
      Currency: 'EUR',
      Reference: 'order-1',
    });
    if (answer.ResponseCode !== '00') throw new Error('bench authorization declined');
  };

  for (let i = 0; i < warmup; i++) {
    await viaAdapter();
    await viaBare();
  }
  const adapter: number[] = [];
  const plain: number[] = [];
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    // Alternate which goes first, so neither always follows the other's garbage.
    const order = i % 2 === 0 ? ([viaAdapter, viaBare] as const) : ([viaBare, viaAdapter] as const);
    for (const fn of order) {
      const t0 = performance.now();
      await fn();
      (fn === viaAdapter ? adapter : plain).push(performance.now() - t0);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  await provider.close();
  await bank.close();

  adapter.sort((a, b) => a - b);
  plain.sort((a, b) => a - b);
  const row = (name: string, xs: number[]) => [
    name,
    xs.length,
    ms(percentile(xs, 50)),
    ms(percentile(xs, 90)),
    ms(percentile(xs, 99)),
  ];
  const overhead50 = percentile(adapter, 50) - percentile(plain, 50);
  const overhead99 = percentile(adapter, 99) - percentile(plain, 99);
  const ratio50 = percentile(adapter, 50) / percentile(plain, 50);
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');

  const markdown = [
    '## cloud: payment authorization through the SOAP adapter vs a bare SOAP call',
    '',
    `${machineLine()}. The legacy bank (\`infra/src/bank\`, the \`soap\` package, in-memory SQLite ledger, no faults) in the same process on loopback; ${calls} authorizations each way after ${warmup} warm-up calls each, sequential and interleaved. Bare: \`soap\` 1.13 client \`AuthorizeAsync\` from the same WSDL. Adapter: \`SoapBankProvider.authorize\` (mapping, dependency policy with timeout + breaker + bulkhead, zod over the answer, response-code mapping). Run: \`node --import tsx cloud/bench/payments-adapter.ts\` (BENCH_CALLS). Load average of the shared machine during the run: ${load}.`,
    '',
    table(
      ['path', 'calls', 'p50 ms', 'p90 ms', 'p99 ms'],
      [row('bare soap client', plain), row('through the adapter', adapter)],
    ),
    '',
    `Overhead of the adapter: **${ms(overhead50)} ms at p50** (${ratio50.toFixed(2)}x the bare call), **${ms(overhead99)} ms at p99**. Both paths include the bank's own work (SOAP parse, SQLite transaction, SOAP answer), which dominates; the run took ${seconds.toFixed(1)} s.`,
  ].join('\n');
  process.stdout.write(`${markdown}\n`);
  await writeBenchSection('payments-adapter', markdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`payments-adapter bench failed: ${String(error)}\n`);
  process.exit(1);
});
