import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TimeoutError, UnavailableError, ValidationError } from '@bitv/shared';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizeRequest, PaymentProvider, ProviderOutcome } from '../provider.js';

/**
 * The compatibility suite: every payment provider adapter, run against its REAL server (started
 * in-process on port 0), must give the same domain results. What the toggle routes between must
 * be indistinguishable to the payments module.
 */
export interface ProviderHarness {
  provider: PaymentProvider;
  /** The service root, where `PUT /admin/faults` changes its misbehaviour. */
  adminUrl: string;
  close(): Promise<void>;
}

export interface ProviderFactory {
  /** Starts the real service (notifications to `callbackUrl`, signed with `secret`) and its adapter. */
  start(options: {
    callbackUrl: string;
    secret: string;
    now: () => Date;
    timeoutMs: number;
    registry: Registry;
  }): Promise<ProviderHarness>;
}

interface Received {
  body: string;
  headers: Record<string, string>;
}

const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });
const today = () => new Date().toISOString().slice(0, 10);

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const json = await registry.getMetricsAsJSON();
  const found = json.find((m) => m.name === name);
  return (found?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + Number(v.value), 0);
}

function approved(outcome: ProviderOutcome): Extract<ProviderOutcome, { outcome: 'approved' }> {
  if (outcome.outcome !== 'approved') throw new Error(`expected approval, got ${JSON.stringify(outcome)}`);
  return outcome;
}

