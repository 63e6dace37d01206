import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { audiences } from '@bitv/shared/auth';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface TokenIssuer {
  jwks: { keys: JWK[] };
  /** The JWKS of the other key (the one `forgedKey` signs with), as after a key rotation. */
  rotatedJwks: { keys: JWK[] };
  /** A JWKS served over HTTP on a port-0 server (for the remote key set path). */
  jwksUrl: string;
  gateway(edgeNodeId: string, groupId: string, overrides?: TokenOverrides): Promise<string>;
  user(userId: string, role: string, overrides?: TokenOverrides & { sites?: string[] }): Promise<string>;
  close(): Promise<void>;
}

export interface TokenOverrides {
  issuer?: string;
  audience?: string | string[];
  expiresInSeconds?: number;
  jti?: string;
  /** Sign with another key than the one in the JWKS (a forgery). */
  forgedKey?: boolean;
}

export const testIssuer = 'bitvelocity-test';

/** An ES256 registry key pair, its JWKS on an HTTP server, and token minting like the cloud's. */
export async function tokenIssuer(): Promise<TokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const forged = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'registry-1', alg: 'ES256', use: 'sig' };
  const jwks = { keys: [jwk] };
  const rotatedJwks = {
    keys: [{ ...(await exportJWK(forged.publicKey)), kid: 'registry-1', alg: 'ES256', use: 'sig' }],
  };
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  let n = 0;
  const sign = async (claims: JWTPayload, o: TokenOverrides, defaultAudience: string | string[]) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...claims, jti: o.jti ?? `jti-${Date.now()}-${n++}` })
      .setProtectedHeader({ alg: 'ES256', kid: 'registry-1' })
      .setIssuer(o.issuer ?? testIssuer)
      .setAudience(o.audience ?? defaultAudience)
      .setIssuedAt(now - 5)
      .setExpirationTime(now + (o.expiresInSeconds ?? 3600))
      .sign(o.forgedKey ? forged.privateKey : privateKey);
  };
  return {
    jwks,
    rotatedJwks,
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    gateway: (edgeNodeId, groupId, o = {}) =>
      sign({ sub: edgeNodeId, kind: 'gateway', group: groupId }, o, audiences.gateway),
    user: (userId, role, o = {}) =>
      sign({ sub: userId, kind: 'user', role, ...(o.sites ? { sites: o.sites } : {}) }, o, [
        audiences.api,
        audiences.gateway,
      ]),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
