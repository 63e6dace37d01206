import { serverAvailable } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { clusteredGatewayTarget, gatewayTarget, mosquittoTarget, type Target } from './targets.js';

const redisRuns = await serverAvailable('redis');

/** Statement id -> the brokers that met it in this run. */
const met = new Map<string, Set<string>>();
/** Known differences of a broker, shown in the summary. */
const differences: string[] = [];
/** `<broker> <id>`: the broker failed one of the statement's tests (a known difference). */
const deviated = new Set<string>();

/**
 * Runs `register` once per broker: our gateway and, where the statements bind every broker,
 * Mosquitto as the reference, so a difference between the two shows as a failure on one side.
 * Each test is named by the normative statement it checks (`[MQTT-3.1.3-8]`).
 */
export function conformanceSuite(
  chapter: string,
  register: (statement: Statement, target: () => Target) => void,
  options: {
    gatewayOnly?: boolean;
    clustered?: boolean;
    start?: () => Promise<Target>;
    /**
     * Statements of the chapter that bind the client alone (nothing a broker can be tested for),
     * with why: printed with the coverage, never counted in it.
     */
    clientObligations?: Record<string, string>;
  } = {},
): void {
  const starts: [string, () => Promise<Target | undefined>][] = [['gateway', options.start ?? gatewayTarget]];
  // the same statements with the cluster's persistence (sessions in Redis), where Redis runs
  if (options.clustered && redisRuns) starts.push(['gateway on Redis', clusteredGatewayTarget]);
  if (!options.gatewayOnly) starts.push(['mosquitto', () => mosquittoTarget()]);
  for (const [name, start] of starts) {
    describe(`MQTT 3.1.1 ${chapter} on ${name}`, () => {
      let target: Target | undefined;
      beforeAll(async () => {
        target = await start();
      });
      afterAll(async () => {
        await target?.close();
      });
      const statement: Statement = (id, title, body, deviations = {}, retry = 0) =>
        it(`${id} ${title}`, { timeout: 15_000, retry }, async (ctx) => {
          // no mosquitto binary on a developer's machine: the reference run is skipped; CI
          // installs it (.ci/run), so there a missing reference fails
          if (!target) {
            if (process.env.CI) throw new Error(`${name} did not start: the reference run is required in CI`);
            return ctx.skip();
          }
          const deviation = deviations[target.name];
          if (deviation) {
            // a known difference of this broker: the test must fail on it, fast (no waiting for
            // a close that never comes); once it passes, the deviation is gone and must go here too
            const failed = await body(target).then(
              () => false,
              () => true,
            );
            if (!failed) throw new Error(`${name} now meets ${id}: remove the deviation "${deviation}"`);
            differences.push(`${name} differs on ${id} ${title}: ${deviation}`);
            deviated.add(`${name} ${id}`);
            return;
          }
          await body(target);
          const brokers = met.get(id) ?? new Set<string>();
          brokers.add(name);
          met.set(id, brokers);
          // a broker that keeps a connection it must close fails here (15 s), not after a minute
        });
      register(statement, () => target!);
    });
  }
  afterAll(() => {
    const ids = [...met.keys()].sort();
    const on = (broker: string) =>
      ids.filter((id) => met.get(id)!.has(broker) && !deviated.has(`${broker} ${id}`)).length;
    const brokers = starts.map(([name]) => `${name}: ${on(name)}`).join(', ');
    const clients = Object.entries(options.clientObligations ?? {}).map(
      ([id, why]) => `\n  client's obligation, not tested on a broker: ${id} ${why}`,
    );
    console.log(
      `MQTT 3.1.1 conformance (${chapter}): ${ids.length} statements covered; met by ${brokers}\n  ${ids.join(' ')}${differences.map((d) => `\n  ${d}`).join('')}${clients.join('')}`,
    );
  });
}

export type Statement = (
  id: string,
  title: string,
  body: (target: Target) => Promise<void>,
  /** Brokers known to break this statement, with what they do instead. */
  deviations?: Partial<Record<Target['name'], string>>,
  /** Tries after a failure: only for a race that is known, written down and not yet fixed. */
  retry?: number,
) => void;
