import { randomBytes } from 'node:crypto';
import type { CloudHandle } from '@bitv/cloud';

export interface FloorCredential {
  url: string;
  siteId: string;
  token: string;
}

const floorEmail = 'floor@demo.bitv.local';
/** Access tokens are short-lived: a fresh one well before the old one expires. */
const renewBeforeMs = 60_000;

/**
 * The demo's floor account (staff, the demo site): the simulated picker reads the pick station
 * with it and the demo shopper orders with it. Created once with a password nobody is told (it
 * never logs in); its access token is renewed before it expires.
 */
export async function demoFloor(
  cloud: CloudHandle,
  siteId: string,
): Promise<() => FloorCredential | undefined> {
  const users = cloud.services.users;
  let user = (await users.list()).find((u) => u.email === floorEmail);
  if (!user) {
    await users.create({
      email: floorEmail,
      name: 'Demo floor',
      role: 'staff',
      password: randomBytes(18).toString('base64url'),
      sites: [siteId],
    });
    user = (await users.list()).find((u) => u.email === floorEmail);
  }
  if (!user) throw new Error('the demo floor account could not be created');
  const account = user;
  let current: { token: string; expiresAt: Date } | undefined;
  let renewing: Promise<void> | undefined;
  const renew = async () => {
    current = await cloud.services.tokens.accessToken({
      id: account.id,
      role: account.role,
      sites: account.sites,
    });
  };
  await renew();
  return () => {
    if (current && current.expiresAt.getTime() - Date.now() < renewBeforeMs && !renewing) {
      renewing = renew().finally(() => {
        renewing = undefined;
      });
    }
    return current ? { url: cloud.url, siteId, token: current.token } : undefined;
  };
}
