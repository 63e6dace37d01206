import type { EventLog } from '@bitv/shared/event-log';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import type { JWTVerifyGetKey } from 'jose';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { GatewayConfig } from '../../src/config.js';
import { type GatewayHandle, startGateway } from '../../src/start.js';
import { testIssuer } from './tokens.js';

export interface TestGateway {
  gw: GatewayHandle;
  registry: Registry;
  close(): Promise<void>;
}

/** A gateway on port 0 everywhere, with its own metrics registry. */
export async function testGateway(
  config: Partial<GatewayConfig>,
  deps: { eventLog: EventLog; keys?: JWTVerifyGetKey },
): Promise<TestGateway> {
  const registry = createRegistry();
  const gw = await startGateway(
    { mqttPort: 0, wsPort: 0, opsPort: 0, tlsPort: 0, jwtIssuer: testIssuer, ...config },
    { ...deps, registry },
  );
  return { gw, registry, close: () => gw.close() };
}

/** Sum of a metric's samples whose labels include `labels`. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Connects without automatic reconnects; rejects with the CONNACK error when refused. */
export async function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    protocolVersion: 4,
    ...options,
  });
}

/** Resolves with the CONNACK return code of a refused connection (or 0 if it was accepted). */
export function connackCode(url: string, options: IClientOptions): Promise<number> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      protocolVersion: 4,
      ...options,
    });
    client.once('connect', () => {
      client.end(true);
      resolve(0);
    });
    client.once('error', (error: Error & { code?: number }) => {
      client.end(true);
      resolve(typeof error.code === 'number' ? error.code : -1);
    });
  });
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve();
    client.once('close', () => resolve());
  });
}

/** Collects messages on a subscription. */
export async function collect(client: MqttClient, filter: string, qos: 0 | 1 = 1) {
  const messages: { topic: string; payload: Buffer; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) => {
    if (mqttMatch(filter, topic)) messages.push({ topic, payload, retain: packet.retain });
  });
  const granted = await client.subscribeAsync(filter, { qos });
  return { messages, granted: granted[0]?.qos };
}

function mqttMatch(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The granted QoS of one subscription, or 128 when the broker refused it. */
export async function grant(client: MqttClient, filter: string, qos: 0 | 1 = 1): Promise<number | undefined> {
  try {
    return (await client.subscribeAsync(filter, { qos }))[0]?.qos;
  } catch (error) {
    // mqtt.js rejects a SUBACK holding a failure code; the SUBACK itself is on the error
    const code = (error as { packet?: { granted?: number[] } }).packet?.granted?.[0];
    if (typeof code === 'number') return code;
    throw error;
  }
}
