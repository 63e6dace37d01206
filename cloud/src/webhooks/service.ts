import { createHash, randomUUID } from 'node:crypto';
import { UnavailableError } from '@bitv/shared';
import type { BvEvent } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { counter, histogram, type Registry } from '@bitv/shared/metrics';
import type { Delivery, Queue } from '@bitv/shared/queue';
import { type DependencyPolicy, dependencyPolicy } from '@bitv/shared/resilience';
import { Batcher } from './batcher.js';
import { isDeliverable, matches } from './event-types.js';
import { TokenBuckets } from './rate-limit.js';
import { DeliveryRelay, type RelayOptions } from './relay.js';
import { agentFor, type SendResult, sendWebhook } from './sender.js';
import type { WebhookSettings } from './settings.js';
import { signedHeaders } from './signing.js';
import { checkEndpointUrl, resolvePublic, SsrfError } from './ssrf.js';
import type {
  AttemptRow,
  DeliveryRow,
  DeliveryStatus,
  Endpoint,
  EventToDeliver,
  NewEndpoint,
  WebhookStore,
} from './store.js';

export interface WebhookServiceDeps {
  store: WebhookStore;
  queue: Queue;
  settings: WebhookSettings & { scheduleMs: number[] };
  logger: Logger;
  metrics: Registry;
  relay?: Partial<RelayOptions>;
}

/** What travels on the queue: only the delivery's id; the row holds the body and the state. */
interface QueuedDelivery {
  deliveryId: string;
}

/** How long a delivery waits for an older one of an in-order endpoint before looking again. */
const inOrderWaitMs = 250;

/** A receiver's 5xx answer, as an error the endpoint's breaker counts (the attempt keeps its status). */
class ReceiverFailed extends UnavailableError {
  constructor(readonly answer: SendResult) {
    super(`the receiver answered HTTP ${answer.status}`);
  }
}

/**
 * `msg_` + a digest of endpoint and event: the same id for every attempt of one delivery. The
 * store's insert computes it in SQL (`insertEventDeliveries`); the relay test holds the two equal.
 */
export function deliveryIdOf(endpointId: string, eventId: string): string {
  return `msg_${createHash('sha256').update(`${endpointId}:${eventId}`).digest('base64url').slice(0, 27)}`;
}

/**
 * Webhooks: matches each event to the endpoints subscribed to its type, stores one delivery per
 * endpoint (idempotent by event id + endpoint id) and enqueues it; the queue's consumer makes the
 * attempts (signed, rate-limited, in order where asked, under the endpoint's dependency policy)
 * and follows the retry schedule, disabling endpoints that keep failing or answer 410.
 */
export class WebhookService {
  private readonly buckets = new TokenBuckets();
  private readonly policies = new Map<string, DependencyPolicy>();
  /** One keep-alive agent per endpoint: a connection per delivery cost a handshake each. */
  private readonly agents = new Map<string, ReturnType<typeof agentFor>>();
  private readonly relay: DeliveryRelay;
  /** The consumer's reads and attempt logs, each batched across the deliveries in flight. */
  private readonly reads: Batcher<string, { row: DeliveryRow; endpoint: Endpoint } | undefined>;
  private readonly outcomes: Batcher<{ attempt: Omit<AttemptRow, 'at'>; status: DeliveryStatus }, undefined>;
  private readonly refused;
  private readonly attemptsTotal;
  private readonly firstAttemptLatency;
  private readonly deliveriesTotal;

  constructor(private readonly deps: WebhookServiceDeps) {
    const m = deps.metrics;
    this.refused = counter(m, 'bv_webhooks_refused_total', 'Events or URLs refused, by reason', ['reason']);
    this.attemptsTotal = counter(m, 'bv_webhooks_attempts_total', 'Delivery attempts, by outcome', [
      'outcome',
    ]);
    this.deliveriesTotal = counter(m, 'bv_webhooks_deliveries_total', 'Deliveries created for endpoints');
    this.firstAttemptLatency = histogram(
      m,
      'bv_webhooks_first_attempt_latency_seconds',
      'From the event (its commit) to the end of the first delivery attempt',
      [],
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    );
    this.reads = new Batcher(async (ids) => {
      const found = await deps.store.deliveriesWithEndpoints(ids);
      return ids.map((id) => found.get(id));
    });
    this.outcomes = new Batcher(async (list) => {
      await deps.store.recordAttempts(list);
      return list.map(() => undefined);
    });
    this.relay = new DeliveryRelay(
      deps.store,
      (d) => this.enqueue(d.id, d.id, d.endpointId),
      deps.logger,
      deps.relay,
    );
  }

