/**
 * The one place a default port or address of the platform is written. Every config spec (the
 * gateway's, the edge agent's, the cloud's, the launcher's) builds its defaults from these, so a
 * component's default always points at the other component's default listener.
 */
export const defaultPorts = {
  /** The gateway's plain MQTT listener. Never 1883: a machine's Mosquitto has that one. */
  gatewayMqtt: 1884,
  /** The gateway's MQTT over TLS listener (when a key and certificate are given). */
  gatewayMqtts: 8884,
  /** The gateway's MQTT over WebSocket listener (browsers). */
  gatewayWs: 8083,
  /** The gateway's /healthz and /metrics. */
  gatewayOps: 9464,
  /** The cloud's HTTP API and dashboard. */
  cloudHttp: 8080,
  /** The cloud's gRPC InventoryService. */
  cloudGrpc: 50051,
  /** The edge agent's /healthz and /metrics. */
  edgeOps: 9102,
  /** The simulator's control API in the one-process platform. */
  simControl: 8090,
} as const;

/** Every listener binds to loopback unless told otherwise. */
export const defaultHost = '127.0.0.1';

/** Where an edge agent finds the gateway by default: its plain MQTT listener. */
export const defaultBrokerUrl = `mqtt://${defaultHost}:${defaultPorts.gatewayMqtt}`;

/**
 * The broker URL the cloud hands to a gateway it provisions: the gateway's TLS listener, since a
 * provisioned gateway reaches the broker over a network it does not own.
 */
export const defaultProvisionedBrokerUrl = `mqtts://${defaultHost}:${defaultPorts.gatewayMqtts}`;

/** pino's levels; every process reads its level from BV_LOG_LEVEL. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];
