import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { counter } from '@bitv/shared/metrics';
import { z } from 'zod';
import {
  BodyTooLarge,
  type FaultInjector,
  type LedgerDecline,
  type LedgerRequest,
  type LedgerResult,
  PaymentDesk,
  type PaymentServiceOptions,
  readBody,
  sendJson,
  serveOps,
} from '../payments-ledger/index.js';

/**
 * rest-pay: our modern payment service, JSON over HTTP (the strangler fig's new branch).
 *
 *   POST /v1/authorizations                       {paymentId, merchantId, customerId, amount, reference}
 *   POST /v1/authorizations/:id/captures          {paymentId, amount}
 *   POST /v1/authorizations/:id/refunds           {paymentId, amount}
 *   POST /v1/authorizations/:id/void              {paymentId}
 *   GET  /v1/operations/:idempotencyKey           what became of a request (404: never reached us)
 *   GET  /v1/settlements/:day                     captures and refunds of a UTC day
 *
 * Every POST needs an `Idempotency-Key` header (the same key answers the same result again; reused
 * with another body: 409). A decline is a 200 with `status: "declined"`; 4xx is our caller's
 * mistake, 503 our trouble. Webhooks: JSON, header `RestPay-Signature: t=<unix>,v1=<hex HMAC-SHA256
 * of "<t>.<body>">`.
 */

export type RestPayOptions = PaymentServiceOptions;

export interface RunningRestPay {
  url: string;
  faults: FaultInjector;
  /** Where signed notifications go from now on (undefined: none are sent). */
  setCallbackUrl(url: string | undefined): void;
  close(): Promise<void>;
}

export const restPayDeclineCodes: Record<LedgerDecline, string> = {
  'insufficient-funds': 'insufficient_funds',
  'do-not-honor': 'card_declined',
  'suspected-fraud': 'fraudulent',
  'invalid-amount': 'invalid_amount',
  'already-voided': 'authorization_voided',
  'already-captured': 'authorization_captured',
  'no-such-authorization': 'authorization_not_found',
  'exceeds-authorized': 'amount_too_large',
};

const money = z.object({
  value: z.number().int().safe(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code'),
});
const id = z.string().trim().min(1).max(128);
const authorizeBody = z
  .object({ paymentId: id, merchantId: id, customerId: id, amount: money, reference: z.string().max(128) })
  .strict();
const amountBody = z.object({ paymentId: id, amount: money }).strict();
const voidBody = z.object({ paymentId: id }).strict();
const idempotencyKey = z.string().trim().min(1).max(128);

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, text: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HttpProblem(400, 'invalid_json', 'body is not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new HttpProblem(400, 'invalid_request', why);
  }
  return parsed.data;
}

export function operationBody(result: LedgerResult) {
  return result.approved
    ? { status: 'approved', operation: result.operation, authorizationId: result.ref, processedAt: result.at }
    : {
        status: 'declined',
        operation: result.operation,
        authorizationId: result.ref,
        declineCode: restPayDeclineCodes[result.decline],
        message: result.reason,
        processedAt: result.at,
      };
}

