import { readFile } from 'node:fs/promises';
import { UnavailableError, ValidationError } from '@bitv/shared/errors';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';

export type KeySource = { url: string; cacheMaxAgeMs?: number } | { file: string } | { jwks: JSONWebKeySet };

const jwksShape = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

/**
 * The registry's public keys. From a URL the set is cached and fetched again after
 * `cacheMaxAgeMs`, or sooner when a token names a key id the cache does not have (jose's
 * cooldown keeps a flood of unknown kids from hammering the registry). From a file it is read once.
 */
export async function loadKeys(source: KeySource): Promise<JWTVerifyGetKey> {
  if ('url' in source) {
    return createRemoteJWKSet(new URL(source.url), {
      cacheMaxAge: source.cacheMaxAgeMs ?? 600_000,
      cooldownDuration: 30_000,
      timeoutDuration: 5_000,
    });
  }
  if ('jwks' in source) return createLocalJWKSet(source.jwks);
  let text: string;
  try {
    text = await readFile(source.file, 'utf8');
  } catch (error) {
    throw new UnavailableError(`cannot read JWKS file ${source.file}`, { cause: error, retriable: false });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`JWKS file ${source.file} is not JSON`, { cause: error });
  }
  const jwks = jwksShape.safeParse(parsed);
  if (!jwks.success) throw new ValidationError(`JWKS file ${source.file} has no "keys" array`);
  return createLocalJWKSet(jwks.data as unknown as JSONWebKeySet);
}
