import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tokens } from '../src/auth/tokens.js';
import { ChatClient, userOf } from './chat-client.js';
import { startTestCloud, type TestCloud } from './harness.js';

/**
 * The chat WebSocket on one cloud (PGlite, in-process cache): rooms and who may enter them,
 * messages with gapless sequences and idempotent resends, edits and deletes, typing, reads,
 * mentions, and bad input (refused upgrades, bad frames, oversized frames, floods) that never
 * harms a neighbour.
 */
describe('chat protocol', () => {
  let t: TestCloud;
  const open: ChatClient[] = [];
  const connect = async (token: string | undefined) => {
    const c = await ChatClient.connect(t.cloud.url, token);
    open.push(c);
    await c.next((f) => f.type === 'hello');
    return c;
  };
  beforeAll(async () => {
    t = await startTestCloud('pglite', {
      modules: ['registry', 'inventory', 'orders', 'chat'],
      chat: {
        maxFrameBytes: 2048,
        ratePerSecond: 5,
        rateBurst: 10,
        presenceTtlMs: 1_000,
        presenceCoalesceMs: 50,
      },
    });
  }, 180_000);
  afterAll(async () => {
    for (const c of open) c.close();
    await t?.close();
  });

  it('refuses an upgrade without credentials, with an expired token, and a gateway-less bad token', async () => {
    await expect(ChatClient.connect(t.cloud.url, undefined)).rejects.toThrow('refused 401');
    await expect(ChatClient.connect(t.cloud.url, await t.expiredToken('staff'))).rejects.toThrow(
      'refused 401',
    );
    await expect(ChatClient.connect(t.cloud.url, 'not-a-token')).rejects.toThrow('refused 401');
  });

  it('closes a socket when its token expires (4001), unless a fresh token for the same user came in band', async () => {
    const s = t.cloud.services;
    const short = new Tokens(s.keys, { ...s.tokens.settings, accessTtlSeconds: 8 });
    const user = await s.users.create({
      email: 'short@test.local',
      name: 'short',
      role: 'staff',
      password: 'password-123',
      sites: ['s1'],
    });
    const lapsing = await connect((await short.accessToken(user)).token);
    const refreshed = await connect((await short.accessToken(user)).token);
    // Someone else's token is refused and changes nothing.
    refreshed.send({ type: 'auth', token: await t.token('staff', ['s1']) });
    expect((await refreshed.next((f) => f.type === 'error')).code).toBe('forbidden');
    refreshed.send({ type: 'auth', token: (await s.tokens.accessToken(user)).token });
    await refreshed.next((f) => f.type === 'auth' && f.ok === true);
    expect((await lapsing.waitClosed(20_000)).code).toBe(4001);
    // Past the first token's expiry the refreshed socket still works.
    refreshed.send({ type: 'join', room: 'site:s1' });
    await refreshed.next((f) => f.type === 'history');
    expect(refreshed.closed).toBeUndefined();
  });

  it('site room: staff of the site talk; resends show once; sequences are gapless; edits and deletes are events', async () => {
    const a = await connect(await t.token('staff', ['s1']));
    const b = await connect(await t.token('operator', ['s1']));
    a.send({ type: 'join', room: 'site:s1' });
    b.send({ type: 'join', room: 'site:s1' });
    await a.next((f) => f.type === 'history');
    await b.next((f) => f.type === 'history');
    a.send({ type: 'send', room: 'site:s1', clientId: 'm1', body: 'first' });
    a.send({ type: 'send', room: 'site:s1', clientId: 'm1', body: 'first' });
    a.send({ type: 'send', room: 'site:s1', clientId: 'm2', body: 'second' });
    const acks = [
      await a.next((f) => f.type === 'ack' && f.clientId === 'm1' && f.duplicate === false),
      await a.next((f) => f.type === 'ack' && f.clientId === 'm1' && f.duplicate === true),
      await a.next((f) => f.type === 'ack' && f.clientId === 'm2'),
    ];
    expect(acks.map((x) => x.seq)).toEqual([1, 1, 2]);
    a.send({ type: 'edit', room: 'site:s1', clientId: 'e1', messageId: acks[0]?.eventId, body: 'first!' });
    // Only its author changes a message.
    b.send({ type: 'delete', room: 'site:s1', clientId: 'd0', messageId: acks[0]?.eventId });
    expect((await b.next((f) => f.type === 'error' && f.ref === 'd0')).code).toBe('forbidden');
    a.send({ type: 'delete', room: 'site:s1', clientId: 'd1', messageId: acks[2]?.eventId });
    await b.next((f) => f.type === 'event' && (f.event as { seq: number }).seq === 4);
    const seqs = b.events('site:s1').map((e) => e.seq);
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(b.events('site:s1').map((e) => e.kind)).toEqual(['message', 'message', 'edit', 'delete']);
    // A late joiner resuming after seq 2 gets exactly 3 and 4.
    const c = await connect(await t.token('staff', ['s1']));
    c.send({ type: 'join', room: 'site:s1', since: 2 });
    const h = await c.next((f) => f.type === 'history');
    expect((h.events as { seq: number }[]).map((e) => e.seq)).toEqual([3, 4]);
    // REST history pages by cursor too.
    const res = await t.cloud.app.request('/api/v1/chat/events?room=site:s1&after=1&limit=2', {
      headers: { authorization: `Bearer ${await t.token('staff', ['s1'])}` },
    });
    expect(((await res.json()) as { events: { seq: number }[] }).events.map((e) => e.seq)).toEqual([2, 3]);
  });

  it('authorization: other sites, shoppers in staff rooms, strangers in direct messages and support rooms get no_such room', async () => {
    const other = await connect(await t.token('staff', ['s2']));
    other.send({ type: 'join', room: 'site:s1' });
    expect((await other.next((f) => f.type === 'error')).code).toBe('not_found');
    const shopperToken = await t.token('partner');
    const shopper = await connect(shopperToken);
    shopper.send({ type: 'join', room: 'site:s1' });
    expect((await shopper.next((f) => f.type === 'error')).code).toBe('not_found');
    shopper.send({ type: 'join', room: 'order:no-such-order' });
    expect((await shopper.nextNew((f) => f.type === 'error')).code).toBe('not_found');
    const x = await t.token('staff', ['s1']);
    const y = await t.token('staff', ['s1']);
    const room = [userOf(x), userOf(y)].sort().join(',');
    shopper.send({ type: 'join', room: `dm:${room}` });
    expect((await shopper.nextNew((f) => f.type === 'error')).code).toBe('not_found');
    const dm = await connect(x);
    dm.send({ type: 'join', room: `dm:${room}` });
    await dm.next((f) => f.type === 'history' && f.room === `dm:${room}`);
    // Writing without entering is refused the same way.
    shopper.send({ type: 'send', room: 'site:s1', clientId: 'sneak', body: 'hi' });
    expect((await shopper.next((f) => f.type === 'error' && f.ref === 'sneak')).code).toBe('not_found');
  });

  it('bad frames get an error frame and are counted, the socket stays; an oversized frame closes only that socket; a flood is dropped', async () => {
    const token = await t.token('staff', ['s1']);
    const bad = await connect(token);
    const neighbour = await connect(await t.token('staff', ['s1']));
    neighbour.send({ type: 'join', room: 'site:s1' });
    await neighbour.next((f) => f.type === 'history');
    bad.ws.send('not json');
    expect((await bad.next((f) => f.type === 'error')).code).toBe('bad_frame');
    bad.send({ type: 'send', room: 'site:s1', clientId: 'x', body: '' });
    expect((await bad.next((f) => f.type === 'error' && f.ref === 'x')).code).toBe('bad_frame');
    bad.send({ type: 'shout' });
    await bad.nextNew((f) => f.type === 'error');
    // A flood: far more frames than the bucket holds; most are dropped, the neighbour still works.
    for (let i = 0; i < 200; i++) bad.send({ type: 'typing', room: 'site:s1' });
    await bad.next((f) => f.type === 'error' && f.code === 'rate_limited');
    neighbour.send({ type: 'send', room: 'site:s1', clientId: 'still-here', body: 'fine' });
    await neighbour.next((f) => f.type === 'ack' && f.clientId === 'still-here');
    bad.ws.send(JSON.stringify({ type: 'send', room: 'site:s1', clientId: 'big', body: 'x'.repeat(4000) }));
    expect((await bad.waitClosed()).code).toBe(1009);
    expect(neighbour.closed).toBeUndefined();
    const metrics = await (await t.cloud.app.request('/metrics')).text();
    expect(metrics).toMatch(/bv_chat_bad_frames_total\{reason="not_json"\} [1-9]/);
    expect(metrics).toMatch(/bv_chat_bad_frames_total\{reason="invalid"\} [2-9]/);
    expect(metrics).toMatch(/bv_chat_dropped_total\{reason="rate_limited"\} [1-9]\d*/);
  });

  it('typing, read receipts and mentions reach the room; presence goes offline within its TTL after heartbeats stop', async () => {
    const aToken = await t.token('staff', ['s3']);
    const bToken = await t.token('staff', ['s3']);
    const a = await connect(aToken);
    const b = await connect(bToken);
    for (const c of [a, b]) c.send({ type: 'join', room: 'site:s3' });
    await a.next((f) => f.type === 'history');
    await b.next((f) => f.type === 'history');
    await a.next(
      (f) =>
        f.type === 'presence' &&
        (f.members as { user: string; status: string }[]).some(
          (m) => m.user === userOf(bToken) && m.status === 'online',
        ),
      5_000,
      'b online',
    );
    b.send({ type: 'typing', room: 'site:s3' });
    expect((await a.next((f) => f.type === 'typing')).user).toBe(userOf(bToken));
    b.send({ type: 'send', room: 'site:s3', clientId: 'hey', body: `hello @${userOf(aToken)}` });
    const mention = await a.next((f) => f.type === 'mention');
    expect(mention.by).toBe(userOf(bToken));
    a.send({ type: 'read', room: 'site:s3', seq: 1 });
    expect(await b.next((f) => f.type === 'read')).toMatchObject({ user: userOf(aToken), seq: 1 });
    // b stops beating (its socket stays open): offline within the 1 s TTL plus a sweep.
    const started = Date.now();
    await a.next(
      (f) =>
        f.type === 'presence' &&
        (f.members as { user: string; status: string }[]).some(
          (m) => m.user === userOf(bToken) && m.status === 'offline',
        ),
      5_000,
      'b offline',
    );
    const took = Date.now() - started;
    process.stdout.write(`presence: offline seen ${took} ms after the last heartbeat (TTL 1000 ms)\n`);
    // a kept beating: a heartbeat before its TTL keeps it online for b.
    a.send({ type: 'presence', status: 'away' });
    await b.next(
      (f) =>
        f.type === 'presence' &&
        (f.members as { user: string; status: string }[]).some(
          (m) => m.user === userOf(aToken) && m.status === 'away',
        ),
    );
  });
});
