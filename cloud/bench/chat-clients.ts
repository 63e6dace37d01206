/**
 * One client process of the chat fan-out bench (chat-fanout.ts spawns `PROCS` of them, so the
 * load generator has its own descriptors and event loops: one process reading 10,000 sockets was
 * the bottleneck of earlier runs). It speaks the chat protocol's frames to either server (the bare
 * `ws` peer answers the same ones) and is driven over its stdin, one JSON line per command:
 *
 *   setup  {url, beatMs, members: [{room, roomIndex, sender, token?}]}  -> {ready, joined}
 *   drive  {cmd: 'drive', startAt, rate, seconds, rooms}                -> {sent, acked, errors}
 *   burst  {cmd: 'burst', n}                                            -> {sent, acked, errors}
 *   report {cmd: 'report'}                                              -> {raw, lastAt}
 *   exit   {cmd: 'exit'}
 *
 * Every member joins its room; a room's sender (a member like the others) writes its messages,
 * each body carrying its send time, and every member that receives one (the sender included)
 * records send -> receipt. Bounded: fixed counts, every wait has a time limit.
 */
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';

export interface Member {
  room: string;
  /** The room's place among all rooms: its sender's phase within a rate period. */
  roomIndex: number;
  sender: boolean;
  /** The member's access token (chat); none for the bare peer. */
  token?: string;
}

export interface Setup {
  url: string;
  /** Presence heartbeat period per socket (the chat page beats every 10 s); 0 for none. */
  beatMs: number;
  members: Member[];
}

export type Command =
  | { cmd: 'drive'; startAt: number; rate: number; seconds: number; rooms: number }
  | { cmd: 'burst'; n: number }
  | { cmd: 'report' }
  | { cmd: 'exit' };

export interface Sent {
  sent: number;
  acked: number;
  /** `error` frames the server answered with (rate limits, refusals): should be 0. */
  errors: number;
}

/** Wall time in ms with sub-ms precision, comparable between this bench's processes. */
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const stampMarker = Buffer.from('"body":"t');
const historyPrefix = Buffer.from('{"type":"history"');
const ackPrefix = Buffer.from('{"type":"ack"');
const errorPrefix = Buffer.from('{"type":"error"');
const beat = JSON.stringify({ type: 'presence', status: 'online' });

/**
 * The send time a delivered message carries, read from its bytes: a scan for the body's marker
 * and a slice of the digits, not a JSON parse of every delivery (a parse per delivery made the
 * client process, not the server, set the latency in earlier runs).
 */
function stampOf(frame: Buffer): number | undefined {
  const i = frame.indexOf(stampMarker);
  if (i < 0) return undefined;
  const from = i + stampMarker.length;
  const to = frame.indexOf(0x22, from); // the body's closing quote
  return to < 0 ? undefined : Number(frame.toString('latin1', from, to));
}

const startsWith = (frame: Buffer, prefix: Buffer) => frame.subarray(0, prefix.length).equals(prefix);

async function run(): Promise<void> {
  const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => {
    const line = await input.next();
    // The bench closed our stdin: it is gone, so are we.
    if (line.done) process.exit(0);
    return JSON.parse(line.value) as T;
  };
  const setup = await next<Setup>();
  const latencies: number[] = [];
  let lastAt = 0;
  let joined = 0;
  let acked = 0;
  let errors = 0;
  const beats: NodeJS.Timeout[] = [];
  const sockets: WebSocket[] = [];
  const senders: { ws: WebSocket; member: Member }[] = [];

  const onMessage = (data: WebSocket.RawData) => {
    const t = now();
    const frame = data as Buffer;
    const sent = stampOf(frame);
    if (sent !== undefined) {
      latencies.push(t - sent);
      lastAt = t;
    } else if (startsWith(frame, ackPrefix)) acked += 1;
    else if (startsWith(frame, historyPrefix)) joined += 1;
    else if (startsWith(frame, errorPrefix)) errors += 1;
  };
  const open = (member: Member): Promise<void> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(setup.url, {
        ...(member.token ? { headers: { authorization: `Bearer ${member.token}` } } : {}),
        handshakeTimeout: 60_000,
        // The load generator shares the 2 cores with the server: it does no work it need not.
        skipUTF8Validation: true,
      });
      ws.on('message', onMessage);
      ws.once('open', () => {
        ws.send(JSON.stringify({ type: 'join', room: member.room }));
        // The join itself beat once; from here on, like the chat page, every `beatMs`.
        if (setup.beatMs > 0) beats.push(setInterval(() => ws.send(beat), setup.beatMs));
        sockets.push(ws);
        if (member.sender) senders.push({ ws, member });
        resolve();
      });
      ws.once('error', reject);
    });
  const { members } = setup;
  for (let i = 0; i < members.length; i += 100) await Promise.all(members.slice(i, i + 100).map(open));
  const joinedBy = Date.now() + 600_000;
  while (joined < members.length && Date.now() < joinedBy) await sleep(100);
  process.stdout.write(`${JSON.stringify({ ready: sockets.length, joined })}\n`);

  let sent = 0;
  const sendOne = (s: { ws: WebSocket; member: Member }) => {
    const { room, roomIndex } = s.member;
    s.ws.send(JSON.stringify({ type: 'send', room, clientId: `s${roomIndex}-${sent}`, body: `t${now()}` }));
    sent += 1;
  };
  /** Waits (bounded) for the server to acknowledge every message sent so far. */
  const settled = async (): Promise<Sent> => {
    const by = Date.now() + 120_000;
    while (acked < sent && Date.now() < by) await sleep(50);
    return { sent, acked, errors };
  };
  for (;;) {
    const command = await next<Command>();
    if (command.cmd === 'drive') {
      // Each room's sender writes at `rate`/s, the rooms' phases spread over the period so the
      // server sees an even stream (rooms x rate messages/s), not all rooms at once.
      const { startAt, rate, seconds, rooms } = command;
      const period = 1000 / rate;
      const paced = async (s: { ws: WebSocket; member: Member }) => {
        const phase = (s.member.roomIndex / rooms) * period;
        for (let i = 0; i < rate * seconds; i++) {
          const wait = startAt + phase + i * period - now();
          if (wait > 0) await sleep(wait);
          sendOne(s);
        }
      };
      await Promise.all(senders.map(paced));
      process.stdout.write(`${JSON.stringify(await settled())}\n`);
    } else if (command.cmd === 'burst') {
      // Every room's sender pipelines its `n` messages at once, as a chatty moment would.
      for (let i = 0; i < command.n; i++) for (const s of senders) sendOne(s);
      process.stdout.write(`${JSON.stringify(await settled())}\n`);
    } else if (command.cmd === 'report') {
      // Raw latencies (float64, base64), so the bench takes percentiles over every process's.
      const raw = Buffer.from(new Float64Array(latencies).buffer).toString('base64');
      process.stdout.write(`${JSON.stringify({ raw, lastAt })}\n`);
      latencies.length = 0;
    } else {
      for (const b of beats) clearInterval(b);
      for (const s of sockets) s.terminate();
      process.exit(0);
    }
  }
}

// chat-fanout.ts imports only this file's types (erased), so this runs in the spawned process alone.
await run();
