/**
 * Signed firmware artifacts (docs/ota.md): the manifest format, Ed25519 release signing (the CLI)
 * and verification (the agent, before anything reaches a device).
 */
export * from './manifest.js';
export * from './signing.js';