export async function startRestPay(options: RestPayOptions): Promise<RunningRestPay> {
  const desk = new PaymentDesk('rest-pay', options, {
    refPrefix: 'auth_',
    encode: (n) => ({
      contentType: 'application/json',
      body: JSON.stringify({
        id: n.notificationId,
        type: n.approved ? 'operation.approved' : 'operation.declined',
        data: { paymentId: n.paymentId, authorizationId: n.ref, operation: n.operation, processedAt: n.at },
      }),
    }),
    sign: (timestamp, signature) => ({ 'restpay-signature': `t=${timestamp},v1=${signature}` }),
  });
  const { log, registry, faults, ledger, maxBody } = desk;
  const requests = counter(registry, 'bv_rest_pay_requests_total', 'API calls answered, by status', [
    'route',
    'status',
  ]);
  const words = {
    unavailable: () => new HttpProblem(503, 'unavailable', 'rest-pay is unavailable, try again later'),
    conflict: (message: string) => new HttpProblem(409, 'idempotency_key_reused', message),
    code: (result: LedgerResult) => (result.approved ? 'approved' : restPayDeclineCodes[result.decline]),
  };

  async function move(key: string, request: LedgerRequest, res: ServerResponse): Promise<void> {
    const result = await desk.move(key, request, res, words);
    if (result) sendJson(res, 200, operationBody(result));
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<string> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET') {
      const op = /^\/v1\/operations\/([^/]+)$/.exec(path);
      if (op) {
        await faults.delay();
        const result = ledger.status(decodeURIComponent(op[1] as string));
        if (!result)
          throw new HttpProblem(404, 'unknown_operation', 'no operation under this idempotency key');
        sendJson(res, 200, operationBody(result));
        return 'operation';
      }
      const day = /^\/v1\/settlements\/(\d{4}-\d{2}-\d{2})$/.exec(path);
      if (day) {
        await faults.delay();
        const lines = faults.settlement(ledger.settlement(day[1] as string));
        sendJson(res, 200, {
          day: day[1],
          lines: lines.map((l) => ({
            paymentId: l.paymentId,
            authorizationId: l.ref,
            type: l.operation,
            amount: { value: l.amountMinor, currency: l.currency },
            settledAt: l.settledAt,
          })),
        });
        return 'settlement';
      }
      throw new HttpProblem(404, 'not_found', 'no such route');
    }
    if (req.method !== 'POST') throw new HttpProblem(405, 'method_not_allowed', 'GET or POST');
    const keyCheck = idempotencyKey.safeParse(req.headers['idempotency-key']);
    if (!keyCheck.success)
      throw new HttpProblem(400, 'idempotency_key_required', 'Idempotency-Key header required');
    const key = keyCheck.data;
    let body: string;
    try {
      body = await readBody(req, maxBody);
    } catch (error) {
      if (error instanceof BodyTooLarge) throw new HttpProblem(413, 'payload_too_large', error.message);
      throw error;
    }
    if (path === '/v1/authorizations') {
      const b = parse(authorizeBody, body);
      await move(
        key,
        {
          operation: 'authorize',
          paymentId: b.paymentId,
          merchantId: b.merchantId,
          customerId: b.customerId,
          amountMinor: b.amount.value,
          currency: b.amount.currency,
          reference: b.reference,
        },
        res,
      );
      return 'authorize';
    }
    const follow = /^\/v1\/authorizations\/([^/]+)\/(captures|refunds|void)$/.exec(path);
    if (!follow) throw new HttpProblem(404, 'not_found', 'no such route');
    const ref = decodeURIComponent(follow[1] as string);
    if (follow[2] === 'void') {
      const b = parse(voidBody, body);
      await move(key, { operation: 'void', paymentId: b.paymentId, ref }, res);
      return 'void';
    }
    const b = parse(amountBody, body);
    const operation = follow[2] === 'captures' ? 'capture' : 'refund';
    await move(
      key,
      { operation, paymentId: b.paymentId, ref, amountMinor: b.amount.value, currency: b.amount.currency },
      res,
    );
    return operation;
  }

  const server: Server = createServer((req, res) => {
    serveOps(req, res, { service: 'rest-pay', registry, faults })
      .then(async (served) => {
        if (served) return;
        const name = await route(req, res);
        requests.inc({ route: name, status: String(res.statusCode) });
      })
      .catch((error: unknown) => {
        const problem =
          error instanceof HttpProblem
            ? error
            : new HttpProblem(500, 'internal', 'internal error, see the logs');
        if (!(error instanceof HttpProblem)) log.error({ err: error }, 'rest-pay request failed');
        requests.inc({ route: 'error', status: String(problem.status) });
        if (res.headersSent || res.destroyed) return;
        // A body we did not read (too large) must not be read now: close the connection after answering.
        if (problem.status === 413) res.setHeader('connection', 'close');
        sendJson(res, problem.status, { error: { code: problem.code, message: problem.message } });
      });
  });
  const url = await desk.listen(server, options.host, options.port);
  log.info({ url, callbackUrl: options.callbackUrl }, 'rest-pay listening');
  return {
    url,
    faults,
    setCallbackUrl: (url) => desk.notifier.setCallbackUrl(url),
    close: () => desk.close(server),
  };
}
