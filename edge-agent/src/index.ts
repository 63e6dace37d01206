export { type EdgeAgentDeps, type EdgeAgentHandle, type EdgeAgentStatus, startEdgeAgent } from './agent.js';
export { configFileText, type EdgeConfig, edgeConfigSpec, loadEdgeConfig } from './config.js';
export type { DriverSink } from './drivers/driver.js';
export { ShelfLinkDriver } from './drivers/shelf-link.js';
export { type ProvisionOptions, type ProvisionResult, provision, rotateCredential } from './provision.js';
export { agentVersion } from './version.js';
