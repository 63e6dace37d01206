import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { z } from 'zod';
import type { CloudDb } from '../db/index.js';

export type SigningAlgorithm = 'ES256' | 'EdDSA';

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface KeyStore {
  /** The key new tokens are signed with. */
  readonly current: SigningKey;
  /** Public keys a verifier accepts (current and not yet retired ones). */
  jwks(): { keys: JWK[] };
  publicKey(kid: string): Promise<CryptoKey | undefined>;
}

const jwkFile = z
  .object({ kty: z.string(), kid: z.string().optional(), alg: z.string().optional() })
  .passthrough();

/**
 * Loads the registry's signing key: from a JWK file when one is configured (production keeps it
 * in a secret store), otherwise the newest key in the database, generating and storing one on the
 * first start. Keys from the database survive restarts, so issued credentials stay valid.
 */
export async function loadKeyStore(
  db: CloudDb,
  options: { keyFile?: string; alg: SigningAlgorithm },
): Promise<KeyStore> {
  let current: SigningKey;
  const extra: { kid: string; alg: string; publicJwk: JWK }[] = [];
  if (options.keyFile) {
    const parsed = jwkFile.parse(JSON.parse(await readFile(options.keyFile, 'utf8'))) as JWK;
    const alg = (parsed.alg ?? (parsed.kty === 'OKP' ? 'EdDSA' : 'ES256')) as SigningAlgorithm;
    const privateKey = (await importJWK(parsed, alg)) as CryptoKey;
    const { d: _d, ...publicJwk } = parsed;
    current = { kid: parsed.kid ?? 'file', alg, privateKey, publicJwk: { ...publicJwk, alg, use: 'sig' } };
  } else {
    const rows = await db
      .selectFrom('signing_keys')
      .selectAll()
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .execute();
    const newest = rows[0];
    if (newest) {
      const alg = newest.alg as SigningAlgorithm;
      current = {
        kid: newest.kid,
        alg,
        privateKey: (await importJWK(newest.private_jwk as JWK, alg)) as CryptoKey,
        publicJwk: newest.public_jwk as JWK,
      };
      for (const r of rows.slice(1)) extra.push({ kid: r.kid, alg: r.alg, publicJwk: r.public_jwk as JWK });
    } else {
      current = await generate(options.alg);
      const privateJwk = await exportJWK(current.privateKey);
      await db
        .insertInto('signing_keys')
        .values({
          kid: current.kid,
          alg: current.alg,
          private_jwk: JSON.stringify(privateJwk),
          public_jwk: JSON.stringify(current.publicJwk),
        })
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }
  const publicJwks = [current.publicJwk, ...extra.map((e) => e.publicJwk)];
  const imported = new Map<string, Promise<CryptoKey>>();
  return {
    current,
    jwks: () => ({ keys: publicJwks }),
    publicKey: (kid) => {
      const jwk = publicJwks.find((k) => k.kid === kid);
      if (!jwk) return Promise.resolve(undefined);
      let key = imported.get(kid);
      if (!key) {
        key = importJWK(jwk, jwk.alg) as Promise<CryptoKey>;
        imported.set(kid, key);
      }
      return key;
    },
  };
}

async function generate(alg: SigningAlgorithm): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    crv: alg === 'EdDSA' ? 'Ed25519' : undefined,
  });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}
