import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BitvError, healthResponse, metricsResponse, type Registry } from '@bitv/shared';
import { z } from 'zod';
import type { FirmataBoardHandle } from '../firmata/board.js';
import type { SimulatedShelfHandle } from '../shelf/simulated-shelf.js';

export interface ControlServerOptions {
  host: string;
  port: number;
  shelves: readonly SimulatedShelfHandle[];
  firmata?: FirmataBoardHandle;
  registry?: Registry;
  now(): number;
}

const countBody = z.object({
  count: z.number().int().min(1).max(100_000),
  handMs: z.number().min(0).max(60_000).optional(),
});
const faultBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('garbage'), bytes: z.number().int().min(1).max(65_536) }),
  z.object({ kind: z.literal('cut_frame') }),
  z.object({ kind: z.literal('stall'), durationMs: z.number().positive().max(3_600_000) }),
  z.object({ kind: z.literal('unplug') }),
  z.object({ kind: z.literal('replug') }),
  z.object({ kind: z.literal('dead_cell'), bin: z.number().int().min(0), dead: z.boolean().default(true) }),
  z.object({ kind: z.literal('clock_jump'), deltaMs: z.number().int() }),
  z.object({ kind: z.literal('brown_out'), millivolts: z.number().int().min(0).max(20_000).optional() }),
  z.object({ kind: z.literal('tamper'), bin: z.number().int().min(0).optional() }),
]);
const doorBody = z.object({ open: z.boolean() });

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw new HttpError(413, 'too_large', 'body over 64 KiB');
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'validation_failed', 'body is not JSON');
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success)
    throw new HttpError(400, 'validation_failed', r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

/**
 * The simulator's HTTP control API (JSON):
 * - `GET /shelves`, `GET /shelves/:serial`: state of every bin, LEDs, counters
 * - `POST /shelves/:serial/bins/:bin/pick` and `.../restock` `{"count": n, "handMs"?: ms}`
 * - `POST /shelves/:serial/faults` `{"kind": "garbage"|"stall"|"unplug"|..., ...}`
 * - `GET /firmata`, `POST /firmata/door` `{"open": bool}`
 * - `GET /healthz`, `GET /metrics`
 */
export async function startControlServer(
  options: ControlServerOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const shelf = (serial: string) => {
    const s = options.shelves.find((x) => x.serialNumber === serial);
    if (!s) throw new HttpError(404, 'not_found', `no shelf ${serial}`);
    return s;
  };

  const route = async (method: string, path: string, req: IncomingMessage): Promise<Response> => {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (method === 'GET' && path === '/healthz') {
      return healthResponse(() => ({
        ok: true,
        checks: { virtualTimeMs: options.now(), shelves: options.shelves.length },
      }));
    }
    if (method === 'GET' && path === '/metrics') {
      if (!options.registry) throw new HttpError(404, 'not_found', 'no metrics registry');
      return metricsResponse(options.registry);
    }
    if (parts[0] === 'shelves') {
      if (method === 'GET' && parts.length === 1)
        return Response.json(options.shelves.map((s) => s.snapshot()));
      if (method === 'GET' && parts.length === 2) return Response.json(shelf(parts[1]!).snapshot());
      if (
        method === 'POST' &&
        parts.length === 5 &&
        parts[2] === 'bins' &&
        (parts[4] === 'pick' || parts[4] === 'restock')
      ) {
        const s = shelf(parts[1]!);
        const bin = Number(parts[3]);
        if (!Number.isInteger(bin) || bin < 0 || bin >= s.bins)
          throw new HttpError(404, 'not_found', `no bin ${parts[3]}`);
        const body = parse(countBody, await readJson(req));
        const moved =
          parts[4] === 'pick'
            ? s.pick(bin, body.count, body.handMs)
            : s.restock(bin, body.count, body.handMs);
        return Response.json({ moved, bin: s.snapshot().bins[bin] });
      }
      if (method === 'POST' && parts.length === 3 && parts[2] === 'faults') {
        const s = shelf(parts[1]!);
        const f = parse(faultBody, await readJson(req));
        switch (f.kind) {
          case 'garbage':
            s.injectGarbage(f.bytes);
            break;
          case 'cut_frame':
            s.cutFrame();
            break;
          case 'stall':
            s.stall(f.durationMs);
            break;
          case 'unplug':
            await s.unplug();
            break;
          case 'replug':
            await s.replug();
            break;
          case 'dead_cell':
            if (f.bin >= s.bins) throw new HttpError(404, 'not_found', `no bin ${f.bin}`);
            s.setCellDead(f.bin, f.dead);
            break;
          case 'clock_jump':
            s.clockJump(f.deltaMs);
            break;
          case 'brown_out':
            s.brownOut(f.millivolts);
            break;
          case 'tamper':
            s.tamper(f.bin);
            break;
        }
        return Response.json({ ok: true, shelf: s.snapshot() });
      }
    }
    if (parts[0] === 'firmata' && options.firmata) {
      if (method === 'GET' && parts.length === 1) return Response.json(options.firmata.snapshot());
      if (method === 'POST' && parts[1] === 'door') {
        options.firmata.setDoorOpen(parse(doorBody, await readJson(req)).open);
        return Response.json(options.firmata.snapshot());
      }
    }
    throw new HttpError(404, 'not_found', `no route ${method} ${path}`);
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    route(req.method ?? 'GET', path, req)
      .catch((error: unknown) => {
        const status = error instanceof HttpError ? error.status : error instanceof BitvError ? 400 : 500;
        const code = error instanceof HttpError || error instanceof BitvError ? error.code : 'internal';
        return Response.json(
          { error: { code, message: String((error as Error).message ?? error) } },
          { status },
        );
      })
      .then(async (response) => {
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(Buffer.from(await response.arrayBuffer()));
      })
      .catch(() => res.destroy()); // the client went away while we answered; nothing to tell it
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
