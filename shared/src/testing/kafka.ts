import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const kafkaScript = fileURLToPath(new URL('../../../infra/kafka/kafka.sh', import.meta.url));

export interface PrivateKafka {
  brokers: string[];
  /** SIGTERM, as an operator's `kafka.sh stop` (data kept). */
  stop(): Promise<void>;
  /** Starts again on the same port with the same data, once the broker answers. */
  start(): Promise<void>;
}

/**
 * A private single-node Kafka in its own folder and port, managed with infra/kafka/kafka.sh, for
 * tests that stop and start it (never the shared one from KAFKA_BROKERS, which other tests use).
 * ~0.4 GB of heap; the caller stops it at the end.
 */
export async function privateKafka(dir: string): Promise<PrivateKafka> {
  const port = await freePort();
  const run = (...args: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile(
        'bash',
        [kafkaScript, ...args],
        {
          env: { ...process.env, BV_KAFKA_DIR: dir, KAFKA_HEAP_OPTS: '-Xms128m -Xmx384m' },
          timeout: 150_000,
        },
        (error, _stdout, stderr) => (error ? reject(new Error(`kafka.sh ${args[0]}: ${stderr}`)) : resolve()),
      ),
    );
  await run('start', '--port', String(port));
  return {
    brokers: [`127.0.0.1:${port}`],
    stop: () => run('stop'),
    start: () => run('start', '--port', String(port)),
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
