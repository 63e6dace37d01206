import { backoffDelay } from '@bitv/shared/retry';
import {
  binWeightMetric,
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
  metricNames,
  nextBdSeq,
  nodeTopic,
  parseTopic,
  SeqCounter,
  stateTopic,
  undeclaredMetrics,
} from '@bitv/shared/sparkplug';
import { connect, type MqttClient } from 'mqtt';
import type { StoredReading } from '../outbox/index.js';
import { deviceBirthNow, nodeBirthNow } from './births.js';
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
    this.publishData(s, device, metrics, () => undefined);
  }

  /** Node metrics that are current state (the reported shadow): NDATA at QoS 1 while online, not stored. */
  publishNodeLive(metrics: Metric[]): void {
    const s = this.session;
    if (!s || this.state !== 'online') return;
    this.publishData(s, null, metrics, () => undefined);
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
      nodeDeclared: new Set(),
      deviceDeclared: new Map(),
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

  /**
   * Ends a session. `graceful` after its NDEATH was acknowledged: DISCONNECT, so the broker discards
   * the will and the host gets one NDEATH [MQTT-3.14.4-3]; otherwise the connection is dropped and
   * the will stands in for the NDEATH the agent could not send.
   */
  private endSession(session: Session, reason: string, reconnectNow = false, graceful = false): void {
    if (this.session !== session) return;
    this.deps.logger.info({ reason }, 'ending session');
    this.session = undefined;
    this.deps.metrics.inFlight.set(0);
    if (graceful) void disconnect(session.client);
    else session.client.end(true);
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
          (error) => this.endSession(session, 'primary host offline', true, !error),
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

  /** NBIRTH then every DBIRTH; `extra`: declarations an NDATA needs that the usual NBIRTH lacks. */
  private births(s: Session, extra: readonly Metric[] = []): void {
    const { groupId, edgeNodeId } = this.opts;
    s.seq.birth();
    const now = Date.now();
    const metrics = withDeclarations(
      [
        ...nodeBirthNow(this.deps.outbox, s.bdSeq, this.opts.agentVersion, this.deps.linkFaults?.(), now),
        ...(this.deps.nodeMetrics?.() ?? []),
      ],
      extra,
    );
    // [tck-id-payloads-nbirth-qos] [tck-id-payloads-nbirth-retain]
    s.client.publish(
      nodeTopic('NBIRTH', groupId, edgeNodeId),
      Buffer.from(encodePayload({ timestamp: now, seq: 0, metrics })),
      { qos: 0, retain: false },
    );
    s.nodeDeclared = new Set(metrics.map((m) => m.name));
    this.deps.metrics.messagesPublished.inc({ type: 'NBIRTH' });
    s.birthed.clear();
    for (const d of new Set([...this.deps.devices.linked(), ...this.deps.devices.withBacklog()]))
      this.deviceBirth(s, d);
  }

  /** DBIRTH; `extra`: declarations a DDATA needs that the device's current birth lacks (bins of an older shape). */
  private deviceBirth(s: Session, device: string, extra: readonly Metric[] = []): void {
    const now = Date.now();
    const metrics = withDeclarations(deviceBirthNow(this.deps.devices, device, now), extra);
    s.client.publish(
      deviceTopic('DBIRTH', this.opts.groupId, this.opts.edgeNodeId, device),
      Buffer.from(encodePayload({ timestamp: now, seq: s.seq.next(), metrics })),
      { qos: 0, retain: false },
    );
    s.deviceDeclared.set(device, new Set(metrics.map((m) => m.name)));
    this.deps.metrics.messagesPublished.inc({ type: 'DBIRTH' });
    s.birthed.add(device);
    s.cursors.start(device);
  }

  /**
   * Every metric of an NDATA/DDATA must be in the last NBIRTH/DBIRTH
   * [tck-id-operational-behavior-data-publish-nbirth] [tck-id-operational-behavior-data-publish-dbirth]:
   * when `metrics` has one its birth lacks, the node (NBIRTH and every DBIRTH) or the device is born
   * again first, declaring it.
   */
  private ensureBorn(s: Session, device: string | null, metrics: readonly Metric[]): void {
    const declared = device === null ? s.nodeDeclared : s.deviceDeclared.get(device);
    const missing = undeclaredMetrics(declared ?? new Set(), metrics);
    if (missing.length === 0 && (device === null || s.birthed.has(device))) return;
    if (missing.length > 0)
      this.deps.logger.info(
        { device, metrics: missing.map((m) => m.name) },
        'rebirth: metrics not in the birth',
      );
    if (device === null) this.births(s, missing);
    else this.deviceBirth(s, device, missing);
  }

  /** NDATA (device null) or DDATA of metrics, QoS 1, each metric born first. */
  private publishData(s: Session, device: string | null, metrics: Metric[], onAck: () => void): void {
    this.ensureBorn(s, device, metrics);
    const { groupId, edgeNodeId } = this.opts;
    this.publish1(
      s,
      device === null
        ? nodeTopic('NDATA', groupId, edgeNodeId)
        : deviceTopic('DDATA', groupId, edgeNodeId, device),
      encodePayload({ timestamp: Date.now(), seq: s.seq.next(), metrics }),
      device === null ? 'NDATA' : 'DDATA',
      onAck,
    );
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
        const { device, historical, readings } = chunk;
        this.ensureBorn(s, device, readingDeclarations(readings));
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
      outbox: this.deps.outbox,
      commands: this.deps.commands,
      birthed: s.birthed,
      inFlight: s,
      publish: (device, metrics, onAck) => this.publishData(s, device, metrics, onAck),
    });
  }

  /** The agent's health changed (a link went down or came back): NDATA now, not at the next period. */
  healthChanged(): void {
    this.publishHealth();
  }

  private publishHealth(): void {
    const s = this.session;
    if (!s || this.state !== 'online') return;
    const metrics = healthMetrics(this.deps.outbox, this.deps.linkFaults?.());
    this.ensureBorn(s, null, metrics);
    const payload = encodePayload({ timestamp: Date.now(), seq: s.seq.next(), metrics });
    s.client.publish(nodeTopic('NDATA', this.opts.groupId, this.opts.edgeNodeId), Buffer.from(payload), {
      qos: 0,
    });
    this.deps.metrics.messagesPublished.inc({ type: 'NDATA' });
  }

  /**
   * Graceful stop: the agent's own NDEATH [tck-id-operational-behavior-edge-node-intentional-disconnect-ndeath],
   * and once the broker acknowledged it, MQTT DISCONNECT
   * [tck-id-operational-behavior-edge-node-intentional-disconnect-packet], so the broker discards the
   * will [MQTT-3.14.4-3] and the host sees one NDEATH. Without that acknowledgement within
   * `closeTimeoutMs` the connection is dropped instead: the will then reports the death.
   */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.healthTimer);
    const s = this.session;
    this.session = undefined;
    this.setState('closed');
    if (!s) return;
    const acked =
      s.client.connected &&
      (await new Promise<boolean>((resolve) => {
        s.client.publish(
          nodeTopic('NDEATH', this.opts.groupId, this.opts.edgeNodeId),
          Buffer.from(encodeNodeDeath(s.bdSeq)),
          { qos: 1 },
          (error) => resolve(!error),
        );
        setTimeout(() => resolve(false), closeTimeoutMs).unref();
      }));
    if (acked) await disconnect(s.client);
    else await s.client.endAsync(true);
  }
}

