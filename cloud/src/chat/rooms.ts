import { canSeeSite, type Principal, personOf } from '../api/principal.js';

/** Who an order belongs to, as the orders module's read model knows it. */
export interface OrderParties {
  siteId: string;
  customerId: string;
}

/** Looks an order up for the support room's rule; undefined when there is no such order. */
export type FindOrder = (orderId: string) => Promise<OrderParties | undefined>;

/**
 * Room ids say what the room is: `site:<siteId>` (that site's staff and operators),
 * `dm:<userA>,<userB>` (the two ids sorted), `order:<orderId>` (the order's shopper and its site's
 * staff).
 */
export type Room =
  | { kind: 'site'; siteId: string }
  | { kind: 'dm'; members: [string, string] }
  | { kind: 'order'; orderId: string };

const part = /^[A-Za-z0-9_.@:-]{1,128}$/;

export function parseRoomId(roomId: string): Room | undefined {
  const colon = roomId.indexOf(':');
  if (colon < 0) return undefined;
  const kind = roomId.slice(0, colon);
  const rest = roomId.slice(colon + 1);
  if (kind === 'site' && part.test(rest)) return { kind, siteId: rest };
  if (kind === 'order' && part.test(rest)) return { kind, orderId: rest };
  if (kind === 'dm') {
    const ids = rest.split(',');
    const [a, b] = ids;
    if (ids.length === 2 && a && b && a < b && part.test(a) && part.test(b)) return { kind, members: [a, b] };
  }
  return undefined;
}

export function dmRoomId(a: string, b: string): string {
  return a < b ? `dm:${a},${b}` : `dm:${b},${a}`;
}

export function isShopperPrincipal(p: Principal): boolean {
  return p.kind !== 'gateway' && p.role === 'partner';
}

/**
 * Whether the caller may read and write the room. A shopper never reads a site room or another
 * shopper's support room; staff read their sites' rooms and those sites' orders' support rooms.
 * The order is looked up only for support rooms (undefined `findOrder`: the orders module is not
 * mounted, so there are no support rooms).
 */
export async function mayEnter(p: Principal, room: Room, findOrder: FindOrder | undefined): Promise<boolean> {
  const person = personOf(p);
  if (person === null) return false;
  switch (room.kind) {
    case 'site':
      return !isShopperPrincipal(p) && canSeeSite(p, room.siteId);
    case 'dm':
      return room.members.includes(person);
    case 'order': {
      const order = findOrder ? await findOrder(room.orderId) : undefined;
      if (!order) return false;
      return isShopperPrincipal(p) ? order.customerId === person : canSeeSite(p, order.siteId);
    }
  }
}

/** `@name` tokens in a message body (user ids), at most `max`, without duplicates. */
export function mentionsIn(body: string, max = 20): string[] {
  const found = new Set<string>();
  for (const m of body.matchAll(/(?:^|[^A-Za-z0-9_.@-])@([A-Za-z0-9_.-]{1,128})/g)) {
    found.add(m[1] as string);
    if (found.size >= max) break;
  }
  return [...found];
}
