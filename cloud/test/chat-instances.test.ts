import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dropSchema, openDatabase } from '@bitv/shared/db';
import { postgresUrl, redisUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ChatClient, type Frame, userOf } from './chat-client.js';

const ready = (await serverAvailable('postgres')) && (await serverAvailable('redis'));
const entry = fileURLToPath(new URL('./chat-instance-main.ts', import.meta.url));
const cloudDir = fileURLToPath(new URL('..', import.meta.url));

interface Instance {
  child: ChildProcess;
  url: string;
  tokens: string[];
}

function startInstance(env: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: cloudDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: the test's afterAll only knows the instances that started.
      child.kill('SIGKILL');
      reject(new Error(`instance did not start: ${out}`));
    }, 90_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const t = /tokens (\[.*\])/.exec(out);
      resolve({ child, url: m[1] as string, tokens: t ? (JSON.parse(t[1] as string) as string[]) : [] });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`instance exited ${code}: ${out}`)));
  });
}

/**
 * A chat client as an app would write it: it joins the room, sends with client ids, and when its
 * socket dies it reconnects to another instance with the last sequence it saw and resends what
 * was never acknowledged.
 */
class Participant {
  client!: ChatClient;
  readonly seen = new Map<number, Frame>();
  readonly received: number[] = [];
  readonly pending = new Map<string, string>();
  private framesRead = 0;

  constructor(
    readonly name: string,
    readonly token: string,
    readonly room: string,
  ) {}

  async connect(url: string): Promise<void> {
    this.client = await ChatClient.connect(url, this.token);
    this.framesRead = 0;
    const last = this.received.length ? Math.max(...this.received) : undefined;
    this.client.send(
      last === undefined ? { type: 'join', room: this.room } : { type: 'join', room: this.room, since: last },
    );
    await this.client.next((f) => f.type === 'history');
    for (const [clientId, body] of this.pending)
      this.client.send({ type: 'send', room: this.room, clientId, body });
  }

  /** Takes in what the socket got since the last call: events (counted, even twice), acks. */
  absorb(): void {
    const frames = this.client.frames.slice(this.framesRead);
    this.framesRead = this.client.frames.length;
    for (const f of frames) {
      const events =
        f.type === 'history' ? (f.events as Frame[]) : f.type === 'event' ? [f.event as Frame] : [];
      for (const e of events) {
        this.received.push(e.seq as number);
        this.seen.set(e.seq as number, e);
      }
      if (f.type === 'ack') this.pending.delete(f.clientId as string);
    }
  }

  send(clientId: string, body: string): void {
    this.pending.set(clientId, body);
    if (this.client.ws.readyState === this.client.ws.OPEN)
      this.client.send({ type: 'send', room: this.room, clientId, body });
  }
}

const withStatus = (user: string, status: string) => (f: Frame) =>
  f.type === 'presence' &&
  (f.members as { user: string; status: string }[]).some((m) => m.user === user && m.status === status);

