import { acceptedAlgorithms, audiences, deviceClaims, userClaims } from '@bitv/shared/auth';
import { type JWTPayload, type JWTVerifyGetKey, errors as joseErrors, jwtVerify } from 'jose';
import type { Principal } from './principal.js';
import type { RevocationList } from './revocations.js';

/** Why a CONNECT was refused; the label of `bv_gateway_auth_failures_total`. */
export type AuthFailureReason =
  | 'no_credentials'
  | 'malformed_token'
  | 'bad_signature'
  | 'algorithm'
  | 'expired'
  | 'claims'
  | 'username_mismatch'
  | 'client_id'
  | 'revoked'
  | 'keys_unavailable';

/** MQTT 3.1.1 CONNACK return codes (section 3.2.2.3). */
export const connackCode = {
  identifierRejected: 2,
  serverUnavailable: 3,
  badCredentials: 4,
  notAuthorized: 5,
};

export class AuthFailure extends Error {
  constructor(
    readonly reason: AuthFailureReason,
    message: string,
    readonly returnCode: number = connackCode.badCredentials,
  ) {
    super(message);
    this.name = 'AuthFailure';
  }
}

export interface AuthenticatorOptions {
  keys: JWTVerifyGetKey;
  issuer: string;
  revocations: RevocationList;
}

export interface ConnectCredentials {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  /** Whether the broker assigned the id because the client sent an empty one. */
  clientIdAssigned: boolean;
}

/**
 * Verifies the JWT a client sends as its MQTT password: signature against the registry's JWKS,
 * algorithm (ES256 or EdDSA only, so `none` and HMAC keys never verify), expiry, issuer and
 * audience; then the claims' shape, the username and the client id.
 */
export function createAuthenticator(options: AuthenticatorOptions) {
  const { keys, issuer, revocations } = options;

  async function verify(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: [...acceptedAlgorithms],
        issuer,
        audience: audiences.gateway,
        requiredClaims: ['exp', 'iat', 'sub'],
      });
      return payload;
    } catch (error) {
      throw classify(error);
    }
  }

  return async function authenticate(credentials: ConnectCredentials): Promise<Principal> {
    const { username, password } = credentials;
    if (!username || !password || password.length === 0) {
      throw new AuthFailure('no_credentials', 'username and token required', connackCode.notAuthorized);
    }
    const payload = await verify(password.toString('utf8'));
    if (payload.kind === 'gateway') {
      const claims = deviceClaims.safeParse(payload);
      if (!claims.success) throw new AuthFailure('claims', 'device token claims do not fit the schema');
      const c = claims.data;
      if (c.sub !== username) throw new AuthFailure('username_mismatch', 'username is not the token subject');
      if (revocations.has(c.jti))
        throw new AuthFailure('revoked', 'credential revoked', connackCode.notAuthorized);
      // An edge node's client id is its own id (or a suffixed form of it), so no one can take over
      // its persistent session and the NCMD/DCMD queued in it [MQTT-3.1.4-2].
      if (!ownsClientId(credentials, c.sub, false)) {
        throw new AuthFailure(
          'client_id',
          'client id must be the edge node id',
          connackCode.identifierRejected,
        );
      }
      return { kind: 'gateway', edgeNodeId: c.sub, groupId: c.group, jti: c.jti, expiresAt: c.exp * 1000 };
    }
    if (payload.kind === 'user') {
      const claims = userClaims.safeParse(payload);
      if (!claims.success) throw new AuthFailure('claims', 'user token claims do not fit the schema');
      const c = claims.data;
      if (c.sub !== username) throw new AuthFailure('username_mismatch', 'username is not the token subject');
      if (c.jti !== undefined && revocations.has(c.jti)) {
        throw new AuthFailure('revoked', 'token revoked', connackCode.notAuthorized);
      }
      if (!ownsClientId(credentials, c.sub, true)) {
        throw new AuthFailure(
          'client_id',
          'client id must start with the user id',
          connackCode.identifierRejected,
        );
      }
      return {
        kind: 'user',
        userId: c.sub,
        role: c.role,
        sites: c.sites,
        jti: c.jti,
        expiresAt: c.exp * 1000,
      };
    }
    throw new AuthFailure('claims', 'token kind is neither gateway nor user');
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;

/** `<owner>` or `<owner>:<suffix>`; users may also let the broker assign a random id (clean sessions). */
function ownsClientId(credentials: ConnectCredentials, owner: string, allowAssigned: boolean): boolean {
  if (credentials.clientIdAssigned) return allowAssigned;
  const id = credentials.clientId;
  return id === owner || id.startsWith(`${owner}:`);
}

function classify(error: unknown): AuthFailure {
  if (error instanceof joseErrors.JWTExpired) return new AuthFailure('expired', 'token expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return new AuthFailure('claims', `token claim "${error.claim}" rejected: ${error.reason}`);
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return new AuthFailure('algorithm', 'token algorithm refused');
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new AuthFailure('bad_signature', 'token signature does not verify');
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey)
    return new AuthFailure('bad_signature', 'no key matches the token');
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) {
    return new AuthFailure('keys_unavailable', 'registry keys unavailable', connackCode.serverUnavailable);
  }
  if (error instanceof joseErrors.JOSENotSupported)
    return new AuthFailure('algorithm', 'token algorithm refused');
  if (error instanceof joseErrors.JOSEError)
    return new AuthFailure('malformed_token', `token refused: ${error.code}`);
  // fetch failures of the remote JWKS surface as plain errors
  return new AuthFailure(
    'keys_unavailable',
    `cannot verify token: ${String(error)}`,
    connackCode.serverUnavailable,
  );
}
