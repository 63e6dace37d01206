export { type Acl, aclFor } from './acl/acl.js';
export { filterWithin, topicMatches } from './acl/topics.js';
export { AuthFailure, type AuthFailureReason, createAuthenticator } from './auth/authenticator.js';
export { type KeySource, loadKeys } from './auth/keys.js';
export type { Principal } from './auth/principal.js';
export { BridgePipeline } from './bridge/pipeline.js';
export { translate } from './bridge/translate.js';
export { type GatewayConfig, gatewayConfigSpec, gatewayDefaults } from './config.js';
export { type GatewayDeps, type GatewayHandle, startGateway } from './start.js';
