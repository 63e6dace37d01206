import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { errorText, redactUrl } from '../config/redact.js';
import { CapacityError, UnavailableError, withTimeout } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Registry } from '../metrics/index.js';
import { backoffDelay, sleep } from '../retry/index.js';
import { queueMetrics } from './metrics.js';
import {
  type ConsumeOptions,
  checkQueueName,
  type DeadLetter,
  type Delivery,
  type DeliveryHandler,
  type PublishOptions,
  type Queue,
  type QueueOptions,
  queueDefaults,
  type Subscription,
} from './port.js';

export interface RabbitQueueOptions {
  url: string;
  logger: Logger;
  metrics: Registry;
  /** Limit on connecting, declaring and each publisher confirm. */
  timeoutMs?: number;
  /** Publishes awaiting their confirm at once; more are refused with a CapacityError. */
  maxPendingPublishes?: number;
  failureDelayMs?: number;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
}

const ATTEMPT = 'x-bv-attempt';
const KEY = 'x-bv-key';
const REASON = 'x-bv-reason';

/** RabbitMQ names for one logical queue: the queue, its dead letters, its per-delay wait queues. */
const deadName = (queue: string) => `${queue}.dead`;
const waitName = (queue: string, delayMs: number) => `${queue}.wait.${delayMs}`;

const quorum = { 'x-queue-type': 'quorum' } as const;

/**
 * RabbitMQ through amqplib. Every queue is a durable quorum queue; publishes go through a
 * ConfirmChannel and resolve on the broker's confirm. A delay is a wait queue per delay
 * (`<q>.wait.<ms>`, message TTL = the delay) whose expired messages dead-letter back to `<q>`
 * through the default exchange, `at-least-once` so a message is never dropped between the two
 * queues. A retry publishes the next attempt to its wait queue, then acks; the last attempt goes
 * to `<q>.dead`. Consumers use manual acks: a delivery unsettled when the connection dies is
 * requeued by the broker, and the connection comes back with backoff, its consumers re-created.
 */
