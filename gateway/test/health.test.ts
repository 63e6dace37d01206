import { eventually } from '@bitv/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlledEventLog } from './helpers/event-log.js';
import { type TestGateway, testGateway } from './helpers/gateway.js';

/**
 * `/healthz` tells the truth about the gateway's consumers (issue #18, defect 1): while the command
 * downlink or the revocation feed is down (crashed and restarting), commands stop reaching gateways
 * and revocations stop applying, so the gateway is unhealthy, with the reason.
 */
describe('gateway health and its consumers', () => {
  let t: TestGateway | undefined;
  afterAll(() => t?.close());

  it('answers 503 naming the consumers while they are down, 200 once they are back', async () => {
    const log = new ControlledEventLog();
    t = await testGateway({ allowAnonymous: true }, { eventLog: log });
    const health = async () => {
      const response = await fetch(`${t?.gw.opsUrl}/healthz`);
      return { status: response.status, body: (await response.json()) as { checks: { consumers: unknown } } };
    };
    // Both consumers subscribe in the background.
    await eventually(async () => (await health()).status === 200, 'healthy once both consumers run');
    expect((await health()).body.checks.consumers).toBe('running');

    log.consumersCrashed = true;
    const down = await health();
    expect(down.status).toBe(503);
    const reasons = Object.values(down.body.checks.consumers as Record<string, string>);
    expect(reasons).toHaveLength(2);
    for (const reason of reasons) expect(reason).toMatch(/^restarting: KafkaJSGroupCoordinatorNotFound/);

    log.consumersCrashed = false;
    expect((await health()).status).toBe(200);
  });
});
