import { UnauthenticatedError } from '@bitv/shared';
import type { Context } from 'hono';
import type { Session } from '../auth/users.js';
import type { Services } from './services.js';

/**
 * The address a request came from: the socket's peer, or with `trustProxy` the address our own
 * reverse proxy appended last to X-Forwarded-For (earlier entries are whatever the client sent).
 * In-process requests (`app.request()`) have no socket and share one key.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'in-process';
}

/** Email and password login behind the login throttle (API and dashboard alike). */
export async function throttledLogin(
  s: Pick<Services, 'users' | 'loginThrottle' | 'trustProxy'>,
  c: Context,
  email: string,
  password: string,
): Promise<Session> {
  const attempt = s.loginThrottle.begin(email, clientAddress(c, s.trustProxy));
  try {
    const session = await s.users.login(email, password);
    attempt.succeeded();
    return session;
  } catch (error) {
    // A wrong password stays counted; any other failure (database down) was not a guess.
    if (!(error instanceof UnauthenticatedError)) attempt.undo();
    throw error;
  }
}
