import type { Logger } from '@bitv/shared/log';
import type { EdgeAgentHandle } from '../agent.js';
import { markHealthy } from './self-update.js';

/**
 * Ends this version's trial (docs/ota.md) once the agent is really working: its outbox is open
 * (it started) and its uplink is online (broker connected, birth sent). Until then the
 * supervisor's health timer runs; a version that never gets here is rolled back.
 */
export function reportHealthyWhenOnline(
  agent: Pick<EdgeAgentHandle, 'status' | 'reportAgentUpdate'>,
  updateDir: string,
  version: string,
  logger: Logger,
  everyMs = 500,
): { stop(): void } {
  const timer = setInterval(() => {
    if (agent.status().uplink.state !== 'online') return;
    clearInterval(timer);
    void (async () => {
      try {
        if (!(await markHealthy(updateDir, version))) return;
      } catch (error) {
        logger.error({ err: error }, 'could not end the update trial; the supervisor will roll back');
        return;
      }
      logger.info({ version }, 'agent update healthy: trial over');
      await agent
        .reportAgentUpdate()
        .catch((error: unknown) =>
          logger.error({ err: error }, 'could not report the update result; the next start reports it'),
        );
    })();
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
