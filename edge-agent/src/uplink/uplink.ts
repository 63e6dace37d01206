import { backoffDelay } from '@bitv/shared/retry';
import {
  commandSubscriptions,
  decodeState,
  deviceTopic,
  encodeDeviceDeath,
  encodeNodeDeath,
  encodePayload,
  encodeReadings,
  type HostState,
  isNewerState,
  type Metric,
  nextBdSeq,
  nodeTopic,
  parseTopic,
  SeqCounter,
  stateTopic,
} from '@bitv/shared/sparkplug';
import { connect } from 'mqtt';
import { deviceBirthPayload, nodeBirthPayload } from './births.js';
import { Cursors } from './cursors.js';
import {
  type Session,
  type UplinkDeps,
  type UplinkOptions,
  type UplinkState,
  type UplinkStatus,
  uplinkStates,
} from './types.js';

export type { UplinkDeps, UplinkOptions, UplinkState, UplinkStatus } from './types.js';

import { healthMetrics, sendReports } from './reports.js';

/**
 * The Sparkplug B edge-node side of the agent: one MQTT session at a time (clean start, NDEATH
 * as will), births once the primary host is online, then the outbox drained in order with at most
 * `maxInFlight` QoS 1 messages unacknowledged; readings are deleted from the outbox only in the
 * PUBACK callback. Any failure ends the session; the next one starts after a jittered backoff and
 * sends again everything not acknowledged (duplicates carry the same (device, seq)).
 */
export class Uplink {
  private state: UplinkState = 'disconnected';
  private session: Session | undefined;
  private sessions = 0;
  private attempt = 0;
  private host: HostState | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private pumping = false;
  private notifyScheduled = false;

  constructor(
    private readonly opts: UplinkOptions,
    private readonly deps: UplinkDeps,
  ) {}

  start(): void {
    this.connect();
    this.healthTimer = setInterval(() => this.publishHealth(), this.opts.healthIntervalMs);
    this.healthTimer.unref();
  }

  status(): UplinkStatus {
    return {
      state: this.state,
      hostOnline: this.opts.primaryHostId ? (this.host?.online ?? false) : null,
      bdSeq: this.session?.bdSeq ?? null,
      inFlight: this.session?.inFlight ?? 0,
      sessions: this.sessions,
    };
  }

