/** Kafka topic names (and database-log topic names): one per stream, see ARCHITECTURE.md. */
export const topics = {
  telemetry: 'bv.telemetry',
  deviceState: 'bv.device-state',
  commands: 'bv.commands',
  commandResults: 'bv.command-results',
  inventory: 'bv.inventory',
  registry: 'bv.registry',
  shadows: 'bv.shadows',
  alarms: 'bv.alarms',
  fulfilment: 'bv.fulfilment',
  catalog: 'bv.catalog',
  orders: 'bv.orders',
  chat: 'bv.chat',
  payments: 'bv.payments',
} as const;

/** Where events that failed their handler N times go, with the reason in the `deadletterreason` extension. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}
