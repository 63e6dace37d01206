import { counter, gauge, type Registry } from '@bitv/shared/metrics';

/** Every metric the edge agent exports on /metrics (prefix `bv_edge_`). */
export function agentMetrics(registry: Registry) {
  return {
    readingsStored: counter(registry, 'bv_edge_readings_stored_total', 'Readings committed to the outbox'),
    storeErrors: counter(
      registry,
      'bv_edge_store_errors_total',
      'Readings lost because the outbox write failed',
    ),
    internalErrors: counter(
      registry,
      'bv_edge_internal_errors_total',
      'Handler steps that failed and were skipped',
      ['what'],
    ),
    readingsPublished: counter(
      registry,
      'bv_edge_readings_published_total',
      'Readings acknowledged by the broker',
      ['historical'],
    ),
    messagesPublished: counter(registry, 'bv_edge_messages_published_total', 'Sparkplug messages published', [
      'type',
    ]),
    inFlight: gauge(
      registry,
      'bv_edge_messages_in_flight',
      'QoS 1 messages published and not yet acknowledged',
    ),
    uplinkState: gauge(registry, 'bv_edge_uplink_state', 'Uplink state (1 for the current one)', ['state']),
    reconnects: counter(registry, 'bv_edge_reconnects_total', 'MQTT sessions started after the first'),
    outboxDepth: gauge(registry, 'bv_edge_outbox_depth', 'Readings stored and not yet acknowledged'),
    outboxBytes: gauge(registry, 'bv_edge_outbox_bytes', 'Approximate bytes held by the outbox'),
    outboxOldestAge: gauge(
      registry,
      'bv_edge_outbox_oldest_unsent_seconds',
      'Age of the oldest unsent reading',
    ),
    dropped: counter(registry, 'bv_edge_outbox_dropped_total', 'Readings dropped by the outbox policy', [
      'reason',
    ]),
    linkFramesLost: counter(
      registry,
      'bv_edge_link_frames_lost_total',
      'Shelf-link frames sent but never stored',
      ['device'],
    ),
    linkDuplicates: counter(
      registry,
      'bv_edge_link_duplicate_readings_total',
      'Readings a replay shelf sent again that were already stored (not stored twice)',
      ['device'],
    ),
    badFrames: counter(registry, 'bv_edge_serial_bad_frames_total', 'Serial frames dropped as invalid', [
      'reason',
    ]),
    linkState: gauge(registry, 'bv_edge_link_up', 'Whether a driver link is up', ['link']),
    linkOpenFailures: counter(
      registry,
      'bv_edge_link_open_failures_total',
      'Attempts to open a driver link (serial port) that failed',
      ['link'],
    ),
    commands: counter(registry, 'bv_edge_commands_total', 'Commands by outcome', ['status']),
    commandsRejected: counter(registry, 'bv_edge_commands_rejected_total', 'NCMD/DCMD input refused', [
      'reason',
    ]),
    unknownMetrics: counter(
      registry,
      'bv_edge_unknown_metrics_total',
      'Unknown metrics in NCMD/DCMD (ignored)',
    ),
  };
}

export type AgentMetrics = ReturnType<typeof agentMetrics>;
