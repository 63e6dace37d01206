import { describe, expect, it } from 'vitest';
import type { Principal } from '../api/principal.js';
import { dmRoomId, type FindOrder, mayEnter, mentionsIn, parseRoomId, type Room } from './rooms.js';
import { roomView } from './store.js';

const staff = (sites: string[] | null): Principal => ({ kind: 'user', id: 'sue', role: 'staff', sites });
const shopper = (id: string): Principal => ({ kind: 'user', id, role: 'partner', sites: null });
const orders: FindOrder = async (id) => (id === 'o1' ? { siteId: 's1', customerId: 'ann' } : undefined);
const room = (id: string) => parseRoomId(id) as Room;

describe('chat rooms', () => {
  it('parses room ids and refuses malformed ones', () => {
    expect(parseRoomId('site:s1')).toEqual({ kind: 'site', siteId: 's1' });
    expect(parseRoomId(dmRoomId('zed', 'amy'))).toEqual({ kind: 'dm', members: ['amy', 'zed'] });
    for (const bad of ['site:', 'dm:b,a', 'dm:a', 'dm:a,a', 'lobby:x', 'site:a b', 'order:']) {
      expect(parseRoomId(bad), bad).toBeUndefined();
    }
  });

  it('support rooms: the order’s shopper and its site’s staff, nobody else', async () => {
    expect(await mayEnter(shopper('ann'), room('order:o1'), orders)).toBe(true);
    expect(await mayEnter(shopper('bob'), room('order:o1'), orders)).toBe(false);
    expect(await mayEnter(staff(['s1']), room('order:o1'), orders)).toBe(true);
    expect(await mayEnter(staff(['s2']), room('order:o1'), orders)).toBe(false);
    expect(await mayEnter(shopper('ann'), room('order:o2'), orders)).toBe(false);
    // Without the orders module there are no support rooms.
    expect(await mayEnter(staff(null), room('order:o1'), undefined)).toBe(false);
  });

  it('site rooms are staff-only and per site; direct messages only for their two members', async () => {
    expect(await mayEnter(staff(['s1']), room('site:s1'), orders)).toBe(true);
    expect(await mayEnter(staff(['s1']), room('site:s2'), orders)).toBe(false);
    expect(await mayEnter(shopper('ann'), room('site:s1'), orders)).toBe(false);
    expect(await mayEnter(staff(null), room(dmRoomId('sue', 'tom')), orders)).toBe(true);
    expect(await mayEnter(shopper('ann'), room(dmRoomId('sue', 'tom')), orders)).toBe(false);
    const gateway: Principal = { kind: 'gateway', id: 'gw', groupId: 's1', jti: 'j' };
    expect(await mayEnter(gateway, room('site:s1'), orders)).toBe(false);
  });

  it('finds mentions, not e-mail addresses', () => {
    expect(mentionsIn('hi @sue and @tom, mail a@b.c, @sue again')).toEqual(['sue', 'tom']);
  });

  it('shows messages in clock order with the latest edit and deletes applied, whatever the arrival order', () => {
    const base = { roomId: 'site:s1', mentions: [], origin: 'a', at: '2026-01-01T00:00:00.000Z' };
    const events = [
      {
        ...base,
        eventId: 'b/1',
        messageId: 'b/1',
        kind: 'message' as const,
        author: 'b',
        body: 'second',
        hlc: '0000000000002-00000-b',
      },
      {
        ...base,
        eventId: 'a/1',
        messageId: 'a/1',
        kind: 'message' as const,
        author: 'a',
        body: 'first',
        hlc: '0000000000001-00000-a',
      },
      {
        ...base,
        eventId: 'a/3',
        messageId: 'a/1',
        kind: 'edit' as const,
        author: 'a',
        body: 'first!!',
        hlc: '0000000000004-00000-a',
      },
      {
        ...base,
        eventId: 'a/2',
        messageId: 'a/1',
        kind: 'edit' as const,
        author: 'a',
        body: 'first!',
        hlc: '0000000000003-00000-a',
      },
      {
        ...base,
        eventId: 'b/2',
        messageId: 'b/1',
        kind: 'delete' as const,
        author: 'b',
        body: '',
        hlc: '0000000000005-00000-b',
      },
    ];
    const view = roomView(events);
    expect(view.map((m) => [m.messageId, m.body, m.edited, m.deleted])).toEqual([
      ['a/1', 'first!!', true, false],
      ['b/1', '', false, true],
    ]);
    expect(roomView([...events].reverse())).toEqual(view);
  });
});
