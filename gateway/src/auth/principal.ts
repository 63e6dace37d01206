import type { Role } from '@bitv/shared/auth';

/** Who is on the other end of an MQTT connection, as established by its CONNECT. */
export type Principal =
  | {
      kind: 'gateway';
      /** Sparkplug edge node id (token `sub`, MQTT username). */
      edgeNodeId: string;
      /** Sparkplug group id (the site). */
      groupId: string;
      jti: string;
      /** Token expiry, ms since epoch. */
      expiresAt: number;
    }
  | {
      kind: 'user';
      userId: string;
      role: Role;
      /** Sites the user may see; undefined means every site. */
      sites: readonly string[] | undefined;
      jti: string | undefined;
      expiresAt: number;
    }
  /** Development mode only (`--allow-anonymous`): any client, any topic. */
  | { kind: 'anonymous' };

export type PrincipalKind = Principal['kind'];
