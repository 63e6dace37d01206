import { counter, gauge, hotHistogram, type Registry } from '@bitv/shared/metrics';

/** Every series the gateway exports, created once per registry. */
export function gatewayMetrics(registry: Registry) {
  return {
    connections: gauge(registry, 'bv_gateway_connections', 'MQTT clients connected to this node', [
      'principal',
    ]),
    connects: counter(registry, 'bv_gateway_connects_total', 'CONNECT attempts by outcome', ['result']),
    messagesIn: counter(registry, 'bv_gateway_messages_received_total', 'PUBLISH packets received by type', [
      'type',
    ]),
    messagesOut: counter(registry, 'bv_gateway_messages_sent_total', 'PUBLISH packets delivered by type', [
      'type',
    ]),
    bytesIn: counter(registry, 'bv_gateway_bytes_received_total', 'Bytes read from client connections'),
    bytesOut: counter(
      registry,
      'bv_gateway_publish_bytes_sent_total',
      'Topic and payload bytes of PUBLISH packets delivered to clients',
    ),
    authFailures: counter(registry, 'bv_gateway_auth_failures_total', 'Refused CONNECTs by reason', [
      'reason',
    ]),
    clusterForwards: counter(
      registry,
      'bv_gateway_cluster_forwards_total',
      'Messages forwarded to another cluster node that has a matching subscription',
    ),
    keyReloads: counter(registry, 'bv_gateway_key_reloads_total', 'JWKS file re-reads after a change', [
      'result',
    ]),
    aclDenials: counter(registry, 'bv_gateway_acl_denials_total', 'Refused publishes and subscriptions', [
      'action',
      'principal',
    ]),
    dropped: counter(registry, 'bv_gateway_dropped_total', 'Inputs counted and dropped by reason', [
      'reason',
    ]),
    clientErrors: counter(registry, 'bv_gateway_client_errors_total', 'Connections closed by an error'),
    bridgeInflight: gauge(registry, 'bv_gateway_bridge_inflight', 'Messages waiting for the event log'),
    // observed for every message: prom-client's own observe showed in the profile (hot.ts)
    bridgeLag: hotHistogram(
      registry,
      'bv_gateway_bridge_lag_seconds',
      'From PUBLISH received to event log acknowledgement',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    bridgeOldest: gauge(
      registry,
      'bv_gateway_bridge_oldest_inflight_seconds',
      'Age of the oldest message still waiting for the event log',
    ),
    bridgeEvents: counter(registry, 'bv_gateway_bridge_events_total', 'Events written to the event log', [
      'topic',
    ]),
    rebirthRequests: counter(
      registry,
      'bv_gateway_rebirth_requests_total',
      'NCMD Node Control/Rebirth sent by the primary host, by reason (seq_gap, no_birth)',
      ['reason'],
    ),
    bridgeReadings: counter(registry, 'bv_gateway_bridge_readings_total', 'Shelf readings written'),
    bridgeHealthy: gauge(registry, 'bv_gateway_bridge_healthy', '1 while the event log takes writes'),
    eventLogErrors: counter(registry, 'bv_gateway_event_log_errors_total', 'Failed event log calls', [
      'operation',
    ]),
    ackTimeouts: counter(
      registry,
      'bv_gateway_bridge_ack_timeouts_total',
      'Messages not made durable in time; their client was disconnected',
    ),
    commands: counter(registry, 'bv_gateway_commands_total', 'bv.commands handled by outcome', ['result']),
    revocations: counter(registry, 'bv_gateway_revocations_total', 'Credential revocations received'),
  };
}

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;
