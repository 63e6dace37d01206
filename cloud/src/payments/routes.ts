import { NotFoundError, ValidationError } from '@bitv/shared';
import { z } from 'zod';
import { actorOf, canSeeSite } from '../api/principal.js';
import { type AnyRoute, idParam, route } from '../api/route.js';
import type { PaymentFlags } from './flags.js';
import { providerFlag, providerRules } from './flags.js';
import type { Notifications } from './notifications.js';
import type { PaymentProvider } from './provider.js';
import type { PaymentReads } from './read-models.js';
import { isDay, type Reconciliation } from './reconciliation.js';

const staff = ['staff', 'operator', 'admin'] as const;
const admin = ['admin'] as const;

const payment = z.object({
  paymentId: z.string(),
  orderId: z.string(),
  merchantId: z.string(),
  customerId: z.string(),
  provider: z.string(),
  status: z.string(),
  currency: z.string(),
  authorizedMinor: z.number(),
  capturedMinor: z.number(),
  refundedMinor: z.number(),
  providerRef: z.string().nullable(),
  failure: z.object({ code: z.string(), reason: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const finding = z.object({
  day: z.string(),
  provider: z.string(),
  paymentId: z.string(),
  operation: z.enum(['capture', 'refund']),
  kind: z.enum(['missing', 'unexpected', 'amount']),
  expectedMinor: z.number().nullable(),
  settledMinor: z.number().nullable(),
  detail: z.string(),
});

const flagView = z.object({
  flag: z.string(),
  rules: providerRules,
  providers: z.array(z.string()),
  updatedBy: z.string(),
  updatedAt: z.string().optional(),
});

/** Largest notification body we read (a provider's message is a few hundred bytes). */
const maxNotificationBytes = 64 * 1024;

export interface PaymentRoutesDeps {
  reads: PaymentReads;
  flags: PaymentFlags;
  reconciliation: Reconciliation;
  notifications: Notifications;
  providers: ReadonlyMap<string, PaymentProvider>;
}

export function paymentRoutes(deps: PaymentRoutesDeps): AnyRoute[] {
  const { reads, flags, reconciliation, notifications, providers } = deps;
  return [
    route({
      method: 'get',
      path: '/api/v1/payments',
      summary: 'Payments, newest first (of the sites the caller may see)',
      tag: 'payments',
      access: staff,
      query: z.object({
        status: z.enum(['authorized', 'captured', 'voided', 'refunded', 'failed']).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      response: z.object({ payments: z.array(payment) }),
      handler: async ({ query, principal }) => ({
        payments: await reads.list({
          sites: principal.kind === 'gateway' ? [] : principal.sites,
          limit: query.limit,
          ...(query.status ? { status: query.status } : {}),
        }),
      }),
    }),
    route({
      method: 'get',
      path: '/api/v1/payments/reconciliation',
      summary: 'Reconciliation runs and their findings (mismatches with the providers’ settlement reports)',
      tag: 'payments',
      access: staff,
      response: z.object({
        runs: z.array(
          z.object({
            day: z.string(),
            provider: z.string(),
            lines: z.number(),
            matched: z.number(),
            findings: z.number(),
          }),
        ),
        findings: z.array(finding),
      }),
      handler: async () => reconciliation.list(),
    }),
    route({
      method: 'post',
      path: '/api/v1/payments/reconciliation/:day',
      summary: 'Reconcile one UTC day (YYYY-MM-DD) against every provider’s settlement report now',
      tag: 'payments',
      access: ['operator', 'admin'],
      params: z.object({ day: z.string().refine(isDay, 'a day as YYYY-MM-DD') }),
      response: z.object({
        results: z.array(
          z.object({
            day: z.string(),
            provider: z.string(),
            lines: z.number(),
            matched: z.number(),
            findings: z.array(finding),
          }),
        ),
      }),
      handler: async ({ params }) => ({
        results: await reconciliation.run(params.day, [...providers.values()]),
      }),
    }),
    route({
      method: 'get',
      path: '/api/v1/payments/:id',
      summary: 'One payment',
      tag: 'payments',
      access: staff,
      params: idParam,
      response: z.object({ payment }),
      errors: { '404': 'no such payment (or not of your sites)' },
      handler: async ({ params, principal }) => {
        const p = await reads.get(params.id);
        if (!p || principal.kind === 'gateway' || !canSeeSite(principal, p.merchantId)) {
          throw new NotFoundError(`payment ${params.id} not found`);
        }
        return { payment: p };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/payments/notifications/:provider',
      summary:
        'A provider’s asynchronous notification: verified by its adapter, stored, acknowledged, processed later',
      tag: 'payments',
      access: 'public',
      maxBodyBytes: maxNotificationBytes,
      params: z.object({ provider: z.string().min(1).max(64) }),
      response: z.object({ accepted: z.literal(true), duplicate: z.boolean() }),
      errors: { '404': 'no such provider' },
      handler: async ({ params, c }) => {
        const provider = providers.get(params.provider);
        if (!provider) throw new NotFoundError(`no payment provider ${params.provider}`);
        const body = await c.req.text();
        const headers: Record<string, string> = {};
        c.req.raw.headers.forEach((value, key) => {
          headers[key] = value;
        });
        const fresh = await notifications.receive(provider, body, headers);
        return { accepted: true as const, duplicate: !fresh };
      },
    }),
    route({
      method: 'get',
      path: `/api/v1/admin/flags/${providerFlag}`,
      summary: 'The payment provider toggle: its rules (per merchant, by percentage, default)',
      tag: 'payments',
      access: staff,
      response: flagView,
      handler: async () => ({
        flag: providerFlag,
        ...flags.rules(),
        providers: [...flags.rules().providers],
      }),
    }),
    route({
      method: 'put',
      path: `/api/v1/admin/flags/${providerFlag}`,
      summary:
        'Change the payment provider toggle at runtime (new payments only; a payment stays with its provider)',
      tag: 'payments',
      access: admin,
      body: z.unknown(),
      response: flagView,
      handler: async ({ body, principal }) => {
        if (body === undefined) throw new ValidationError('the rules are required');
        await flags.set(body, actorOf(principal));
        return { flag: providerFlag, ...flags.rules(), providers: [...flags.rules().providers] };
      },
    }),
  ];
}
