import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/** The bare `ws` room server the chat fan-out bench measures chat against. */
export interface PeerServer {
  url: string;
  /** Mean time one message's writes to its room's sockets took, in ms. */
  fanoutMs(): number;
  close(): Promise<void>;
}

/**
 * The floor for chat: a bare `ws` server with rooms (a Map room -> sockets) and nothing else (no
 * auth, storage, sequence, presence or limits). It answers the chat frames the bench's clients
 * send: `join` (answered by a `history` frame, so clients count their joins the same way), `send`
 * (one Buffer built once and written to every member of the room, the sender included, then an
 * `ack` to the sender) and `presence` (read and ignored, as the load it is).
 */
export async function startPeer(): Promise<PeerServer> {
  const loops: number[] = [];
  const rooms = new Map<string, Set<WebSocket>>();
  const server = createServer();
  const wss = new WebSocketServer({ server });
  const ack = Buffer.from('{"type":"ack"}');
  const tail = Buffer.from('}');
  wss.on('connection', (ws) => {
    const joined = new Set<string>();
    ws.on('message', (data: Buffer) => {
      let frame: { type?: unknown; room?: unknown };
      try {
        frame = JSON.parse(data.toString()) as typeof frame;
      } catch {
        // The bench's clients send JSON only; anything else is not this measurement's load.
        return;
      }
      if (typeof frame.room !== 'string') return;
      const room = frame.room;
      if (frame.type === 'join') {
        const members = rooms.get(room) ?? new Set<WebSocket>();
        members.add(ws);
        rooms.set(room, members);
        joined.add(room);
        ws.send(JSON.stringify({ type: 'history', room, events: [] }));
      } else if (frame.type === 'send' && joined.has(room)) {
        // ws's own broadcast recipe: the frame's payload built once, the same Buffer to every member.
        const out = Buffer.concat([Buffer.from(`{"type":"event","room":"${room}","event":`), data, tail]);
        const start = performance.now();
        for (const member of rooms.get(room) ?? []) member.send(out, { binary: false });
        loops.push(performance.now() - start);
        ws.send(ack, { binary: false });
      }
    });
    ws.on('close', () => {
      for (const room of joined) rooms.get(room)?.delete(ws);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fanoutMs: () => loops.reduce((a, b) => a + b, 0) / loops.length,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.close();
      await once(server, 'close');
    },
  };
}
