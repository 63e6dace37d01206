import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { counter } from '@bitv/shared/metrics';
import * as soap from 'soap';
import { z } from 'zod';
import {
  BodyTooLarge,
  type FaultInjector,
  type LedgerRequest,
  type LedgerResult,
  PaymentDesk,
  type PaymentServiceOptions,
  sendJson,
  serveOps,
} from '../payments-ledger/index.js';
import { approvedCode, declineCodes, faultTexts, txnTypes } from './codes.js';

/** The bank's WSDL, served at `<url>?wsdl`. */
export const bankWsdl = readFileSync(new URL('./bank.wsdl', import.meta.url), 'utf8');
export const bankPath = '/bank';

export type BankOptions = PaymentServiceOptions;

export interface RunningBank {
  /** The SOAP endpoint (`BV_BANK_URL`); the WSDL is at `${url}?wsdl`. */
  url: string;
  /** The service root, for `/healthz`, `/metrics`, `/admin/faults`. */
  baseUrl: string;
  faults: FaultInjector;
  /** Where signed notifications go from now on (undefined: none are sent). */
  setCallbackUrl(url: string | undefined): void;
  close(): Promise<void>;
}

type SoapFault = { Fault: { faultcode: string; faultstring: string; statusCode: number } };

function fault(side: 'Client' | 'Server', text: string): SoapFault {
  return { Fault: { faultcode: `soap:${side}`, faultstring: text, statusCode: 500 } };
}

// What the SOAP layer hands us is parsed XML: values may be strings; coerce, then check.
const text = z.string().trim().min(1).max(128);
const amount = z.coerce.number().int().safe();
const currency = z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code');
const authorizeArgs = z.object({
  RequestKey: text,
  MerchantId: text,
  CustomerId: text,
  PaymentId: text,
  Amount: amount,
  Currency: currency,
  Reference: z.string().max(128),
});
const followUpArgs = z.object({
  RequestKey: text,
  TransactionRef: text,
  PaymentId: text,
  Amount: amount,
  Currency: currency,
});
const voidArgs = z.object({ RequestKey: text, TransactionRef: text, PaymentId: text });
const statusArgs = z.object({ RequestKey: text });
// xs:date arrives as a Date (the soap package parses it) or, from a lax client, as text.
const businessDate = z
  .union([z.date().transform((d) => d.toISOString().slice(0, 10)), z.string()])
  .pipe(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD'));
const reportArgs = z.object({ BusinessDate: businessDate });

function parseArgs<T>(schema: z.ZodType<T>, args: unknown): T {
  const parsed = schema.safeParse(args);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw fault('Client', `${faultTexts.format}: ${why}`);
  }
  return parsed.data;
}

function transactionResult(result: LedgerResult) {
  const words = result.approved ? approvedCode : declineCodes[result.decline];
  return {
    ResponseCode: words.code,
    ResponseText: result.approved ? words.text : `${words.text}: ${result.reason}`,
    TxnType: txnTypes[result.operation],
    ...(result.ref ? { TransactionRef: result.ref } : {}),
    ProcessedAt: result.at,
  };
}