  /** Starts the relay's sweep (rows a crash left unenqueued); events wake it without this. */
  start(): void {
    this.relay.start();
  }

  /** Stops the relay (its round in progress finishes) and drops the receivers' idle connections. */
  async close(): Promise<void> {
    await this.relay.close();
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  get queueName(): string {
    return this.deps.settings.queueName;
  }

  // --- endpoints -------------------------------------------------------------------------------

  /** Refuses a URL reaching inside the network (literal or by DNS), unless configured otherwise. */
  async checkUrl(url: string): Promise<void> {
    const { allowPrivate } = this.deps.settings;
    try {
      const parsed = checkEndpointUrl(url, allowPrivate);
      await resolvePublic(parsed.hostname, allowPrivate);
    } catch (error) {
      if (error instanceof SsrfError) {
        this.refused.inc({ reason: 'ssrf' });
        this.deps.logger.warn({ url, reason: error.message }, 'webhook endpoint URL refused');
      }
      throw error;
    }
  }

  async createEndpoint(ownerId: string, input: NewEndpoint): Promise<Endpoint> {
    await this.checkUrl(input.url);
    const created = await this.deps.store.createEndpoint(ownerId, input);
    return created;
  }

  async updateEndpoint(id: string, patch: Partial<NewEndpoint> & { enabled?: boolean }): Promise<Endpoint> {
    if (patch.url !== undefined) await this.checkUrl(patch.url);
    const updated = await this.deps.store.updateEndpoint(id, patch);
    this.policies.delete(id);
    this.buckets.forget(id);
    this.dropAgent(id);
    return updated;
  }

  // --- events -> deliveries --------------------------------------------------------------------

  /** One event: a delivery per subscribed, enabled endpoint, stored, and the relay woken (idempotent). */
  async onEvent(event: BvEvent): Promise<number> {
    return this.onEvents([event]);
  }

  /**
   * A run of events: their deliveries matched to the subscribed endpoints and stored in one
   * statement (per thousand events), then the relay woken to publish them. Stored is enough for
   * the event log to move on; the relay publishes at least once. Idempotent: a redelivered event
   * adds nothing.
   */
  async onEvents(events: readonly BvEvent[]): Promise<number> {
    const toDeliver: EventToDeliver[] = [];
    const oversized: { event: BvEvent; bytes: number }[] = [];
    for (const event of events) {
      if (!isDeliverable(event.type)) continue;
      const committedAt = event.time ?? new Date().toISOString();
      // Standard Webhooks payload structure: type, timestamp, data.
      const body = JSON.stringify({ type: event.type, timestamp: committedAt, data: event.data });
      const bytes = Buffer.byteLength(body);
      if (bytes > this.deps.settings.maxPayloadBytes) oversized.push({ event, bytes });
      else toDeliver.push({ eventId: event.id, eventType: event.type, body, committedAt });
    }
    if (oversized.length > 0) await this.refuseOversized(oversized);
    if (toDeliver.length === 0) return 0;
    const stored = await this.deps.store.insertEventDeliveries(toDeliver);
    this.deliveriesTotal.inc(stored);
    // Woken also when nothing is new: a redelivered event may be one a crash left unenqueued.
    this.relay.wake();
    return stored;
  }

  /** Oversized events someone is subscribed to are refused, counted and logged (never sent). */
  private async refuseOversized(list: readonly { event: BvEvent; bytes: number }[]): Promise<void> {
    const enabled = await this.deps.store.enabledEndpoints();
    for (const { event, bytes } of list) {
      if (!enabled.some((e) => matches(e.eventTypes, event.type))) continue;
      this.refused.inc({ reason: 'oversized' });
      this.deps.logger.warn(
        { eventId: event.id, type: event.type, bytes, limit: this.deps.settings.maxPayloadBytes },
        'webhook payload over the limit; refused, not sent',
      );
    }
  }

  private async enqueue(
    deliveryId: string,
    messageId: string,
    endpointId: string,
    delayMs = 0,
  ): Promise<void> {
    const message: QueuedDelivery = { deliveryId };
    await this.deps.queue.publish(this.queueName, message, {
      id: messageId,
      key: endpointId,
      ...(delayMs > 0 ? { delayMs } : {}),
    });
  }

  /** Sends a delivery again now (the partner's "retry"), whatever its state. */
  async retry(deliveryId: string): Promise<void> {
    const row = await this.deps.store.delivery(deliveryId);
    await this.deps.store.setStatus(row.id, 'pending');
    await this.enqueue(row.id, `${row.id}.${randomUUID()}`, row.endpointId);
  }

  /** Sends again every delivery of an endpoint created in [from, to]; returns how many. */
  async replay(endpointId: string, from: string, to: string): Promise<number> {
    const rows = await this.deps.store.deliveries(endpointId, { from, to, limit: 10_000 });
    for (const row of rows.reverse()) await this.retry(row.id);
    return rows.length;
  }

  // --- attempts --------------------------------------------------------------------------------

  private dropAgent(endpointId: string): void {
    this.agents.get(endpointId)?.destroy();
    this.agents.delete(endpointId);
  }

  private agent(endpoint: Endpoint): ReturnType<typeof agentFor> {
    let agent = this.agents.get(endpoint.id);
    if (!agent) {
      agent = agentFor(endpoint.url, this.deps.settings.perEndpointConcurrency);
      this.agents.set(endpoint.id, agent);
    }
    return agent;
  }

  private policy(endpointId: string): DependencyPolicy {
    let p = this.policies.get(endpointId);
    if (!p) {
      p = dependencyPolicy(
        {
          name: `webhook:${endpointId}`,
          timeoutMs: this.deps.settings.timeoutMs,
          // A receiver failing 5 times in a row is left alone for 30 s: its deliveries wait
          // (not counted as attempts) instead of each burning a try on a dead host.
          breaker: { consecutiveFailures: 5, halfOpenAfterMs: 30_000 },
          // No waiting room: a delivery over the endpoint's limit is refused at once and held
          // (re-queued, no attempt spent). Waiting here ran down the 500 ms-class timeout, and a
          // timeout counts against the receiver: after an outage the held deliveries all came back
          // together, the ones queued behind the first few timed out in our own bulkhead, five of
          // those reopened the breaker, and the cycle repeated every half-open (issue #15).
          bulkhead: { limit: this.deps.settings.perEndpointConcurrency, queue: 0 },
          retry: false,
          logger: this.deps.logger,
        },
        this.deps.metrics,
      );
      this.policies.set(endpointId, p);
    }
    return p;
  }

  /** The queue consumer's handler: one attempt of one delivery, then its next step settled. */
  async handle(d: Delivery): Promise<void> {
    const { store, logger, settings } = this.deps;
    const parsed = d.payload as Partial<QueuedDelivery> | null;
    if (!parsed || typeof parsed.deliveryId !== 'string') {
      await d.deadLetter('not a webhook delivery message');
      return;
    }
    const found = await this.reads.add(parsed.deliveryId);
    if (!found) {
      // Endpoint (and its deliveries) deleted: nothing left to send.
      logger.info({ deliveryId: parsed.deliveryId }, 'webhook delivery dropped: its endpoint is gone');
      await d.ack();
      return;
    }
    const { row, endpoint } = found;
    if (row.status === 'delivered' || row.status === 'dead') return d.ack();
    if (!endpoint.enabled) {
      await store.setStatus(row.id, 'failed');
      return d.ack();
    }
    if (endpoint.inOrder && (await store.hasEarlierPending(endpoint.id, row.seq))) {
      // Not this one's turn: look again shortly, without spending an attempt.
      await this.enqueue(row.id, `${row.id}.${randomUUID()}`, endpoint.id, inOrderWaitMs);
      return d.ack();
    }
    const wait = this.buckets.take(endpoint.id, endpoint.ratePerSecond ?? settings.defaultRatePerSecond);
    if (wait > 0) {
      this.attemptsTotal.inc({ outcome: 'rate_limited' });
      await this.enqueue(row.id, `${row.id}.${randomUUID()}`, endpoint.id, wait);
      return d.ack();
    }
    const attempt = row.attempts + 1;
    const started = Date.now();
    let statusCode: number | null = null;
    let snippet: string | null = null;
    let error: string | null = null;
    try {
      const result = await this.policy(endpoint.id).execute(async (signal) => {
        const answer = await sendWebhook({
          url: endpoint.url,
          agent: this.agent(endpoint),
          body: row.body,
          headers: signedHeaders(endpoint.secret, row.id, row.body),
          timeoutMs: settings.timeoutMs,
          snippetBytes: settings.responseSnippetBytes,
          allowPrivate: settings.allowPrivate,
          signal,
        });
        // A 5xx is the receiver failing: thrown inside the policy so its breaker counts it.
        if (answer.status >= 500) throw new ReceiverFailed(answer);
        return answer;
      });
      statusCode = result.status;
      snippet = result.snippet;
    } catch (e) {
      if (e instanceof ReceiverFailed) {
        statusCode = e.answer.status;
        snippet = e.answer.snippet;
      }
      const refusal = e instanceof UnavailableError ? e.details : undefined;
      if (refusal?.reason === 'circuit_open' || refusal?.reason === 'bulkhead_full') {
        // Our own refusal (open breaker, full bulkhead): not an attempt; try again when it may pass.
        this.attemptsTotal.inc({ outcome: 'held' });
        const after = Number(refusal.retryAfterSeconds ?? 1) * 1000;
        await this.enqueue(row.id, `${row.id}.${randomUUID()}`, endpoint.id, after);
        return d.ack();
      }
      if (e instanceof SsrfError) this.refused.inc({ reason: 'ssrf' });
      if (!(e instanceof ReceiverFailed)) {
        error = e instanceof Error ? e.message : String(e);
        // A timeout or connection error may mean the pooled connections are dead (a receiver or
        // proxy gone without closing them): the next attempt, the breaker's trial too, must
        // connect afresh instead of timing out on one of them and reopening the breaker.
        this.dropAgent(endpoint.id);
      }
    }
    const latencyMs = Date.now() - started;
    if (attempt === 1) {
      this.firstAttemptLatency.observe((Date.now() - Date.parse(row.eventCommittedAt)) / 1000);
    }
    const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const last = attempt >= settings.scheduleMs.length;
    const gone = statusCode === 410;
    const status = ok ? 'delivered' : gone ? 'failed' : last ? 'dead' : 'pending';
    await this.outcomes.add({
      attempt: { deliveryId: row.id, attempt, ok, statusCode, latencyMs, error, responseSnippet: snippet },
      status,
    });
    this.attemptsTotal.inc({
      outcome: ok ? 'ok' : error ? 'error' : `http_${Math.floor((statusCode ?? 0) / 100)}xx`,
    });
    if (ok) {
      // Only a failing endpoint has anything to clear (a round trip saved per delivery).
      if (endpoint.failingSince !== null) await store.markHealthy(endpoint.id);
      return d.ack();
    }
    logger.info(
      { deliveryId: row.id, endpointId: endpoint.id, attempt, statusCode, error },
      'webhook attempt failed',
    );
    if (gone) {
      await this.disable(endpoint, 'the receiver answered 410 Gone');
      return d.ack();
    }
    const failingSince = await store.markFailing(endpoint.id);
    if (Date.now() - Date.parse(failingSince) >= settings.disableAfterMs) {
      await this.disable(endpoint, `every delivery failed since ${failingSince}`);
      await store.setStatus(row.id, 'failed');
      return d.ack();
    }
    if (last) return d.deadLetter(`gave up after ${attempt} attempts: ${error ?? `HTTP ${statusCode}`}`);
    await d.retry(settings.scheduleMs[attempt] ?? 0, error ?? `HTTP ${statusCode}`);
  }

  private async disable(endpoint: Endpoint, reason: string): Promise<void> {
    if (!(await this.deps.store.disable(endpoint.id, reason))) return;
    const message = `Endpoint ${endpoint.url} was disabled: ${reason}. Fix the receiver, then enable it again.`;
    await this.deps.store.notify(endpoint.ownerId, endpoint.id, 'endpoint_disabled', message);
    this.deps.logger.warn(
      { endpointId: endpoint.id, ownerId: endpoint.ownerId, reason },
      'webhook endpoint disabled',
    );
  }
}
