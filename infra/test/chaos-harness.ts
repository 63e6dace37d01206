import type { DependencyPolicy } from '@bitv/shared/resilience';
import type { FaultProxy } from '@bitv/shared/testing/fault-proxy';

/**
 * Helpers the chaos tests share: bounded waiting, and one summary line per run so the counts
 * (faults injected, losses, duplicates, breaker transitions) are in the test output.
 */

/** Polls `check` every `everyMs` until it is true; false after `rounds` tries (every loop bounded). */
export async function until(
  check: () => boolean | Promise<boolean>,
  rounds = 300,
  everyMs = 100,
): Promise<boolean> {
  for (let i = 0; i < rounds; i++) {
    if (await check()) return true;
    await pause(everyMs);
  }
  return check();
}

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A breaker's history as one short string, e.g. `rabbitmq: open 1, half-open 1, closed 1, now closed`. */
export function breakerLine(policy: DependencyPolicy): string {
  const t = policy.transitions;
  return `${policy.name}: opened ${t.open}, half-open ${t['half-open']}, closed ${t.closed}, now ${policy.state}`;
}

export function proxyLine(proxy: FaultProxy): string {
  const s = proxy.stats();
  return `${proxy.name} proxy: ${s.connectionsTotal} connections, ${s.resets} resets, ${s.bytesUpstream} B up, ${s.bytesDownstream} B down`;
}

/**
 * Heals a black hole: connections still open inside it lost bytes for good (a real partition
 * retransmits them), so they are reset as the toxic goes; new connections pass clean.
 */
export async function heal(proxy: FaultProxy, toxic: string): Promise<void> {
  await proxy.disable();
  proxy.removeToxic(toxic);
  await proxy.enable();
}
