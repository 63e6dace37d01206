import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../errors/index.js';
import { openDatabase } from './index.js';

/** A loopback port nothing listens on: taken from the system, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('openDatabase on a PostgreSQL that does not answer', () => {
  it('says "database", names the server without its password, and is retriable', async () => {
    const port = await closedPort();
    const error = await openDatabase({
      url: `postgres://bv:hunter2@127.0.0.1:${port}/bv?sslmode=disable`,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnavailableError);
    const message = (error as Error).message;
    expect(message).toMatch(
      new RegExp(
        `^database at postgres://bv:\\*\\*\\*@127\\.0\\.0\\.1:${port}/bv\\?\\*\\*\\* unreachable: .*ECONNREFUSED`,
      ),
    );
    expect(message).not.toContain('hunter2');
    expect((error as UnavailableError).retriable).toBe(true);
  });
});
