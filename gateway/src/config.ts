import { type ConfigOf, defaultHost, defaultPorts, loadConfig, setting } from '@bitv/shared/config';

/**
 * Everything the gateway reads from its environment, once, in the CLI. `startGateway` receives
 * the typed result (or any object of the same shape built by the one-process launcher).
 */
export const gatewayConfigSpec = {
  host: setting.string('BV_GATEWAY_HOST', {
    default: defaultHost,
    description: 'Address the MQTT, TLS, WebSocket and ops listeners bind to',
  }),
  mqttPort: setting.int('BV_GATEWAY_MQTT_PORT', {
    default: String(defaultPorts.gatewayMqtt),
    min: 0,
    max: 65535,
    description: 'Plain MQTT (TCP) port; 0 picks a free one. Never 1883: Mosquitto has it',
  }),
  tlsPort: setting.int('BV_GATEWAY_TLS_PORT', {
    default: String(defaultPorts.gatewayMqtts),
    min: 0,
    max: 65535,
    description: 'MQTT over TLS port, used only when BV_GATEWAY_TLS_KEY and BV_GATEWAY_TLS_CERT are set',
  }),
  tlsKeyFile: setting.optionalString('BV_GATEWAY_TLS_KEY', {
    description: 'PEM private key file for the TLS listener (and wss when set)',
  }),
  tlsCertFile: setting.optionalString('BV_GATEWAY_TLS_CERT', {
    description: 'PEM certificate chain file for the TLS listener',
  }),
  wsPort: setting.int('BV_GATEWAY_WS_PORT', {
    default: String(defaultPorts.gatewayWs),
    min: -1,
    max: 65535,
    description: 'MQTT over WebSocket port (path /mqtt) for browsers; -1 disables it',
  }),
  opsPort: setting.int('BV_GATEWAY_OPS_PORT', {
    default: String(defaultPorts.gatewayOps),
    min: -1,
    max: 65535,
    description: 'Port of /healthz and /metrics; -1 disables it',
  }),
  allowAnonymous: setting.boolean('BV_GATEWAY_ALLOW_ANONYMOUS', {
    default: 'false',
    description:
      'Development only: accept any client without a token and allow every topic (also --allow-anonymous)',
  }),
  jwksUrl: setting.optionalUrl('BV_JWKS_URL', {
    description: 'JWKS of the registry, e.g. http://cloud:8080/.well-known/jwks.json (cached, refreshed)',
  }),
  jwksFile: setting.optionalString('BV_JWKS_FILE', {
    description: 'JWKS read from a file instead of BV_JWKS_URL',
  }),
  jwksFileCheckMs: setting.int('BV_JWKS_FILE_CHECK_MS', {
    default: '5000',
    min: 0,
    description: 'How often BV_JWKS_FILE is checked for a change (keys rotate without a restart)',
  }),
  jwksCacheMaxAgeMs: setting.int('BV_JWKS_CACHE_MAX_AGE_MS', {
    default: '600000',
    min: 1000,
    description: 'How long a fetched JWKS is trusted before it is fetched again',
  }),
  jwtIssuer: setting.string('BV_JWT_ISSUER', {
    default: 'bitvelocity',
    description: 'Issuer every accepted token must carry',
  }),
  primaryHostId: setting.string('BV_PRIMARY_HOST_ID', {
    default: 'bv-cloud',
    description: 'Sparkplug primary host id whose STATE the gateway publishes',
  }),
  nodeId: setting.optionalString('BV_GATEWAY_NODE_ID', {
    description: 'This broker node id in a cluster (default: a random id per start)',
  }),
  redisUrl: setting.optionalUrl('REDIS_URL', {
    description: 'Cluster mode: share subscriptions, sessions and messages with other nodes through Redis',
  }),
  redisPrefix: setting.string('BV_GATEWAY_REDIS_PREFIX', {
    default: 'bv:gateway:',
    description: 'Prefix of every Redis key and channel the gateway uses',
  }),
  maxPacketBytes: setting.int('BV_GATEWAY_MAX_PACKET_BYTES', {
    default: '262144',
    min: 1024,
    description: 'Largest MQTT packet accepted; a client sending a larger one is disconnected',
  }),
  bridgeMaxInflight: setting.int('BV_BRIDGE_MAX_INFLIGHT', {
    default: '20000',
    min: 1,
    description: 'Messages waiting for the event log across all clients; beyond it publishers wait',
  }),
  bridgeMaxInflightPerClient: setting.int('BV_BRIDGE_MAX_INFLIGHT_PER_CLIENT', {
    default: '1000',
    min: 1,
    description: 'Messages one client may have waiting for the event log',
  }),
  bridgeMaxBatch: setting.int('BV_BRIDGE_MAX_BATCH', {
    default: '1000',
    min: 1,
    description: 'Most events sent to the event log in one publish call',
  }),
  bridgeLanes: setting.int('BV_BRIDGE_LANES', {
    default: '1',
    min: 1,
    max: 64,
    description:
      'Publish calls in flight per topic; a key always uses the same lane, so order per key holds. One lane ' +
      'batches best when the log client sends one request at a time (the Kafka log does)',
  }),
  bridgeAckTimeoutMs: setting.int('BV_BRIDGE_ACK_TIMEOUT_MS', {
    default: '30000',
    min: 100,
    description:
      'A message not durable after this long is not acknowledged: its client is disconnected and resends',
  }),
  reorderTimeoutMs: setting.int('BV_GATEWAY_REORDER_TIMEOUT_MS', {
    default: '2000',
    min: 1,
    description:
      'Primary host: an edge node whose seq skips a number and does not fill the gap within this long, or ' +
      'that sends data without an NBIRTH seen, is sent NCMD Node Control/Rebirth (at most one per window)',
  }),
  liveTopics: setting.boolean('BV_GATEWAY_LIVE_TOPICS', {
    default: 'false',
    description:
      'Republish bridged readings and device state as JSON on bv/<site>/... for browsers, in each edge ' +
      "node's seq order (costs one more broker publish per message)",
  }),
  commandsGroup: setting.string('BV_GATEWAY_COMMANDS_GROUP', {
    default: 'bv-gateway-commands',
    description: 'Consumer group reading bv.commands (shared by all nodes of the cluster)',
  }),
  logLevel: setting.logLevel(),
};

export type GatewayConfig = ConfigOf<typeof gatewayConfigSpec>;

/** Defaults for programmatic callers (tests, the launcher): the spec's own defaults. */
export const gatewayDefaults: GatewayConfig = loadConfig(gatewayConfigSpec, {});
