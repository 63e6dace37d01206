import { type ConfigOf, loadConfig, setting } from '@bitv/shared';

/** Svix's schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts). */
export const svixSchedule = '0,5s,5m,30m,2h,5h,10h,10h';

/** The webhooks module's environment (read once by the CLI; the launcher passes values directly). */
export const webhookSettingsSpec = {
  amqpUrl: setting.optionalUrl('AMQP_URL', {
    secret: true,
    description:
      'RabbitMQ for webhook delivery (durable quorum queues, confirms, TTL retry queues, dead letters); unset uses a queue in the database',
  }),
  schedule: setting.string('BV_WEBHOOKS_RETRY_SCHEDULE', {
    default: svixSchedule,
    description:
      'delay before each attempt (ms, or with s/m/h), the first usually 0; its length is the number of attempts before a delivery is dead-lettered',
  }),
  timeoutMs: setting.int('BV_WEBHOOKS_TIMEOUT_MS', {
    default: '15000',
    min: 100,
    max: 120_000,
    description: 'time limit of one delivery request (connect, send, response head and snippet)',
  }),
  allowPrivate: setting.boolean('BV_WEBHOOKS_ALLOW_PRIVATE', {
    default: 'false',
    description:
      'allow endpoint URLs that resolve to private, loopback, link-local or multicast addresses (tests, a demo receiver); refused by default',
  }),
  maxPayloadBytes: setting.int('BV_WEBHOOKS_MAX_PAYLOAD_BYTES', {
    default: '262144',
    min: 1024,
    description: 'largest webhook body; bigger events are refused, counted and logged, never sent',
  }),
  responseSnippetBytes: setting.int('BV_WEBHOOKS_RESPONSE_SNIPPET_BYTES', {
    default: '1024',
    min: 0,
    max: 65_536,
    description: 'how much of a receiver’s response body is read and kept in the delivery log',
  }),
  disableAfterMs: setting.int('BV_WEBHOOKS_DISABLE_AFTER_MS', {
    default: String(5 * 86_400_000),
    min: 1000,
    description: 'an endpoint failing every delivery for this long is disabled and its owner told',
  }),
  defaultRatePerSecond: setting.number('BV_WEBHOOKS_RATE_PER_SECOND', {
    default: '50',
    description: 'deliveries per second per endpoint when the endpoint sets no rate limit',
  }),
  concurrency: setting.int('BV_WEBHOOKS_CONCURRENCY', {
    default: '32',
    min: 1,
    max: 1024,
    description: 'deliveries in flight per process (the queue consumer’s prefetch)',
  }),
  perEndpointConcurrency: setting.int('BV_WEBHOOKS_ENDPOINT_CONCURRENCY', {
    default: '8',
    min: 1,
    max: 256,
    description:
      'requests in flight to one endpoint (its bulkhead), so one slow receiver cannot take every slot',
  }),
  queueName: setting.string('BV_WEBHOOKS_QUEUE', {
    default: 'bv.webhooks.deliveries',
    description: 'name of the delivery queue',
  }),
};

export type WebhookSettings = ConfigOf<typeof webhookSettingsSpec>;

export const webhookDefaults: WebhookSettings = loadConfig(webhookSettingsSpec, {});

const units: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `0,5s,5m` -> [0, 5000, 300000]; a wrong entry throws with the entry named. */
export function parseSchedule(text: string): number[] {
  const out = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(entry);
      if (!m) throw new Error(`retry schedule entry "${entry}" is not a duration like 500, 5s, 5m, 2h`);
      return Math.round(Number(m[1]) * (units[m[2] ?? ''] ?? 1));
    });
  if (out.length === 0 || out.length > 50) throw new Error('retry schedule needs 1 to 50 entries');
  return out;
}
