import { z } from 'zod';

/**
 * What the registry puts in the tokens it signs, and what the broker and the API accept. Tokens
 * are JWTs signed with the registry's key (ES256 or EdDSA), published as a JWKS at
 * `<cloud url>/.well-known/jwks.json`; verifiers check issuer, audience, expiry and algorithm.
 */
export const audiences = {
  /** The MQTT broker: device credentials, and user tokens for browsers and operator tools. */
  gateway: 'bitv-gateway',
  /** The cloud HTTP, WebSocket and gRPC APIs. */
  api: 'bitv-api',
} as const;

export const acceptedAlgorithms = ['ES256', 'EdDSA'] as const;

export const roles = ['staff', 'operator', 'partner', 'admin'] as const;
export type Role = (typeof roles)[number];

/** A gateway's credential: MQTT username = `sub` (its Sparkplug edge node id), password = the JWT. */
export const deviceClaims = z.object({
  iss: z.string().min(1),
  sub: z.string().min(1).max(128),
  kind: z.literal('gateway'),
  /** The Sparkplug group id (the site) the edge node belongs to. */
  group: z.string().min(1).max(128),
  jti: z.string().min(1),
  iat: z.number().int(),
  exp: z.number().int(),
});

/** A person's access token; `aud` includes `bitv-gateway` so browsers can use MQTT over WebSocket. */
export const userClaims = z.object({
  iss: z.string().min(1),
  sub: z.string().min(1),
  kind: z.literal('user'),
  role: z.enum(roles),
  /** Sites the user may see; absent means all (admins, operators of the whole fleet). */
  sites: z.array(z.string()).optional(),
  jti: z.string().min(1).optional(),
  iat: z.number().int(),
  exp: z.number().int(),
});

export type DeviceClaims = z.infer<typeof deviceClaims>;
export type UserClaims = z.infer<typeof userClaims>;
