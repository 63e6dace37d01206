import { ForbiddenError } from '@bitv/shared';
import type { Role } from '@bitv/shared/auth';

/** Who made a request, as the authenticator established it. */
export type Principal =
  | { kind: 'user'; id: string; role: Role; sites: string[] | null }
  | { kind: 'api-key'; id: string; ownerId: string; role: Role; sites: null }
  | { kind: 'gateway'; id: string; groupId: string; jti: string };

/** Who may call a route: anyone, a gateway with its device credential, or users of these roles. */
export type Access = 'public' | 'gateway' | readonly Role[];

export function canSeeSite(principal: Principal, siteId: string): boolean {
  if (principal.kind === 'gateway') return principal.groupId === siteId;
  return principal.sites === null || principal.sites.includes(siteId);
}

export function assertSite(principal: Principal, siteId: string): void {
  if (!canSeeSite(principal, siteId)) throw new ForbiddenError(`no access to site ${siteId}`);
}

/** The person a caller acts for: a user themselves, an API key's owner; none for a gateway. */
export function personOf(principal: Principal): string | null {
  if (principal.kind === 'gateway') return null;
  return principal.kind === 'api-key' ? principal.ownerId : principal.id;
}

export function actorOf(principal: Principal): string {
  return `${principal.kind}:${principal.id}`;
}
