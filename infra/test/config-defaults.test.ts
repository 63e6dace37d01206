import { cloudConfigSpec, cloudDefaults } from '@bitv/cloud';
import { edgeConfigSpec } from '@bitv/edge-agent';
import { gatewayConfigSpec } from '@bitv/gateway';
import { loadConfig } from '@bitv/shared/config';
import { describe, expect, it } from 'vitest';
import { platformConfigSpec } from '../src/local/config.js';

// Each component's defaults, as its CLI reads them from an empty environment.
const gateway = loadConfig(gatewayConfigSpec, {});
const edge = loadConfig(edgeConfigSpec, {});
const cloud = loadConfig(cloudConfigSpec, {});
const platform = loadConfig(platformConfigSpec, {});

describe('default ports agree across the components', () => {
  it("the edge agent's broker is the gateway's plain MQTT listener", () => {
    const url = new URL(edge.brokerUrl);
    expect(url.protocol).toBe('mqtt:');
    expect(url.hostname).toBe(gateway.host);
    expect(Number(url.port)).toBe(gateway.mqttPort);
  });

  it("the broker the cloud hands to provisioned gateways is the gateway's TLS listener", () => {
    for (const brokerUrl of [cloud.brokerUrl, cloudDefaults.brokerUrl]) {
      const url = new URL(brokerUrl);
      expect(url.protocol).toBe('mqtts:');
      expect(url.hostname).toBe(gateway.host);
      expect(Number(url.port)).toBe(gateway.tlsPort);
    }
  });

  it('the launcher uses the same ports as the components run alone', () => {
    expect(platform.mqttPort).toBe(gateway.mqttPort);
    expect(platform.wsPort).toBe(gateway.wsPort);
    expect(platform.httpPort).toBe(cloud.port);
    expect(platform.grpcPort).toBe(cloud.grpcPort);
    expect(platform.redisPrefix).toBe(gateway.redisPrefix);
  });

  it('every process reads its log level from BV_LOG_LEVEL', () => {
    for (const spec of [gatewayConfigSpec, edgeConfigSpec, cloudConfigSpec, platformConfigSpec]) {
      expect(spec.logLevel.env).toBe('BV_LOG_LEVEL');
    }
  });
});
