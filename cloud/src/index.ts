export type { Principal } from './api/principal.js';
export { type CloudHandle, startCloud } from './cloud.js';
export { type CloudConfig, type CloudEnvConfig, cloudConfigSpec, cloudDefaults } from './config.js';
export type { DemoBin, DemoInput, DemoSeeded, DemoShelf } from './demo/seed.js';
export type { LiveMessage } from './live/hub.js';
export { livePath } from './live/ws.js';
export { deviceIdOf } from './registry/registry.js';
export { webhookSettingsSpec } from './webhooks/settings.js';