  /** New readings, results or gaps were stored: send what the window allows. */
  notify(): void {
    // Coalesce: many serial chunks in one turn of the event loop become one pump.
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      this.pump();
    });
  }

  /** A device (re)appeared or its identity changed: (re)publish its DBIRTH. */
  deviceChanged(name: string): void {
    this.session?.birthed.delete(name);
    this.pump();
  }

  /**
   * Device metrics that are current state, not history (Firmata pins): DDATA at QoS 1 while
   * online, not stored; the next DBIRTH carries their latest values anyway.
   */
  publishLive(device: string, metrics: Metric[]): void {
    const s = this.session;
    if (!s || this.state !== 'online' || !s.birthed.has(device)) return;
    const payload = encodePayload({ timestamp: Date.now(), seq: s.seq.next(), metrics });
    this.publish1(
      s,
      deviceTopic('DDATA', this.opts.groupId, this.opts.edgeNodeId, device),
      payload,
      'DDATA',
      () => undefined,
    );
  }

  /** NCMD `Node Control/Rebirth`: NBIRTH (seq 0, same bdSeq) and every DBIRTH again. */
  rebirth(): void {
    const s = this.session;
    if (!s || this.state !== 'online') return;
    this.deps.logger.info('rebirth requested');
    this.births(s);
    this.pump();
  }

  private setState(state: UplinkState): void {
    this.state = state;
    for (const s of uplinkStates) this.deps.metrics.uplinkState.set({ state: s }, s === state ? 1 : 0);
  }

  private connect(): void {
    if (this.closing) return;
    // [tck-id-topics-nbirth-bdseq-matching] one bdSeq per connection, persisted so that a restart
    // never reuses the value of a will the broker may still deliver.
    const stored = this.deps.outbox.kvGet('bdSeq');
    const bdSeq = stored === undefined ? 0 : nextBdSeq(Number(stored));
    this.deps.outbox.kvSet('bdSeq', String(bdSeq));
    const { groupId, edgeNodeId } = this.opts;
    const creds = this.opts.credentials();
    const client = connect(this.opts.brokerUrl, {
      clientId: this.opts.clientId,
      clean: true, // [tck-id-principles-persistence-clean-session]
      reconnectPeriod: 0, // we reconnect ourselves: every session needs a new will (bdSeq)
      connectTimeout: this.opts.connectTimeoutMs,
      keepalive: this.opts.keepaliveSeconds,
      queueQoSZero: false,
      // mqtt-packet otherwise pre-builds 65,536 two-byte Buffers on the first packet (~6 MB of
      // heap for the life of the process): on a 64 MB gateway, encode packet ids on the fly.
      writeCache: false,
      ...(this.opts.ca ? { ca: this.opts.ca } : {}),
      username: creds.username,
      password: creds.password,
      // [tck-id-payloads-ndeath-will-message-qos] [tck-id-payloads-ndeath-will-message-retain]
      will: {
        topic: nodeTopic('NDEATH', groupId, edgeNodeId),
        payload: Buffer.from(encodeNodeDeath(bdSeq)),
        qos: 1,
        retain: false,
      },
    });
    const session: Session = {
      id: ++this.sessions,
      client,
      bdSeq,
      seq: new SeqCounter(),
      cursors: new Cursors(this.deps.outbox),
      birthed: new Set(),
      inFlight: 0,
      inFlightByDevice: new Map(),
      resultsInFlight: new Set(),
      gapsInFlight: new Set(),
      ending: false,
    };
    if (session.id > 1) this.deps.metrics.reconnects.inc();
    this.session = session;
    this.setState('connecting');
    const log = this.deps.logger.child({ session: session.id, bdSeq });
    client.on('connect', () => {
      if (this.session !== session) return;
      // The host's state is learnt anew in every session (its retained STATE arrives right after
      // the subscription); a restarted broker may not have it any more.
      this.host = undefined;
      log.info({ broker: this.opts.brokerUrl }, 'connected');
      const topics = commandSubscriptions(groupId, edgeNodeId);
      if (this.opts.primaryHostId) topics.push(stateTopic(this.opts.primaryHostId));
      // [tck-id-message-flow-edge-node-birth-publish-subscribe] subscribe (STATE included) before NBIRTH.
      client.subscribe(topics, { qos: 1 }, (error) => {
        if (this.session !== session) return;
        if (error) {
          log.warn({ err: error }, 'subscribe failed');
          return this.endSession(session, 'subscribe failed');
        }
        if (!this.opts.primaryHostId || this.host?.online) this.goOnline(session);
        else this.setState('waiting-for-host');
      });
    });
    client.on('message', (topic, payload) => this.onMessage(session, topic, payload));
    client.on('error', (error) => {
      // Connection errors end the session ('close' follows); they are logged, never thrown.
      log.warn({ err: error.message }, 'mqtt error');
    });
    client.on('close', () => {
      if (this.session !== session) return;
      this.session = undefined;
      this.deps.metrics.inFlight.set(0);
      if (this.closing) return this.setState('closed');
      this.setState('disconnected');
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(immediately = false): void {
    if (this.closing || this.reconnectTimer) return;
    this.attempt++;
    const delay = immediately
      ? 0
      : backoffDelay(this.attempt, {
          initialDelayMs: this.opts.reconnectInitialDelayMs,
          maxDelayMs: this.opts.reconnectMaxDelayMs,
          factor: 2,
          jitter: 0.5,
        });
    this.deps.logger.info({ delayMs: delay, attempt: this.attempt }, 'reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  private endSession(session: Session, reason: string, reconnectNow = false): void {
    if (this.session !== session) return;
    this.deps.logger.info({ reason }, 'ending session');
    this.session = undefined;
    this.deps.metrics.inFlight.set(0);
    session.client.end(true);
    if (this.closing) return;
    this.setState('disconnected');
    this.scheduleReconnect(reconnectNow);
  }

  private onMessage(session: Session, topic: string, payload: Buffer): void {
    if (this.session !== session) return;
    const t = parseTopic(topic);
    if (!t) return;
    if (t.type === 'STATE') {
      let next: HostState;
      try {
        next = decodeState(payload);
      } catch (error) {
        this.deps.logger.warn({ err: String(error) }, 'ignoring malformed STATE');
        return;
      }
      if (!isNewerState(this.host, next)) return;
      this.host = next;
      this.deps.logger.info({ online: next.online }, 'primary host state');
      // A session whose NDEATH is out is over for the host, whatever STATE says now: going online
      // in it would be undone when the NDEATH is acknowledged (after an event-log outage the
      // gateway reports the host online before it acknowledges the NDEATH), dropping a live session
      // with messages in flight. The next session births once, after that acknowledgement.
      if (next.online && this.state === 'waiting-for-host' && !session.ending) this.goOnline(session);
      if (!next.online && this.state === 'online') {
        // The host cannot follow our session: end it with an explicit NDEATH, then wait
        // (connected) in a new session for the host to return; readings keep being stored.
        session.ending = true;
        session.client.publish(
          nodeTopic('NDEATH', this.opts.groupId, this.opts.edgeNodeId),
          Buffer.from(encodeNodeDeath(session.bdSeq)),
          { qos: 1 },
          () => this.endSession(session, 'primary host offline', true),
        );
        this.setState('waiting-for-host');
      }
      return;
    }
    if (
      (t.type === 'NCMD' || t.type === 'DCMD') &&
      t.groupId === this.opts.groupId &&
      t.edgeNodeId === this.opts.edgeNodeId
    ) {
      this.deps.onCommand(t, payload);
    }
  }

  private goOnline(session: Session): void {
    this.attempt = 0;
    this.births(session);
    for (const d of new Set([...this.deps.devices.linked(), ...this.deps.devices.withBacklog()]))
      session.cursors.start(d);
    this.setState('online');
    this.pump();
  }

  private births(s: Session): void {
    const { groupId, edgeNodeId } = this.opts;
    s.seq.birth();
    // [tck-id-payloads-nbirth-qos] [tck-id-payloads-nbirth-retain]
    s.client.publish(
      nodeTopic('NBIRTH', groupId, edgeNodeId),
      Buffer.from(
        nodeBirthPayload(this.deps.outbox, s.bdSeq, this.opts.agentVersion, this.deps.linkFaults?.()),
      ),
      { qos: 0, retain: false },
    );
    this.deps.metrics.messagesPublished.inc({ type: 'NBIRTH' });
    s.birthed.clear();
    for (const d of new Set([...this.deps.devices.linked(), ...this.deps.devices.withBacklog()]))
      this.deviceBirth(s, d);
  }

  private deviceBirth(s: Session, device: string): void {
    const payload = deviceBirthPayload(this.deps.devices, device, s.seq.next());
    s.client.publish(
      deviceTopic('DBIRTH', this.opts.groupId, this.opts.edgeNodeId, device),
      Buffer.from(payload),
      { qos: 0, retain: false },
    );
    this.deps.metrics.messagesPublished.inc({ type: 'DBIRTH' });
    s.birthed.add(device);
    s.cursors.start(device);
  }

  /** Publishes QoS 1 and counts it in flight until its PUBACK (or the session's end). */
  private publish1(
    s: Session,
    topic: string,
    payload: Uint8Array,
    type: string,
    onAck: () => void,
    device?: string,
  ): void {
    s.inFlight++;
    if (device) s.inFlightByDevice.set(device, (s.inFlightByDevice.get(device) ?? 0) + 1);
    this.deps.metrics.inFlight.set(s.inFlight);
    s.client.publish(topic, Buffer.from(payload), { qos: 1, retain: false }, (error) => {
      if (this.session !== s) return; // a dead session's callbacks: its messages will be sent again
      s.inFlight--;
      if (device) s.inFlightByDevice.set(device, (s.inFlightByDevice.get(device) ?? 1) - 1);
      this.deps.metrics.inFlight.set(s.inFlight);
      if (error) return this.endSession(s, `publish failed: ${error.message}`);
      this.deps.metrics.messagesPublished.inc({ type });
      onAck();
      // Refill the window on the next turn, not inside this callback: the acks that arrived
      // together are all handled first, and timers and serial input get a turn in between.
      this.notify();
    });
  }

  private pump(): void {
    const s = this.session;
    if (!s || this.state !== 'online' || this.pumping) return;
    this.pumping = true;
    try {
      for (const d of this.deps.devices.linked()) if (!s.birthed.has(d)) this.deviceBirth(s, d);
      this.sendResultsAndGaps(s);
      // At most ~10 ms of work per turn of the event loop (reading and encoding 500 readings
      // takes a few ms): the serial links must keep being read while a large backlog drains.
      const until = performance.now() + 10;
      while (s.inFlight < this.opts.maxInFlight) {
        if (performance.now() > until) {
          this.notify();
          break;
        }
        const chunk = s.cursors.next(this.opts.maxReadingsPerMessage);
        if (!chunk) break;
        if (!s.birthed.has(chunk.device)) this.deviceBirth(s, chunk.device);
        const { device, historical, readings } = chunk;
        const first = readings[0]!.seq;
        const last = readings[readings.length - 1]!.seq;
        const payload = encodeReadings(
          readings.map((r) => ({ seq: r.seq, time: r.timeMs, bins: r.bins, temperatureC: r.temperatureC })),
          { seq: s.seq.next(), historical },
        );
        this.publish1(
          s,
          deviceTopic('DDATA', this.opts.groupId, this.opts.edgeNodeId, device),
          payload,
          'DDATA',
          () => {
            this.deps.outbox.ack(device, first, last);
            this.deps.metrics.readingsPublished.inc({ historical: String(historical) }, readings.length);
          },
          device,
        );
      }
      this.deviceDeaths(s);
    } finally {
      this.pumping = false;
    }
  }

  /** DDEATH for devices whose link is down once everything they stored was acknowledged. */
  private deviceDeaths(s: Session): void {
    for (const d of s.birthed) {
      if (this.deps.devices.isLinked(d) || (s.inFlightByDevice.get(d) ?? 0) > 0 || !s.cursors.drained(d))
        continue;
      s.client.publish(
        deviceTopic('DDEATH', this.opts.groupId, this.opts.edgeNodeId, d),
        Buffer.from(encodeDeviceDeath(s.seq.next())),
        { qos: 0 },
      );
      this.deps.metrics.messagesPublished.inc({ type: 'DDEATH' });
      s.birthed.delete(d);
      s.cursors.delete(d);
    }
  }

  private sendResultsAndGaps(s: Session): void {
    sendReports({
      ids: this.opts,
      outbox: this.deps.outbox,
      commands: this.deps.commands,
      birthed: s.birthed,
      inFlight: s,
      nextSeq: () => s.seq.next(),
      publish: (topic, payload, type, onAck) => this.publish1(s, topic, payload, type, onAck),
    });
  }

  /** The agent's health changed (a link went down or came back): NDATA now, not at the next period. */
  healthChanged(): void {
    this.publishHealth();
  }

  private publishHealth(): void {
    const s = this.session;
    if (!s || this.state !== 'online') return;
    const payload = encodePayload({
      timestamp: Date.now(),
      seq: s.seq.next(),
      metrics: healthMetrics(this.deps.outbox, this.deps.linkFaults?.()),
    });
    s.client.publish(nodeTopic('NDATA', this.opts.groupId, this.opts.edgeNodeId), Buffer.from(payload), {
      qos: 0,
    });
    this.deps.metrics.messagesPublished.inc({ type: 'NDATA' });
  }

  /** Graceful stop: an explicit NDEATH (a clean DISCONNECT suppresses the will), then disconnect. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.healthTimer);
    const s = this.session;
    this.session = undefined;
    this.setState('closed');
    if (!s) return;
    if (s.client.connected) {
      await new Promise<void>((resolve) => {
        s.client.publish(
          nodeTopic('NDEATH', this.opts.groupId, this.opts.edgeNodeId),
          Buffer.from(encodeNodeDeath(s.bdSeq)),
          { qos: 1 },
          () => resolve(),
        );
        setTimeout(resolve, 1000).unref();
      });
    }
    await s.client.endAsync(true);
  }
}
