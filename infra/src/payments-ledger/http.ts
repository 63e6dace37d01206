import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from '@bitv/shared/metrics';
import { ZodError } from 'zod';
import type { FaultInjector } from './faults.js';

/** Bodies above this are refused with 413 before they are parsed (both services). */
export const defaultMaxBodyBytes = 64 * 1024;

export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/** Reads a request body up to `limit` bytes; past it, stops reading and rejects. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The routes every payment service has besides its API: `/healthz`, `/metrics` and
 * `GET|PUT /admin/faults`. Returns false when the request is not one of them.
 */
export async function serveOps(
  req: IncomingMessage,
  res: ServerResponse,
  ops: { service: string; registry: Registry; faults: FaultInjector },
): Promise<boolean> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' && req.method === 'GET') {
    sendJson(res, 200, { status: 'ok', service: ops.service });
    return true;
  }
  if (path === '/metrics' && req.method === 'GET') {
    const text = await ops.registry.metrics();
    res.writeHead(200, { 'content-type': ops.registry.contentType });
    res.end(text);
    return true;
  }
  if (path === '/admin/faults') {
    if (req.method === 'GET') {
      sendJson(res, 200, ops.faults.settings);
      return true;
    }
    if (req.method === 'PUT') {
      try {
        const body = await readBody(req, defaultMaxBodyBytes);
        sendJson(res, 200, ops.faults.update(JSON.parse(body)));
      } catch (error) {
        const message =
          error instanceof ZodError
            ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
            : String(error);
        sendJson(res, 400, { error: { code: 'invalid_faults', message } });
      }
      return true;
    }
  }
  return false;
}
