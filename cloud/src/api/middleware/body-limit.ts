import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { errorJson } from '../errors.js';

/**
 * What a request body may weigh unless its route says otherwise. Every JSON body the API takes
 * (a login, a product, a command to a few hundred gateways) fits easily; a route that needs more
 * raises its own limit with `maxBodyBytes`.
 */
export const defaultMaxBodyBytes = 64 * 1024;

/**
 * Refuses a body over `maxBytes` with 413 in the API's error shape, before anything parses it.
 * Hono's `bodyLimit` trusts Content-Length when there is one (Node's HTTP parser never delivers
 * more than it announces) and otherwise counts a chunked body as it streams, stopping at the limit.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  if (!Number.isInteger(maxBytes) || maxBytes < 0)
    throw new RangeError(`maxBytes must be a whole number ≥ 0`);
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      c.json(
        errorJson('payload_too_large', `request body is larger than ${maxBytes} bytes`, { maxBytes }),
        413,
        // The rest of the body is still on its way: closing the connection stops it, where keeping
        // it alive would mean reading it all to find the next request.
        { connection: 'close' },
      ),
  });
}
