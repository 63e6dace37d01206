export * from './envelope.js';
export * from './registry.js';
export * from './types/alarms.js';
export * from './types/catalog.js';
export * from './types/chat.js';
export * from './types/commands.js';
export * from './types/device-state.js';
export * from './types/fulfilment.js';
export * from './types/inventory.js';
export * from './types/orders.js';
export * from './types/payments.js';
export * from './types/registry.js';
export * from './types/shadows.js';
export * from './types/telemetry.js';
export * from './types/telemetry-gap.js';
export * from './types/telemetry-metrics.js';
export * from './types/topics.js';

import { EventRegistry } from './registry.js';
import { alarmChangedV1 } from './types/alarms.js';
import { catalogEvents } from './types/catalog.js';
import { chatEventV1 } from './types/chat.js';
import { commandRequestedV1, commandResultV1 } from './types/commands.js';
import { deviceStateV1 } from './types/device-state.js';
import { fulfilmentEvents } from './types/fulfilment.js';
import { hardwareAlertV1, reservationChangedV1, stockAlertV1, stockChangedV1 } from './types/inventory.js';
import { orderEvents } from './types/orders.js';
import { paymentEvents } from './types/payments.js';
import { credentialRevokedV1 } from './types/registry.js';
import { shadowDesiredChangedV1, shadowReportedV1 } from './types/shadows.js';
import { telemetryReadingsV1 } from './types/telemetry.js';
import { telemetryGapV1 } from './types/telemetry-gap.js';
import { telemetryMetricsV1 } from './types/telemetry-metrics.js';

/** A registry holding every event type defined in `shared`; services add their own domain types. */
export function platformEvents(): EventRegistry {
  return new EventRegistry([
    telemetryReadingsV1,
    deviceStateV1,
    commandRequestedV1,
    commandResultV1,
    credentialRevokedV1,
    stockChangedV1,
    stockAlertV1,
    hardwareAlertV1,
    reservationChangedV1,
    telemetryGapV1,
    telemetryMetricsV1,
    shadowDesiredChangedV1,
    shadowReportedV1,
    alarmChangedV1,
    chatEventV1,
    ...fulfilmentEvents,
    ...catalogEvents,
    ...orderEvents,
    ...paymentEvents,
  ]);
}
