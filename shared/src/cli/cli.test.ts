import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, setting } from '../config/index.js';
import { ConflictError } from '../errors/index.js';
import { describeFailure } from './index.js';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

describe('describeFailure', () => {
  it('bad configuration: status 2 and every problem on one line', () => {
    const error = thrown(() =>
      loadConfig(
        {
          port: setting.int('BV_PORT', { min: 0, max: 65535, description: 'p' }),
          level: setting.logLevel(),
        },
        { BV_PORT: '-3', BV_LOG_LEVEL: 'loud' },
      ),
    );
    const { status, message } = describeFailure(error);
    expect(status).toBe(2);
    expect(message).toMatch(/^invalid configuration: BV_PORT="-3": .*; BV_LOG_LEVEL="loud": /);
    expect(message).not.toContain('\n');
  });

  it('an unknown option: status 2, pointing at --help', () => {
    const error = thrown(() => parseArgs({ args: ['--nope'], options: {}, strict: true }));
    expect(describeFailure(error)).toMatchObject({
      status: 2,
      message: expect.stringMatching(/--nope.*\(see --help\)$/),
    });
  });

  it('a port in use: status 1, the address and port, no stack', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    const second = createServer();
    const error = await new Promise<unknown>((resolve) => {
      second.once('error', resolve);
      second.listen(port, '127.0.0.1');
    });
    holder.close();
    expect(describeFailure(error)).toEqual({
      status: 1,
      message: `cannot listen on 127.0.0.1:${port}: the port is in use (another instance running, or another program on it?)`,
    });
  });

  it('anything else: status 1 and its message', () => {
    expect(describeFailure(new ConflictError('already running (pid 7)\nsecond line'))).toEqual({
      status: 1,
      message: 'already running (pid 7); second line',
    });
    expect(describeFailure('plain')).toEqual({ status: 1, message: 'plain' });
  });
});