export async function openRabbitQueue(options: RabbitQueueOptions): Promise<Queue> {
  const { url, logger } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxPending = options.maxPendingPublishes ?? 10_000;
  const failureDelayMs = options.failureDelayMs ?? queueDefaults.failureDelayMs;
  const backoff = {
    initialDelayMs: options.reconnect?.initialDelayMs ?? 100,
    maxDelayMs: options.reconnect?.maxDelayMs ?? 10_000,
    factor: 2,
    jitter: 0.3,
  };
  const metrics = queueMetrics(options.metrics, 'rabbitmq');
  const maxAttempts = new Map<string, number>();
  const declared = new Set<string>();
  const waits = new Map<string, Set<string>>();
  const consumers = new Set<ConsumerState>();
  let model: ChannelModel | undefined;
  let publisher: ConfirmChannel | undefined;
  let connected: Promise<void>;
  let closed = false;
  let pending = 0;

  interface ConsumerState {
    queue: string;
    handler: DeliveryHandler;
    prefetch: number;
    channel?: Channel;
    tag?: string;
    inFlight: Set<Promise<void>>;
  }

  async function connectOnce(): Promise<void> {
    const m = await withTimeout(
      amqp.connect(url, { timeout: timeoutMs }),
      timeoutMs,
      'connecting to RabbitMQ',
    );
    m.on('error', (error: Error) => logger.warn({ err: error }, 'RabbitMQ connection error'));
    m.on('close', () => {
      if (model !== m) return;
      model = undefined;
      publisher = undefined;
      declared.clear();
      for (const c of consumers) c.channel = undefined;
      if (closed) return;
      logger.warn('RabbitMQ connection lost; reconnecting');
      metrics.reconnects.inc();
      connected = reconnect();
    });
    const ch = await m.createConfirmChannel();
    ch.on('error', (error: Error) => logger.warn({ err: error }, 'RabbitMQ publish channel error'));
    model = m;
    publisher = ch;
    for (const c of consumers) await startConsumer(c);
  }

  async function reconnect(): Promise<void> {
    for (let attempt = 1; !closed; attempt++) {
      try {
        await connectOnce();
        logger.info({ attempt }, 'RabbitMQ reconnected');
        return;
      } catch (error) {
        const delay = backoffDelay(attempt, backoff);
        logger.warn({ err: error, attempt, delayMs: delay }, 'RabbitMQ reconnect failed');
        await sleep(delay);
      }
    }
  }

  try {
    await connectOnce();
  } catch (error) {
    throw new UnavailableError(`RabbitMQ at ${redactUrl(url)} unreachable: ${errorText(error)}`, {
      cause: error,
    });
  }
  connected = Promise.resolve();

  /** The publishing channel, waiting up to the time limit for a reconnection. */
  async function channel(): Promise<ConfirmChannel> {
    if (closed) throw new Error('queue closed');
    if (!publisher) await withTimeout(connected, timeoutMs, 'waiting for RabbitMQ');
    if (!publisher) throw new UnavailableError('RabbitMQ not connected');
    return publisher;
  }

  async function assert(name: string, args: Record<string, unknown>): Promise<void> {
    if (declared.has(name)) return;
    const ch = await channel();
    await withTimeout(
      ch.assertQueue(name, { durable: true, arguments: args }),
      timeoutMs,
      `declaring ${name}`,
    );
    declared.add(name);
  }

  async function declare(queue: string, opts: QueueOptions = {}): Promise<void> {
    checkQueueName(queue);
    maxAttempts.set(queue, opts.maxAttempts ?? maxAttempts.get(queue) ?? queueDefaults.maxAttempts);
    await assert(queue, quorum);
    await assert(deadName(queue), quorum);
  }

  async function declareWait(queue: string, delayMs: number): Promise<string> {
    const name = waitName(queue, delayMs);
    const known = waits.get(queue) ?? new Set<string>();
    known.add(name);
    waits.set(queue, known);
    await assert(name, {
      ...quorum,
      'x-message-ttl': delayMs,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': queue,
      // Quorum queues dead-letter at most once unless told otherwise; at-least-once needs
      // reject-publish overflow (RabbitMQ 3.10+).
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    });
    return name;
  }

  /** Sends one message to a RabbitMQ queue and resolves on the broker's confirm. */
  async function send(
    target: string,
    body: Buffer,
    props: amqp.Options.Publish,
    queue: string,
  ): Promise<void> {
    if (pending >= maxPending) throw new CapacityError(`${pending} publishes await confirms; slow down`);
    pending++;
    try {
      const ch = await channel();
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          try {
            ch.sendToQueue(
              target,
              body,
              { persistent: true, contentType: 'application/json', ...props },
              (err) =>
                err
                  ? reject(new UnavailableError(`RabbitMQ refused a message for ${target}`, { cause: err }))
                  : resolve(),
            );
          } catch (error) {
            reject(
              new UnavailableError(`publishing to ${target} failed: ${errorText(error)}`, { cause: error }),
            );
          }
        }),
        timeoutMs,
        `confirm of a publish to ${target}`,
      );
    } catch (error) {
      metrics.errors.inc({ queue, operation: 'publish' });
      throw error;
    } finally {
      pending--;
    }
  }

  async function publishAttempt(
    queue: string,
    payload: Buffer,
    props: { id: string; key?: string; attempt: number; delayMs: number },
  ): Promise<void> {
    if (!declared.has(queue) || !maxAttempts.has(queue)) await declare(queue);
    const target = props.delayMs > 0 ? await declareWait(queue, Math.round(props.delayMs)) : queue;
    await send(
      target,
      payload,
      {
        messageId: props.id,
        headers: { [ATTEMPT]: props.attempt, ...(props.key ? { [KEY]: props.key } : {}) },
      },
      queue,
    );
  }

  async function publish(queue: string, payload: unknown, opts: PublishOptions = {}): Promise<void> {
    checkQueueName(queue);
    await publishAttempt(queue, Buffer.from(JSON.stringify(payload)), {
      id: opts.id ?? randomUUID(),
      attempt: 1,
      delayMs: Math.max(0, opts.delayMs ?? 0),
      ...(opts.key ? { key: opts.key } : {}),
    });
    metrics.published.inc({ queue });
  }

  function decode(msg: ConsumeMessage) {
    const headers = msg.properties.headers ?? {};
    const attempt = Number(headers[ATTEMPT] ?? 1);
    const key = typeof headers[KEY] === 'string' ? (headers[KEY] as string) : undefined;
    let payload: unknown;
    try {
      payload = JSON.parse(msg.content.toString('utf8'));
    } catch {
      // Not ours (someone published raw bytes): handed over as text, the handler decides.
      payload = msg.content.toString('utf8');
    }
    return { id: String(msg.properties.messageId ?? ''), attempt: attempt > 0 ? attempt : 1, key, payload };
  }

  async function startConsumer(c: ConsumerState): Promise<void> {
    if (!model) return;
    await declare(c.queue);
    const ch = await model.createChannel();
    ch.on('error', (error: Error) =>
      logger.warn({ err: error, queue: c.queue }, 'RabbitMQ consumer channel error'),
    );
    await ch.prefetch(c.prefetch);
    c.channel = ch;
    const { consumerTag } = await ch.consume(
      c.queue,
      (msg) => {
        if (!msg) return; // the broker cancelled the consumer (queue deleted); nothing to settle
        const p = handle(c, ch, msg).finally(() => c.inFlight.delete(p));
        c.inFlight.add(p);
      },
      { noAck: false },
    );
    c.tag = consumerTag;
  }

  async function handle(c: ConsumerState, ch: Channel, msg: ConsumeMessage): Promise<void> {
    const { queue } = c;
    const m = decode(msg);
    let settled = false;
    const ack = (outcome: string) => {
      try {
        ch.ack(msg);
      } catch (error) {
        // The channel died with the connection: the broker requeues the message, so it is
        // delivered again (at-least-once), never lost.
        logger.warn(
          { queue, id: m.id, err: error },
          'ack on a closed channel; the message will be redelivered',
        );
      }
      metrics.settled.inc({ queue, outcome });
    };
    const once = async (run: () => Promise<void>) => {
      if (settled) throw new Error(`delivery ${m.id} already settled`);
      settled = true;
      try {
        await run();
      } catch (error) {
        // Not settled after all (the retry's publish failed): the fallback below must still
        // retry or requeue it, or it would sit unacked on this channel until the connection dies.
        settled = false;
        throw error;
      }
    };
    const toDead = async (reason: string) => {
      await send(
        deadName(queue),
        msg.content,
        {
          messageId: m.id,
          headers: {
            [ATTEMPT]: m.attempt,
            [REASON]: reason.slice(0, 1000),
            ...(m.key ? { [KEY]: m.key } : {}),
          },
        },
        queue,
      );
      ack('dead');
    };
    const delivery: Delivery = {
      id: m.id,
      queue,
      payload: m.payload,
      attempt: m.attempt,
      redelivered: msg.fields.redelivered,
      ...(m.key ? { key: m.key } : {}),
      ack: () => once(async () => ack('ack')),
      retry: (delayMs, reason) =>
        once(async () => {
          const max = maxAttempts.get(queue) ?? queueDefaults.maxAttempts;
          if (m.attempt >= max) return toDead(reason ?? `gave up after ${m.attempt} attempts`);
          await publishAttempt(queue, msg.content, {
            id: m.id,
            attempt: m.attempt + 1,
            delayMs: Math.max(0, delayMs),
            ...(m.key ? { key: m.key } : {}),
          });
          ack('retry');
        }),
      deadLetter: (reason) => once(() => toDead(reason)),
    };
    try {
      await c.handler(delivery);
    } catch (error) {
      logger.warn({ queue, id: m.id, err: error }, 'queue handler failed; retrying later');
      metrics.handlerErrors.inc({ queue });
    }
    if (!settled) {
      await delivery.retry(failureDelayMs, 'handler did not settle').catch((error: unknown) => {
        // Not acked either: the broker redelivers it when this channel goes.
        logger.error({ queue, id: m.id, err: error }, 'could not schedule a retry');
        try {
          ch.nack(msg, false, true);
        } catch {
          // channel already gone: the broker requeues it itself
        }
      });
    }
  }

  async function consume(
    queue: string,
    handler: DeliveryHandler,
    opts: ConsumeOptions = {},
  ): Promise<Subscription> {
    checkQueueName(queue);
    const c: ConsumerState = {
      queue,
      handler,
      prefetch: Math.max(1, opts.prefetch ?? queueDefaults.prefetch),
      inFlight: new Set(),
    };
    consumers.add(c);
    await startConsumer(c);
    return {
      close: async () => {
        if (!consumers.delete(c)) return;
        const ch = c.channel;
        if (ch && c.tag) await ch.cancel(c.tag).catch(() => undefined); // channel gone: nothing to cancel
        await Promise.allSettled([...c.inFlight]);
        if (ch) await ch.close().catch(() => undefined); // already closed with its connection
      },
    };
  }

  /** A short-lived channel for browsing and re-driving; closing it requeues what it did not ack. */
  async function withChannel<T>(run: (ch: ConfirmChannel) => Promise<T>): Promise<T> {
    if (!model) await withTimeout(connected, timeoutMs, 'waiting for RabbitMQ');
    if (!model) throw new UnavailableError('RabbitMQ not connected');
    const ch = await model.createConfirmChannel();
    ch.on('error', (error: Error) => logger.warn({ err: error }, 'RabbitMQ channel error'));
    try {
      return await run(ch);
    } finally {
      await ch.close().catch(() => undefined); // closed with its connection already
    }
  }

  function deadLetter(msg: amqp.GetMessage): DeadLetter {
    const headers = msg.properties.headers ?? {};
    let payload: unknown;
    try {
      payload = JSON.parse(msg.content.toString('utf8'));
    } catch {
      payload = msg.content.toString('utf8');
    }
    return {
      id: String(msg.properties.messageId ?? ''),
      payload,
      attempts: Number(headers[ATTEMPT] ?? 1),
      reason: String(headers[REASON] ?? ''),
      ...(typeof headers[KEY] === 'string' ? { key: headers[KEY] as string } : {}),
    };
  }

  async function deadLetters(queue: string, opts: { limit?: number } = {}): Promise<DeadLetter[]> {
    await declare(queue);
    const limit = opts.limit ?? 100;
    // Browsing is get without ack; the channel's close puts every message back.
    return withChannel(async (ch) => {
      const out: DeadLetter[] = [];
      while (out.length < limit) {
        const msg = await ch.get(deadName(queue), { noAck: false });
        if (!msg) break;
        out.push(deadLetter(msg));
      }
      return out;
    });
  }

  async function redrive(queue: string, ids?: readonly string[]): Promise<number> {
    await declare(queue);
    const wanted = ids ? new Set(ids) : undefined;
    return withChannel(async (ch) => {
      // Until the queue answers empty, not up to a count read first: a quorum queue counts the
      // letters a browsing channel just gave back a moment after its close. Letters left unacked
      // here stay with this channel, so none is seen twice.
      let moved = 0;
      for (;;) {
        const msg = await ch.get(deadName(queue), { noAck: false });
        if (!msg) break;
        const d = deadLetter(msg);
        if (wanted && !wanted.has(d.id)) continue; // left unacked: requeued when the channel closes
        await publishAttempt(queue, msg.content, {
          id: d.id,
          attempt: 1,
          delayMs: 0,
          ...(d.key ? { key: d.key } : {}),
        });
        ch.ack(msg);
        moved++;
      }
      await ch.waitForConfirms();
      return moved;
    });
  }

  /** Wait queues this process has used for a queue (kept across reconnections). */
  const waitsOf = (queue: string) => [...(waits.get(queue) ?? [])];

  return {
    kind: 'rabbitmq',
    declare,
    publish,
    consume,
    deadLetters,
    redrive,
    depth: async (queue) => {
      await declare(queue);
      return withChannel(async (ch) => {
        let n = (await ch.checkQueue(queue)).messageCount;
        for (const w of waitsOf(queue)) n += (await ch.checkQueue(w)).messageCount;
        return n;
      });
    },
    remove: async (queue) => {
      checkQueueName(queue);
      const names = [queue, deadName(queue), ...waitsOf(queue)];
      await withChannel(async (ch) => {
        for (const name of names) await ch.deleteQueue(name);
      });
      for (const name of names) declared.delete(name);
      waits.delete(queue);
      maxAttempts.delete(queue);
    },
    ping: async () => {
      if (!model) throw new UnavailableError('RabbitMQ not connected');
    },
    close: async () => {
      closed = true;
      for (const c of [...consumers]) {
        consumers.delete(c);
        if (c.channel && c.tag) await c.channel.cancel(c.tag).catch(() => undefined); // gone already
        await Promise.allSettled([...c.inFlight]);
      }
      const m = model;
      model = undefined;
      await m?.close().catch(() => undefined); // the connection may already be gone
    },
  };
}