export async function startBank(options: BankOptions): Promise<RunningBank> {
  const desk = new PaymentDesk('bank', options, {
    refPrefix: 'TX',
    // Legacy flavour: the bank posts form fields, not JSON.
    encode: (n) => ({
      contentType: 'application/x-www-form-urlencoded',
      body: new URLSearchParams({
        NotificationId: n.notificationId,
        PaymentId: n.paymentId,
        TransactionRef: n.ref,
        TxnType: txnTypes[n.operation],
        ResponseCode: n.code,
        ProcessedAt: n.at,
      }).toString(),
    }),
    sign: (timestamp, signature) => ({
      'x-bank-timestamp': String(timestamp),
      'x-bank-signature': signature,
    }),
  });
  const { log, registry, faults, ledger, maxBody } = desk;
  const requests = counter(registry, 'bv_bank_requests_total', 'SOAP operations answered, by response code', [
    'operation',
    'code',
  ]);
  const refused = counter(
    registry,
    'bv_bank_requests_refused_total',
    'requests refused before the SOAP layer',
    ['reason'],
  );
  const words = {
    unavailable: () => fault('Server', `${faultTexts.inoperative}: try again later`),
    conflict: (message: string) => fault('Client', `${faultTexts.duplicate}: ${message}`),
    code: (result: LedgerResult) => transactionResult(result).ResponseCode,
  };

  /** One money-moving operation; when the bank "times out after committing" it never answers. */
  async function move(name: string, key: string, request: LedgerRequest, res: ServerResponse) {
    const result = await desk.move(key, request, res, words);
    if (!result) {
      requests.inc({ operation: name, code: 'no-answer' });
      return new Promise<never>(() => {});
    }
    const answer = transactionResult(result);
    requests.inc({ operation: name, code: answer.ResponseCode });
    return answer;
  }

  const port = {
    Authorize: (args: unknown, _cb: unknown, _h: unknown, _req: IncomingMessage, res: ServerResponse) => {
      const a = parseArgs(authorizeArgs, args);
      return move(
        'Authorize',
        a.RequestKey,
        {
          operation: 'authorize',
          paymentId: a.PaymentId,
          merchantId: a.MerchantId,
          customerId: a.CustomerId,
          amountMinor: a.Amount,
          currency: a.Currency,
          reference: a.Reference,
        },
        res,
      );
    },
    Capture: (args: unknown, _cb: unknown, _h: unknown, _req: IncomingMessage, res: ServerResponse) => {
      const a = parseArgs(followUpArgs, args);
      const request = {
        paymentId: a.PaymentId,
        ref: a.TransactionRef,
        amountMinor: a.Amount,
        currency: a.Currency,
      };
      return move('Capture', a.RequestKey, { operation: 'capture', ...request }, res);
    },
    Refund: (args: unknown, _cb: unknown, _h: unknown, _req: IncomingMessage, res: ServerResponse) => {
      const a = parseArgs(followUpArgs, args);
      const request = {
        paymentId: a.PaymentId,
        ref: a.TransactionRef,
        amountMinor: a.Amount,
        currency: a.Currency,
      };
      return move('Refund', a.RequestKey, { operation: 'refund', ...request }, res);
    },
    Void: (args: unknown, _cb: unknown, _h: unknown, _req: IncomingMessage, res: ServerResponse) => {
      const a = parseArgs(voidArgs, args);
      return move(
        'Void',
        a.RequestKey,
        { operation: 'void', paymentId: a.PaymentId, ref: a.TransactionRef },
        res,
      );
    },
    GetStatus: async (args: unknown) => {
      const a = parseArgs(statusArgs, args);
      await faults.delay();
      const result = ledger.status(a.RequestKey);
      requests.inc({ operation: 'GetStatus', code: result ? 'found' : 'not-found' });
      return result ? { Found: true, Result: transactionResult(result) } : { Found: false };
    },
    GetSettlementReport: async (args: unknown) => {
      const a = parseArgs(reportArgs, args);
      await faults.delay();
      const lines = faults.settlement(ledger.settlement(a.BusinessDate));
      requests.inc({ operation: 'GetSettlementReport', code: '00' });
      return {
        BusinessDate: a.BusinessDate,
        LineCount: lines.length,
        Line: lines.map((l) => ({
          PaymentId: l.paymentId,
          TransactionRef: l.ref,
          TxnType: txnTypes[l.operation],
          Amount: l.amountMinor,
          Currency: l.currency,
          SettledAt: l.settledAt,
        })),
      };
    },
  };

  const server: Server = createServer();
  // The soap package parses the WSDL and then takes over the server's request listener.
  await new Promise<void>((resolve, reject) => {
    soap.listen(server, {
      path: bankPath,
      services: { CardGatewayService: { CardGatewayPort: port } },
      xml: bankWsdl,
      suppressStack: true,
      callback: (error: unknown) => (error ? reject(error) : resolve()),
    });
  });
  // Put the size guard and the ops routes in front of it.
  const soapListener = server.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    serveOps(req, res, { service: 'bank', registry, faults })
      .then((served) => {
        if (served) return;
        const declared = Number(req.headers['content-length'] ?? 0);
        if (declared > maxBody || (req.method === 'POST' && req.headers['content-length'] === undefined)) {
          refused.inc({ reason: declared > maxBody ? 'too-large' : 'no-length' });
          res.writeHead(declared > maxBody ? 413 : 411, { connection: 'close' });
          res.end(declared > maxBody ? new BodyTooLarge(maxBody).message : 'content-length required');
          return;
        }
        soapListener(req, res);
      })
      .catch((error: unknown) => {
        log.error({ err: error }, 'bank request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
      });
  });
  const baseUrl = await desk.listen(server, options.host, options.port);
  log.info({ url: `${baseUrl}${bankPath}`, callbackUrl: options.callbackUrl }, 'legacy bank listening');
  return {
    url: `${baseUrl}${bankPath}`,
    baseUrl,
    faults,
    setCallbackUrl: (url) => desk.notifier.setCallbackUrl(url),
    close: () => desk.close(server),
  };
}
