import { createHash, randomBytes } from 'node:crypto';

/** A random token for one-time secrets (claim tokens, invitations, API keys): 192 bits, base64url. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}

/**
 * Secrets with this much entropy need no slow hash: SHA-256 is enough to make a stolen database
 * useless for presenting them, and lets the server look a secret up by its hash.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}
