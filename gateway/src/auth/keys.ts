import { readFile, stat } from 'node:fs/promises';
import { UnavailableError, ValidationError } from '@bitv/shared/errors';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';

export type KeySource =
  | { url: string; cacheMaxAgeMs?: number }
  | { file: string; reload?: FileReload }
  | { jwks: JSONWebKeySet };

/** How a key file is watched for rotation. */
export interface FileReload {
  /** The file's modification time is checked at most this often, when a token is verified. */
  checkEveryMs: number;
  /** A changed file was read: `error` when it could not be used (the previous keys stay). */
  onReload(result: { file: string; keys?: number; error?: Error }): void;
}

const jwksShape = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

/**
 * The registry's public keys. From a URL the set is cached and fetched again after
 * `cacheMaxAgeMs`, or sooner when a token names a key id the cache does not have (jose's
 * cooldown keeps a flood of unknown kids from hammering the registry). From a file it is read at
 * start (a broken file stops the start) and, with `reload`, read again when the file changes, so
 * keys rotate without a restart; a changed file that cannot be used keeps the previous keys.
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
  const { file, reload } = source;
  let loaded = await readKeyFile(file);
  if (!reload) return loaded.getKey;
  let checkedAt = Date.now();
  let checking: Promise<void> | undefined;
  const check = async () => {
    const changedAt = await stat(file).then(
      (s) => s.mtimeMs,
      () => loaded.mtimeMs, // gone for a moment (an editor's rename): keep what we have
    );
    if (changedAt === loaded.mtimeMs) return;
    try {
      loaded = await readKeyFile(file);
      reload.onReload({ file, keys: loaded.count });
    } catch (error) {
      // remember the broken version so it is reported once, not at every check
      loaded = { ...loaded, mtimeMs: changedAt };
      reload.onReload({ file, error: error instanceof Error ? error : new Error(String(error)) });
    }
  };
  return async (header, token) => {
    if (Date.now() - checkedAt >= reload.checkEveryMs) {
      checkedAt = Date.now();
      checking ??= check().finally(() => {
        checking = undefined;
      });
    }
    if (checking) await checking;
    return loaded.getKey(header, token);
  };
}

async function readKeyFile(
  file: string,
): Promise<{ getKey: JWTVerifyGetKey; mtimeMs: number; count: number }> {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = (await stat(file)).mtimeMs;
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UnavailableError(`cannot read JWKS file ${file}`, { cause: error, retriable: false });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`JWKS file ${file} is not JSON`, { cause: error });
  }
  const jwks = jwksShape.safeParse(parsed);
  if (!jwks.success) throw new ValidationError(`JWKS file ${file} has no "keys" array`);
  return {
    getKey: createLocalJWKSet(jwks.data as unknown as JSONWebKeySet),
    mtimeMs,
    count: jwks.data.keys.length,
  };
}
