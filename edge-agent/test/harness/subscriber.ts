import type { Reading } from '@bitv/shared/events';
import {
  decodeCommandResults,
  decodeGaps,
  decodeNodeBirth,
  decodeNodeDeath,
  decodePayload,
  decodeReadings,
  type GapReport,
  type Payload,
  parseTopic,
  seqGap,
} from '@bitv/shared/sparkplug';
import { connect, type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  type: string;
  device?: string;
  payload: Payload;
}

/**
 * A Sparkplug consumer for tests: records every message of one group, the readings by
 * (device, seq), gap reports and command results, and checks the per-session seq sequence
 * (NBIRTH 0, then +1 mod 256 per message of the edge node).
 */
export class TestSubscriber {
  readonly messages: Received[] = [];
  readonly readings = new Map<
    string,
    Map<number, { reading: Reading; historical: boolean; copies: number }>
  >();
  readonly gaps: GapReport[] = [];
  readonly results: { id: string; status: string; reason?: string | undefined }[] = [];
  readonly seqErrors: string[] = [];
  readonly bdSeqs: { type: 'NBIRTH' | 'NDEATH'; bdSeq: number }[] = [];
  duplicates = 0;
  private lastSeq: number | undefined;
  private client: MqttClient | undefined;

  constructor(
    private readonly url: string,
    private readonly groupId: string,
  ) {}

  async start(): Promise<void> {
    const client = connect(this.url, { clean: true, reconnectPeriod: 500 });
    this.client = client;
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(`spBv1.0/${this.groupId}/#`, { qos: 1 });
  }

  /**
   * After a broker restart: waits until this client is connected again and its subscription is
   * in place (a SUBACK), so nothing the agent publishes from then on (its births first) is missed.
   * Without it, a test that makes the agent publish (host STATE) can race the resubscription.
   */
  async resubscribed(timeoutMs = 20_000): Promise<void> {
    const client = this.client!;
    const deadline = Date.now() + timeoutMs;
    while (!client.connected) {
      if (Date.now() > deadline) throw new Error('test subscriber did not reconnect');
      await new Promise((r) => setTimeout(r, 50));
    }
    await client.subscribeAsync(`spBv1.0/${this.groupId}/#`, { qos: 1 });
  }

  publish(topic: string, payload: Buffer | Uint8Array, retain = false): Promise<unknown> {
    return this.client!.publishAsync(topic, Buffer.from(payload), { qos: 1, retain });
  }

  count(device: string): number {
    return this.readings.get(device)?.size ?? 0;
  }

  private onMessage(topic: string, bytes: Buffer): void {
    const t = parseTopic(topic);
    if (!t || t.type === 'STATE' || t.type === 'NCMD' || t.type === 'DCMD') return;
    const payload = decodePayload(bytes);
    const device = 'deviceId' in t ? t.deviceId : undefined;
    this.messages.push({ topic, type: t.type, ...(device ? { device } : {}), payload });
    if (t.type === 'NBIRTH') {
      this.bdSeqs.push({ type: 'NBIRTH', bdSeq: decodeNodeBirth(payload).bdSeq });
      this.lastSeq = payload.seq;
      return;
    }
    if (t.type === 'NDEATH') {
      this.bdSeqs.push({ type: 'NDEATH', bdSeq: decodeNodeDeath(payload).bdSeq });
      this.lastSeq = undefined;
      return;
    }
    if (payload.seq === undefined) this.seqErrors.push(`${t.type} without seq`);
    else if (this.lastSeq !== undefined && seqGap(this.lastSeq, payload.seq) !== 0) {
      // QoS 0 messages (births, health) may be reordered only across sessions; within one session
      // a hole means a message was lost or misnumbered.
      this.seqErrors.push(`${t.type} seq ${payload.seq} after ${this.lastSeq}`);
    }
    if (payload.seq !== undefined) this.lastSeq = payload.seq;
    if (t.type === 'DDATA' && device) {
      const { readings, historical } = decodeReadings(payload);
      let map = this.readings.get(device);
      if (!map) {
        map = new Map();
        this.readings.set(device, map);
      }
      for (const r of readings) {
        const had = map.get(r.seq);
        if (had) {
          had.copies++;
          this.duplicates++;
          if (JSON.stringify(had.reading) !== JSON.stringify(r))
            this.seqErrors.push(`duplicate ${device}/${r.seq} differs`);
        } else map.set(r.seq, { reading: r, historical, copies: 1 });
      }
    }
    if (t.type === 'NDATA') this.gaps.push(...decodeGaps(payload));
    if (t.type === 'NDATA' || t.type === 'DDATA') this.results.push(...decodeCommandResults(payload));
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}