/** How long a graceful stop waits for the NDEATH's PUBACK, and then for the DISCONNECT to be written. */
const closeTimeoutMs = 1000;

/**
 * MQTT DISCONNECT, bounded. Messages still unacknowledged are dropped from the client first (they
 * are in the outbox and go again in the next session): mqtt.js would otherwise hold the DISCONNECT
 * back until each is acknowledged.
 */
async function disconnect(client: MqttClient): Promise<void> {
  for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
  const timer = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), closeTimeoutMs).unref(),
  );
  const ended = client.endAsync(false).then(
    () => 'ended' as const,
    () => 'timeout' as const,
  );
  // A peer that stops reading must not hold the stop: then the socket is destroyed.
  if ((await Promise.race([ended, timer])) === 'timeout') client.stream?.destroy();
}

/** A birth's metrics plus the declarations it lacks (a live metric set just now is already in it, with its value). */
function withDeclarations(birth: Metric[], extra: readonly Metric[]): Metric[] {
  return extra.length === 0
    ? birth
    : [...birth, ...undeclaredMetrics(new Set(birth.map((m) => m.name)), extra)];
}

/**
 * The metric names of a readings DDATA, declared as its birth would (the Double bins of every reading,
 * `reading/seq`, `temperature_c`): stored readings may have more bins than the shelf has now.
 */
function readingDeclarations(readings: readonly StoredReading[]): Metric[] {
  const bins = new Set<number>();
  for (const r of readings) for (const b of r.bins) bins.add(b.bin);
  return [
    { name: metricNames.readingSeq, type: 'UInt64', value: null },
    ...[...bins].map((bin): Metric => ({ name: binWeightMetric(bin), type: 'Double', value: null })),
    { name: metricNames.temperature, type: 'Double', value: null },
  ];
}
