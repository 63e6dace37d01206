import type { Logger } from '@bitv/shared';
import type { Scheduler } from '../clock/scheduler.js';
import type { SimulatedShelf } from '../shelf/simulated-shelf.js';
import type { ScenarioStep } from './schema.js';

/** Schedules every timeline step on the virtual clock. */
export function applyTimeline(
  steps: readonly ScenarioStep[],
  shelves: readonly SimulatedShelf[],
  scheduler: Scheduler,
  logger: Logger,
): void {
  const targets = (t: ScenarioStep['shelf']): SimulatedShelf[] => {
    if (t === undefined) return [...shelves];
    const s = typeof t === 'number' ? shelves[t] : shelves.find((x) => x.serialNumber === t);
    if (!s) throw new RangeError(`timeline: no shelf ${String(t)}`);
    return [s];
  };
  const async = (what: string, p: Promise<void>) =>
    void p.catch((error: unknown) => logger.error({ err: error, step: what }, 'timeline step failed'));
  for (const step of steps) {
    const shelvesHit = targets(step.shelf); // resolve now so a typo fails at start, not later
    scheduler.at(step.at, () => {
      for (const s of shelvesHit) {
        logger.debug({ shelf: s.serialNumber, step }, 'timeline step');
        switch (step.do) {
          case 'pick':
            s.pick(step.bin, step.count, step.handMs);
            break;
          case 'restock':
            s.restock(step.bin, step.count, step.handMs);
            break;
          case 'dead_cell': {
            s.setCellDead(step.bin, true);
            if (step.durationMs !== undefined)
              scheduler.after(step.durationMs, () => s.setCellDead(step.bin, false));
            break;
          }
          case 'garbage':
            s.injectGarbage(step.bytes);
            break;
          case 'cut_frame':
            s.cutFrame();
            break;
          case 'stall':
            s.stall(step.durationMs);
            break;
          case 'unplug': {
            async('unplug', s.unplug());
            const d = step.durationMs;
            if (d !== undefined) scheduler.after(d, () => async('replug', s.replug()));
            break;
          }
          case 'replug':
            async('replug', s.replug());
            break;
          case 'clock_jump':
            s.clockJump(step.deltaMs);
            break;
          case 'brown_out':
            s.brownOut(step.millivolts);
            break;
          case 'tamper':
            s.tamper(step.bin);
            break;
        }
      }
    });
  }
}
