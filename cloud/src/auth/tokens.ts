import { randomUUID } from 'node:crypto';
import { UnauthenticatedError } from '@bitv/shared';
import {
  acceptedAlgorithms,
  audiences,
  type DeviceClaims,
  deviceClaims,
  type Role,
  type UserClaims,
  userClaims,
} from '@bitv/shared/auth';
import { type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { KeyStore } from './keys.js';
import { VerifiedTokens } from './verified-tokens.js';

export interface TokenSettings {
  issuer: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  deviceTtlSeconds: number;
  /** Verified access tokens remembered until they expire (0 turns the cache off). */
  verifiedCacheSize?: number;
}

/** Enough for every SSE subscriber and reader of one busy instance, at ~1 KB an entry. */
const defaultVerifiedCacheSize = 20_000;

const refreshClaims = z.object({
  iss: z.string(),
  sub: z.string(),
  kind: z.literal('refresh'),
  jti: z.string(),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type RefreshClaims = z.infer<typeof refreshClaims>;

/** The audience of refresh tokens: only the cloud's own refresh endpoint accepts them. */
const refreshAudience = 'bitv-refresh';

export interface SignedToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

/** Signs and verifies every JWT the cloud issues: user access, user refresh, gateway credentials. */
export class Tokens {
  private readonly verifiedAccess: VerifiedTokens<UserClaims>;

  constructor(
    private readonly keys: KeyStore,
    readonly settings: TokenSettings,
  ) {
    this.verifiedAccess = new VerifiedTokens(settings.verifiedCacheSize ?? defaultVerifiedCacheSize);
  }

  private async sign(
    claims: Record<string, unknown>,
    sub: string,
    aud: string | string[],
    ttl: number,
  ): Promise<SignedToken> {
    const jti = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const { kid, alg, privateKey } = this.keys.current;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(this.settings.issuer)
      .setSubject(sub)
      .setAudience(aud)
      .setJti(jti)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(privateKey);
    return { token, jti, expiresAt: new Date((now + ttl) * 1000) };
  }

  accessToken(user: { id: string; role: Role; sites: string[] | null }): Promise<SignedToken> {
    const claims: Record<string, unknown> = { kind: 'user', role: user.role };
    if (user.sites) claims.sites = user.sites;
    return this.sign(claims, user.id, [audiences.api, audiences.gateway], this.settings.accessTtlSeconds);
  }

  refreshToken(userId: string): Promise<SignedToken> {
    return this.sign({ kind: 'refresh' }, userId, refreshAudience, this.settings.refreshTtlSeconds);
  }

  deviceCredential(edgeNodeId: string, groupId: string): Promise<SignedToken> {
    return this.sign(
      { kind: 'gateway', group: groupId },
      edgeNodeId,
      audiences.gateway,
      this.settings.deviceTtlSeconds,
    );
  }

  private async verify(token: string, audience: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid ? await this.keys.publicKey(header.kid) : undefined;
          if (!key) throw new UnauthenticatedError('token signed by an unknown key');
          return key;
        },
        { issuer: this.settings.issuer, audience, algorithms: [...acceptedAlgorithms] },
      );
      return payload;
    } catch (error) {
      if (error instanceof UnauthenticatedError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new UnauthenticatedError('token expired');
      throw new UnauthenticatedError('invalid token', { cause: error });
    }
  }

  async verifyAccess(token: string): Promise<UserClaims> {
    const known = this.verifiedAccess.get(token);
    if (known) return known;
    const parsed = userClaims.safeParse(await this.verify(token, audiences.api));
    if (!parsed.success) throw new UnauthenticatedError('not a user access token');
    this.verifiedAccess.set(token, parsed.data);
    return parsed.data;
  }

  async verifyRefresh(token: string): Promise<RefreshClaims> {
    const parsed = refreshClaims.safeParse(await this.verify(token, refreshAudience));
    if (!parsed.success) throw new UnauthenticatedError('not a refresh token');
    return parsed.data;
  }

  async verifyDevice(token: string): Promise<DeviceClaims> {
    const parsed = deviceClaims.safeParse(await this.verify(token, audiences.gateway));
    if (!parsed.success) throw new UnauthenticatedError('not a gateway credential');
    return parsed.data;
  }
}