export function describeProviderContract(name: string, factory: ProviderFactory): void {
  describe(`payment provider contract: ${name}`, () => {
    const secret = 'contract-secret';
    const received: Received[] = [];
    let receiver: Server;
    let harness: ProviderHarness;
    let provider: PaymentProvider;
    let registry: Registry;
    let clockOffsetMs = 0;

    const setFaults = async (faults: Record<string, unknown>) => {
      const response = await fetch(`${harness.adminUrl}/admin/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(faults),
      });
      expect(response.status).toBe(200);
    };
    const noFaults = () =>
      setFaults({
        latencyMs: 0,
        faultRate: 0,
        timeoutAfterCommitRate: 0,
        duplicateNotificationRate: 0,
        notificationDelayMs: 0,
        settlementDrift: 'none',
      });
    const authorizeRequest = (amountMinor = 10_000): AuthorizeRequest => ({
      idempotencyKey: randomUUID(),
      paymentId: `pay-${randomUUID()}`,
      merchantId: 'merchant-1',
      customerId: 'customer-1',
      money: eur(amountMinor),
      reference: 'order-1',
    });
    const authorized = async (amountMinor = 10_000) => {
      const request = authorizeRequest(amountMinor);
      const outcome = approved(await provider.authorize(request));
      return { request, providerRef: outcome.providerRef };
    };
    const followUp = (a: { request: AuthorizeRequest; providerRef: string }, amountMinor?: number) => ({
      idempotencyKey: randomUUID(),
      paymentId: a.request.paymentId,
      providerRef: a.providerRef,
      ...(amountMinor === undefined ? {} : { money: eur(amountMinor) }),
    });

    beforeAll(async () => {
      receiver = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
          received.push({ body: Buffer.concat(chunks).toString('utf8'), headers });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notifications`;
      registry = createRegistry();
      harness = await factory.start({
        callbackUrl,
        secret,
        now: () => new Date(Date.now() + clockOffsetMs),
        timeoutMs: 1500,
        registry,
      });
      provider = harness.provider;
    });

    afterAll(async () => {
      await harness?.close();
      await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
    });

    it('approves an authorization and names it', async () => {
      const outcome = approved(await provider.authorize(authorizeRequest()));
      expect(outcome.operation).toBe('authorize');
      expect(outcome.providerRef).toMatch(/.{6,}/);
      expect(Number.isNaN(Date.parse(outcome.at))).toBe(false);
    });

    it.each([
      [1051, 'insufficient-funds'],
      [1005, 'card-declined'],
      [1059, 'fraud-suspected'],
      [0, 'invalid-amount'],
    ] as const)('declines amount %i as %s (an answer, not an error)', async (amount, code) => {
      const outcome = await provider.authorize(authorizeRequest(amount));
      expect(outcome).toMatchObject({ outcome: 'declined', operation: 'authorize', code });
    });

    it('captures in full', async () => {
      const a = await authorized(5000);
      const outcome = approved(await provider.capture(followUp(a, 5000)));
      expect(outcome).toMatchObject({ operation: 'capture', providerRef: a.providerRef });
    });

    it('captures partially, then the rest, and refuses more than authorized', async () => {
      const a = await authorized(5000);
      approved(await provider.capture(followUp(a, 2000)));
      approved(await provider.capture(followUp(a, 3000)));
      expect(await provider.capture(followUp(a, 1))).toMatchObject({
        outcome: 'declined',
        code: 'amount-exceeds-authorized',
      });
    });

    it('voids, then refuses a capture of the voided authorization', async () => {
      const a = await authorized();
      expect(approved(await provider.void(followUp(a))).operation).toBe('void');
      expect(await provider.capture(followUp(a, 100))).toMatchObject({
        outcome: 'declined',
        code: 'already-voided',
      });
      expect(await provider.void(followUp(a))).toMatchObject({ outcome: 'declined', code: 'already-voided' });
    });

    it('refuses to void a captured authorization', async () => {
      const a = await authorized();
      approved(await provider.capture(followUp(a, 10_000)));
      expect(await provider.void(followUp(a))).toMatchObject({
        outcome: 'declined',
        code: 'already-captured',
      });
    });

    it('refunds partially and refuses to refund more than captured', async () => {
      const a = await authorized(8000);
      approved(await provider.capture(followUp(a, 6000)));
      expect(approved(await provider.refund(followUp(a, 2500))).operation).toBe('refund');
      expect(await provider.refund(followUp(a, 3501))).toMatchObject({
        outcome: 'declined',
        code: 'amount-exceeds-authorized',
      });
    });

    it('declines a follow-up on an authorization it never gave', async () => {
      const a = await authorized();
      const outcome = await provider.capture({ ...followUp(a, 100), providerRef: 'no-such-ref' });
      expect(outcome).toMatchObject({ outcome: 'declined', code: 'not-authorized' });
    });

    it('knows nothing of an unknown key, and the outcome of a known one', async () => {
      expect(await provider.status(randomUUID())).toEqual({ known: false });
      const request = authorizeRequest();
      const outcome = await provider.authorize(request);
      expect(await provider.status(request.idempotencyKey)).toEqual({ known: true, ...outcome });
      const declined = authorizeRequest(2051);
      await provider.authorize(declined);
      expect(await provider.status(declined.idempotencyKey)).toMatchObject({
        known: true,
        outcome: 'declined',
        code: 'insufficient-funds',
      });
    });

    it('answers a repeated key with the first outcome and moves the money once', async () => {
      const a = await authorized(7000);
      const capture = followUp(a, 7000);
      const first = await provider.capture(capture);
      const again = await provider.capture(capture);
      expect(again).toEqual(first);
      const repeat = authorizeRequest();
      expect(await provider.authorize(repeat)).toEqual(await provider.authorize(repeat));
      const lines = (await provider.settlement(today())).filter((l) => l.paymentId === a.request.paymentId);
      expect(lines).toHaveLength(1);
    });

    it('refuses a key reused for a different request (ValidationError)', async () => {
      const request = authorizeRequest();
      await provider.authorize(request);
      await expect(provider.authorize({ ...request, money: eur(999) })).rejects.toBeInstanceOf(
        ValidationError,
      );
    });

    it('refuses a malformed request with ValidationError', async () => {
      await expect(
        provider.authorize({ ...authorizeRequest(), money: { amountMinor: 100, currency: 'euro' } }),
      ).rejects.toBeInstanceOf(ValidationError);
    });

    it('reports the captures and refunds of the day in its settlement', async () => {
      const a = await authorized(9000);
      approved(await provider.capture(followUp(a, 9000)));
      approved(await provider.refund(followUp(a, 1000)));
      const lines = (await provider.settlement(today())).filter((l) => l.paymentId === a.request.paymentId);
      expect(lines.map((l) => [l.operation, l.money.amountMinor, l.money.currency, l.providerRef])).toEqual([
        ['capture', 9000, 'EUR', a.providerRef],
        ['refund', 1000, 'EUR', a.providerRef],
      ]);
      expect(await provider.settlement('1999-01-01')).toEqual([]);
    });

    it('sends signed notifications the adapter verifies and translates', async () => {
      const a = await authorized(4000);
      approved(await provider.capture(followUp(a, 4000)));
      const mine = await eventually(() => {
        const parsed = received
          .map((r) => provider.parseNotification(r.body, r.headers))
          .filter((n) => n.paymentId === a.request.paymentId);
        return parsed.length >= 2 ? parsed : undefined;
      }, 'two notifications');
      expect(mine.map((n) => [n.operation, n.outcome, n.providerRef]).sort()).toEqual([
        ['authorize', 'approved', a.providerRef],
        ['capture', 'approved', a.providerRef],
      ]);
    });

    it('may send a notification twice with the same id (deduplicated upstream)', async () => {
      await setFaults({ duplicateNotificationRate: 1 });
      try {
        const a = await authorized();
        const copies = await eventually(() => {
          const found = received
            .map((r) => provider.parseNotification(r.body, r.headers))
            .filter((n) => n.paymentId === a.request.paymentId);
          return found.length >= 2 ? found : undefined;
        }, 'the duplicate');
        expect(new Set(copies.map((n) => n.notificationId)).size).toBe(1);
      } finally {
        await noFaults();
      }
    });

    it('sends a notification late when told to (it is not there when the call returns)', async () => {
      await setFaults({ notificationDelayMs: 1500 });
      try {
        const a = await authorized();
        const mine = () =>
          received.filter(
            (r) => provider.parseNotification(r.body, r.headers).paymentId === a.request.paymentId,
          );
        expect(mine()).toHaveLength(0);
        await eventually(() => mine().length === 1, 'the late notification');
      } finally {
        await noFaults();
      }
    });

    it('refuses forged, stale, malformed and oversized notifications, and counts them', async () => {
      const a = await authorized();
      const real = await eventually(
        () =>
          received.find(
            (r) => provider.parseNotification(r.body, r.headers).paymentId === a.request.paymentId,
          ),
        'a notification',
      );
      const forged = real.body.replace(a.request.paymentId, 'pay-someone-else');
      expect(() => provider.parseNotification(forged, real.headers)).toThrow(/signature/);
      expect(() => provider.parseNotification(real.body, {})).toThrow(/not signed/);
      expect(() => provider.parseNotification('x'.repeat(70_000), real.headers)).toThrow(/exceeds/);
      clockOffsetMs = 3600_000;
      try {
        expect(() => provider.parseNotification(real.body, real.headers)).toThrow(ValidationError);
        expect(() => provider.parseNotification(real.body, real.headers)).toThrow(/replay/);
      } finally {
        clockOffsetMs = 0;
      }
      // Inside the window the same notification is accepted again: at-least-once, deduplicated by id upstream.
      expect(provider.parseNotification(real.body, real.headers).paymentId).toBe(a.request.paymentId);
      const refused = await metric(registry, 'bv_payment_provider_notifications_refused_total', {
        provider: provider.name,
      });
      expect(refused).toBeGreaterThanOrEqual(5);
    });

    it('turns a server fault into UnavailableError (nothing moved)', async () => {
      await setFaults({ faultRate: 1 });
      const request = authorizeRequest();
      try {
        await expect(provider.authorize(request)).rejects.toBeInstanceOf(UnavailableError);
      } finally {
        await noFaults();
      }
      expect(await provider.status(request.idempotencyKey)).toEqual({ known: false });
    });

    it('aims faults at one operation when told to', async () => {
      await setFaults({ faultRate: 1, operations: ['capture'] });
      try {
        const a = await authorized();
        await expect(provider.capture(followUp(a, 100))).rejects.toBeInstanceOf(UnavailableError);
        expect(approved(await provider.void(followUp(a))).operation).toBe('void');
      } finally {
        await setFaults({ faultRate: 0, operations: ['authorize', 'capture', 'void', 'refund'] });
      }
    });

    it('after a commit then a dropped connection: UnavailableError, and status shows the commit', async () => {
      await setFaults({ timeoutAfterCommitRate: 1, afterCommit: 'close' });
      const request = authorizeRequest();
      try {
        await expect(provider.authorize(request)).rejects.toBeInstanceOf(UnavailableError);
      } finally {
        await noFaults();
      }
      const status = await provider.status(request.idempotencyKey);
      expect(status).toMatchObject({ known: true, outcome: 'approved', operation: 'authorize' });
      // The retry with the same key answers the committed outcome: one authorization, not two.
      const retried = approved(await provider.authorize(request));
      expect(status).toMatchObject({ providerRef: retried.providerRef });
    });

    it('after a commit then silence: TimeoutError within the timeout, and status shows the commit', async () => {
      await setFaults({ timeoutAfterCommitRate: 1, afterCommit: 'hang' });
      const request = authorizeRequest();
      try {
        await expect(provider.authorize(request)).rejects.toBeInstanceOf(TimeoutError);
      } finally {
        await setFaults({ timeoutAfterCommitRate: 0, afterCommit: 'close' });
      }
      expect(await provider.status(request.idempotencyKey)).toMatchObject({
        known: true,
        outcome: 'approved',
      });
    });

    it('serves a settlement report that disagrees with the day when told to', async () => {
      const a = await authorized(3000);
      approved(await provider.capture(followUp(a, 3000)));
      const truth = await provider.settlement(today());
      await setFaults({ settlementDrift: 'alter' });
      try {
        const told = await provider.settlement(today());
        expect(told).toHaveLength(truth.length);
        expect(told).not.toEqual(truth);
      } finally {
        await noFaults();
      }
      await setFaults({ settlementDrift: 'drop' });
      try {
        expect(await provider.settlement(today())).toHaveLength(truth.length - 1);
      } finally {
        await noFaults();
      }
    });
  });
}
