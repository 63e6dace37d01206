import { connect } from 'node:net';

/**
 * The real servers that contract and integration tests run against. In CI (`CI=true`) a missing
 * server is an error, so a suite can never pass by skipping; on a laptop the suite is skipped with
 * a message that says what to start.
 */
export interface ServerSpec {
  name: string;
  /** host:port to probe, taken from the environment the tests run in. */
  address: () => string | undefined;
  hint: string;
}

const env = process.env;

export const servers = {
  postgres: {
    name: 'PostgreSQL',
    address: () => hostPort(postgresUrl()),
    hint: 'start PostgreSQL on 127.0.0.1:5432 (trust auth, database test) or set BV_TEST_POSTGRES_URL',
  },
  kafka: {
    name: 'Kafka',
    address: () => env.KAFKA_BROKERS?.split(',')[0],
    hint: 'run `export "$(npm run -s kafka start)"` to start Kafka and export KAFKA_BROKERS',
  },
  redis: {
    name: 'Redis',
    address: () => hostPort(redisUrl()),
    hint: 'start Redis on 127.0.0.1:6379 or set BV_TEST_REDIS_URL',
  },
  rabbitmq: {
    name: 'RabbitMQ',
    address: () => hostPort(amqpUrl()),
    hint: 'start RabbitMQ on 127.0.0.1:5672 (guest/guest) or set BV_TEST_AMQP_URL',
  },
  mosquitto: {
    name: 'Mosquitto',
    address: () => hostPort(mosquittoUrl()),
    hint: 'start Mosquitto on 127.0.0.1:1883 or set BV_TEST_MOSQUITTO_URL',
  },
  s3: {
    name: 'S3Proxy',
    address: () => hostPort(s3Url()),
    hint: 'run `export "$(bash infra/s3proxy/s3proxy.sh start)"` (exports BV_TEST_S3_URL)',
  },
} satisfies Record<string, ServerSpec>;

export type ServerName = keyof typeof servers;

export const postgresUrl = () => env.BV_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const redisUrl = () => env.BV_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const amqpUrl = () => env.BV_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const mosquittoUrl = () => env.BV_TEST_MOSQUITTO_URL ?? 'mqtt://127.0.0.1:1883';
/** S3-compatible endpoint with its credentials in the user-info part. */
export const s3Url = () => env.BV_TEST_S3_URL ?? 'http://bitv:bitv-secret@127.0.0.1:8090';
export const kafkaBrokers = () => (env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);

function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

const cache = new Map<ServerName, Promise<boolean>>();

/**
 * Resolves true when the server answers. Use with `describe.skipIf(!(await serverAvailable('kafka')))`.
 * Throws in CI when it does not, so the run fails loudly instead of skipping.
 */
export function serverAvailable(name: ServerName): Promise<boolean> {
  let result = cache.get(name);
  if (!result) {
    result = probe(servers[name]);
    cache.set(name, result);
  }
  return result;
}

async function probe(spec: ServerSpec): Promise<boolean> {
  const address = spec.address();
  const ok = address !== undefined && (await tcpAnswers(address));
  if (ok) return true;
  const message = `${spec.name} is not reachable${address ? ` at ${address}` : ''}: ${spec.hint}`;
  if (env.CI === 'true' || env.CI === '1') throw new Error(`CI needs ${message}`);
  console.warn(`\n*** SKIPPING tests that need ${message} ***\n`);
  return false;
}

function tcpAnswers(address: string, timeoutMs = 1500): Promise<boolean> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
