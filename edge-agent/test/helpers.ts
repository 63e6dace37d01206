import { join } from 'node:path';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import { uniqueName } from '@bitv/shared/testing';
import { type EdgeAgentHandle, startEdgeAgent } from '../src/agent.js';
import { type EdgeConfig, loadEdgeConfig } from '../src/config.js';

/** An agent config for tests: unique ids (the machine's broker is shared), temp data dir, ops on port 0. */
export function testConfig(dir: string, brokerUrl: string, overrides: Partial<EdgeConfig> = {}): EdgeConfig {
  return {
    ...loadEdgeConfig(undefined, {}),
    groupId: uniqueName('g'),
    edgeNodeId: uniqueName('gw'),
    primaryHostId: uniqueName('host'),
    waitForHost: false,
    brokerUrl,
    dataDir: join(dir, 'data'),
    opsPort: 0,
    reconnectInitialDelayMs: 100,
    reconnectMaxDelayMs: 1000,
    logLevel: 'silent',
    ...overrides,
  };
}

export async function startTestAgent(
  config: EdgeConfig,
): Promise<{ agent: EdgeAgentHandle; registry: Registry; metric(name: string): Promise<number> }> {
  const registry = createRegistry();
  const agent = await startEdgeAgent(config, { logger: silentLogger, registry });
  return {
    agent,
    registry,
    async metric(name: string) {
      const m = await registry.getSingleMetric(name)?.get();
      return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
    },
  };
}

/** Environment for `bitv-edge run` with the same settings as `config`. */
export function configEnv(config: EdgeConfig): Record<string, string> {
  return {
    BV_GROUP_ID: config.groupId,
    BV_EDGE_NODE_ID: config.edgeNodeId,
    BV_PRIMARY_HOST_ID: config.primaryHostId,
    BV_EDGE_WAIT_FOR_HOST: String(config.waitForHost),
    BV_MQTT_URL: config.brokerUrl,
    BV_EDGE_DATA_DIR: config.dataDir,
    BV_EDGE_SERIAL_PORTS: config.serialPorts.join(','),
    BV_EDGE_OPS_PORT: String(config.opsPort),
    BV_EDGE_RECONNECT_INITIAL_MS: String(config.reconnectInitialDelayMs),
    BV_EDGE_RECONNECT_MAX_MS: String(config.reconnectMaxDelayMs),
    BV_EDGE_MAX_READINGS_PER_MESSAGE: String(config.maxReadingsPerMessage),
    BV_LOG_LEVEL: config.logLevel,
  };
}