describe.skipIf(!ready)('chat on two cloud instances sharing Redis and PostgreSQL, one SIGKILLed', () => {
  const schema = uniqueName('chatinst');
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    const db = await openDatabase({ url: postgresUrl() });
    await dropSchema(db, schema);
    await db.close();
  });

  it('every client ends with the same gapless history: nothing lost, nothing shown twice', async () => {
    const site = uniqueName('floor');
    const room = `site:${site}`;
    const base = {
      BV_CHAT_TEST_DB: postgresUrl(),
      BV_CHAT_TEST_SCHEMA: schema,
      BV_CHAT_TEST_REDIS: redisUrl(),
      BV_CHAT_TEST_SITE: site,
    };
    // One after the other: the first creates the signing key and the users, the second reads them.
    const a = await startInstance({ ...base, BV_CHAT_TEST_USERS: '4' });
    children.push(a.child);
    const b = await startInstance(base);
    children.push(b.child);
    const people = a.tokens.map((token, i) => new Participant(`p${i}`, token, room));
    // Two participants on each instance.
    await Promise.all(people.map((p, i) => p.connect(i < 2 ? a.url : b.url)));

    const perPerson = 30;
    const killAt = 12;
    for (let round = 0; round < perPerson; round++) {
      if (round === killAt) {
        // Mid-conversation: instance a dies without a goodbye; its clients move to b.
        a.child.kill('SIGKILL');
        await Promise.all(people.slice(0, 2).map((p) => p.client.waitClosed()));
        for (const p of people) p.absorb();
        await Promise.all(people.slice(0, 2).map((p) => p.connect(b.url)));
      }
      for (const p of people) p.send(`${p.name}-${round}`, `${p.name} says ${round}`);
      await new Promise((r) => setTimeout(r, 30));
      for (const p of people) p.absorb();
    }
    const total = people.length * perPerson;
    const end = Date.now() + 60_000;
    while (people.some((p) => p.seen.size < total || p.pending.size > 0)) {
      if (Date.now() > end) {
        throw new Error(
          `not converged: ${people.map((p) => `${p.name} seen ${p.seen.size} pending ${p.pending.size}`).join(', ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
      for (const p of people) p.absorb();
    }
    for (const p of people) {
      const dupes = p.received.length - new Set(p.received).size;
      process.stdout.write(
        `${p.name}: ${p.seen.size} events, ${p.received.length} received, ${dupes} shown twice\n`,
      );
      expect(dupes).toBe(0);
      expect([...p.seen.keys()].sort((x, y) => x - y)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
      // Every message once: the event ids are exactly the client ids sent.
      const ids = new Set([...p.seen.values()].map((e) => e.eventId));
      expect(ids.size).toBe(total);
    }
    // The same event at each sequence, for every client (whichever instance it came through).
    const line = (p: Participant) =>
      [...p.seen.entries()]
        .sort((x, y) => x[0] - y[0])
        .map(([seq, e]) => `${seq} ${e.eventId} ${e.hlc} ${e.body}`);
    for (const p of people) expect(line(p)).toEqual(line(people[0] as Participant));
    for (const p of people) p.client.close();
    b.child.kill('SIGTERM');
  }, 240_000);

  it('presence crosses instances: online and away seen on the other one; offline within the TTL after its instance dies', async () => {
    const site = uniqueName('aisle');
    const room = `site:${site}`;
    const ttl = 2_000;
    const base = {
      BV_CHAT_TEST_DB: postgresUrl(),
      BV_CHAT_TEST_SCHEMA: schema,
      BV_CHAT_TEST_REDIS: redisUrl(),
      BV_CHAT_TEST_SITE: site,
      BV_CHAT_TEST_PRESENCE_TTL_MS: String(ttl),
    };
    const a = await startInstance({ ...base, BV_CHAT_TEST_USERS: '2' });
    children.push(a.child);
    const b = await startInstance(base);
    children.push(b.child);
    const [memberToken, watcherToken] = a.tokens as [string, string];
    const watcher = await ChatClient.connect(b.url, watcherToken);
    watcher.send({ type: 'join', room });
    await watcher.next((f) => f.type === 'history');
    const member = await ChatClient.connect(a.url, memberToken);
    // The member's page beats well inside the TTL for as long as its instance lives.
    const beat = setInterval(() => member.send({ type: 'presence', status: 'online' }), ttl / 4);
    try {
      member.send({ type: 'join', room });
      await member.next((f) => f.type === 'history');
      await watcher.next(withStatus(userOf(memberToken), 'online'), 10_000, 'member online on b');
      // The other way: b's user beats on b and a's socket hears it through Redis.
      watcher.send({ type: 'presence', status: 'away' });
      await member.next(withStatus(userOf(watcherToken), 'away'), 10_000, 'watcher away on a');

      // Instance a dies without a goodbye: nothing announces "offline"; only the key's TTL can.
      a.child.kill('SIGKILL');
      const killed = Date.now();
      await member.waitClosed();
      clearInterval(beat);
      // Bound: the TTL, a sweep (TTL/4), a coalesced flush, and slack for a loaded machine.
      await watcher.nextNew(withStatus(userOf(memberToken), 'offline'), 3 * ttl, 'member offline on b');
      process.stdout.write(
        `presence across instances: offline seen on b ${Date.now() - killed} ms after a was killed (TTL ${ttl} ms)\n`,
      );
    } finally {
      clearInterval(beat);
      watcher.close();
      member.close();
      b.child.kill('SIGTERM');
    }
  }, 240_000);
});
