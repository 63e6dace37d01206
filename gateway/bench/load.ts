import { RawClient } from './raw-client.js';

/**
 * The load generator, in its own process (forked with an IPC channel) so it does not share an
 * event loop with what it measures. Commands:
 * - `publish`: every client keeps `window` QoS 1 PUBLISHes unacknowledged for `durationMs`;
 *   answers with the PUBACKs counted after `warmupMs`, and all PUBACKs of the run (`total`).
 * - `idle`: opens all connections and holds them until `release`.
 */
export interface ClientSpec {
  port: number;
  clientId: string;
  username: string;
  password: string;
  topic: string;
  payloads: string[];
}

type Command =
  | { cmd: 'publish'; clients: ClientSpec[]; window: number; durationMs: number; warmupMs: number }
  | { cmd: 'idle'; clients: Omit<ClientSpec, 'topic' | 'payloads'>[] }
  | { cmd: 'release' }
  | { cmd: 'exit' };

let idle: RawClient[] = [];
const send = (message: object) => process.send?.(message);

process.on('message', async (command: Command) => {
  try {
    if (command.cmd === 'publish') send({ cmd: 'result', ...(await publish(command)) });
    else if (command.cmd === 'idle') {
      idle = await openAll(command.clients);
      send({ cmd: 'result', connected: idle.length });
    } else if (command.cmd === 'release') {
      for (const c of idle) c.close();
      idle = [];
      send({ cmd: 'result', released: true });
    } else process.exit(0);
  } catch (error) {
    send({ cmd: 'error', message: String(error) });
  }
});

async function publish(c: Extract<Command, { cmd: 'publish' }>) {
  const clients = await openAll(c.clients);
  const payloads = c.clients.map((s) => s.payloads.map((p) => Buffer.from(p, 'base64')));
  let counting = false;
  let acked = 0;
  let total = 0;
  const pump = (client: RawClient, i: number) => {
    const spec = c.clients[i]!;
    const list = payloads[i]!;
    let n = 0;
    client.onAck = () => {
      total++;
      if (counting) acked++;
      if (!stopped && !client.closed) client.publish(spec.topic, list[n++ % list.length]!);
    };
    for (let k = 0; k < c.window; k++) client.publish(spec.topic, list[n++ % list.length]!);
  };
  let stopped = false;
  clients.forEach(pump);
  await sleep(c.warmupMs);
  counting = true;
  const start = process.hrtime.bigint();
  await sleep(c.durationMs);
  counting = false;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  stopped = true;
  const disconnected = clients.filter((x) => x.closed).length;
  // let what is in flight finish before closing, bounded
  for (let i = 0; i < 100 && clients.some((x) => x.inflight > 0 && !x.closed); i++) await sleep(50);
  for (const x of clients) x.close();
  return { acked, seconds, disconnected, total };
}

async function openAll(specs: Omit<ClientSpec, 'topic' | 'payloads'>[]): Promise<RawClient[]> {
  const out: RawClient[] = [];
  const batch = 200;
  for (let i = 0; i < specs.length; i += batch) {
    const part = await Promise.all(
      specs
        .slice(i, i + batch)
        .map((s) =>
          RawClient.connect(s.port, { clientId: s.clientId, username: s.username, password: s.password }),
        ),
    );
    out.push(...part);
  }
  return out;
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
