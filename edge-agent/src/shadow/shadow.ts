import {
  type CommandAction,
  formatIssue,
  mergePatch,
  pruneEmpty,
  type ShadowCommand,
  type ShadowDocument,
  type ShelfShadowSettings,
  shadowDocument,
  shadowMetricNames,
} from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Counter } from '@bitv/shared/metrics';
import type { Metric } from '@bitv/shared/sparkplug';
import type { CommandOutcome, Driver } from '../drivers/driver.js';
import type { ShadowStore, StoredShadow } from './store.js';

export interface ShadowAgentDeps {
  store: ShadowStore;
  drivers: () => readonly Driver[];
  /** Devices linked right now. */
  linked: () => readonly string[];
  /** Publishes the reported shadow as NDATA (dropped while offline: the next NBIRTH carries it). */
  report: (metrics: Metric[]) => void;
  logger: Logger;
  /** Settings applied on a shelf, by setting and outcome. */
  applied: Counter<'setting' | 'outcome'>;
}

/**
 * The agent's half of the device shadow. It accepts a delta (a merge patch against the state it
 * last reported), persists the desired state, applies what a shelf can take through the serial
 * commands it already has (sample rate; tare, once per generation), keeps what it cannot apply to
 * hardware (LED defaults, thresholds) as held settings, and reports what it applied: in every
 * NBIRTH, and as NDATA after each change. A shelf that comes back gets its settings again (a
 * rebooted controller forgot its sample rate).
 */
export class ShadowAgent {
  private state: StoredShadow;
  /** Sample rate applied on each shelf since it linked (a new link starts from the controller's default). */
  private readonly rates = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ShadowAgentDeps) {
    this.state = deps.store.load();
  }

  get version(): number {
    return this.state.version;
  }

  /** The `shadow` NCMD: accepted when it is against the version held, then applied. */
  async accept(command: ShadowCommand): Promise<CommandOutcome> {
    if (command.version <= this.state.version) {
      // Already holds it (the cloud resent before it saw the report): say so again.
      this.publish();
      return { status: 'done' };
    }
    if (command.baseVersion !== 0 && command.baseVersion !== this.state.version) {
      this.publish();
      return {
        status: 'failed',
        reason: `delta is against version ${command.baseVersion}, this gateway holds ${this.state.version}`,
      };
    }
    const base = command.baseVersion === 0 ? {} : this.reported();
    const parsed = shadowDocument.safeParse(pruneEmpty(mergePatch(base, command.delta)));
    if (!parsed.success) {
      return {
        status: 'failed',
        reason: `shadow refused: ${parsed.error.issues.map(formatIssue).join('; ')}`.slice(0, 500),
      };
    }
    this.deps.store.saveDesired(command.version, parsed.data);
    this.state = { ...this.state, version: command.version, desired: parsed.data };
    this.deps.logger.info({ version: command.version }, 'shadow accepted');
    await this.reconcile();
    return { status: 'done' };
  }

  /** A shelf linked: its settings go to it again. */
  deviceOnline(device: string): void {
    this.rates.delete(device);
    void this.reconcile();
  }

  deviceOffline(device: string): void {
    if (this.rates.delete(device)) this.publish();
  }

  /** Applies what is not applied yet, one pass at a time, then reports. Never throws. */
  reconcile(): Promise<void> {
    const run = this.chain.then(() => this.applyAll());
    this.chain = run.catch((error: unknown) => {
      this.deps.logger.error({ err: String(error) }, 'shadow reconcile failed');
    });
    return this.chain;
  }

  /** The reported state: what the agent applied (and the settings it holds). */
  reported(): ShadowDocument {
    const { desired, tares } = this.state;
    const gateway = { ...desired.gateway };
    const defaultRate = gateway.sampleRateHz;
    if (defaultRate !== undefined) {
      const relying = this.deps.linked().filter((d) => desired.shelves?.[d]?.sampleRateHz === undefined);
      if (!relying.every((d) => this.rates.get(d) === defaultRate)) delete gateway.sampleRateHz;
    }
    const shelves: Record<string, ShelfShadowSettings> = {};
    for (const [id, want] of Object.entries(desired.shelves ?? {})) {
      const got: ShelfShadowSettings = { ...want };
      if (want.sampleRateHz !== undefined && this.rates.get(id) !== want.sampleRateHz)
        delete got.sampleRateHz;
      if (want.tare) {
        const done: Record<string, number> = {};
        for (const [bin, generation] of Object.entries(want.tare)) {
          if ((tares[id]?.[bin] ?? 0) >= generation) done[bin] = generation;
        }
        got.tare = done;
      }
      shelves[id] = got;
    }
    return pruneEmpty({ gateway, shelves } as never) as ShadowDocument;
  }

  /** `shadow/version`, `shadow/gateway` and one `shadow/shelf/<id>` per shelf with settings. */
  metrics(now = Date.now()): Metric[] {
    const reported = this.reported();
    const metrics: Metric[] = [
      { name: shadowMetricNames.version, type: 'UInt32', value: this.state.version, timestamp: now },
      {
        name: shadowMetricNames.gateway,
        type: 'String',
        value: JSON.stringify(reported.gateway ?? {}),
        timestamp: now,
      },
    ];
    for (const id of Object.keys(this.state.desired.shelves ?? {})) {
      metrics.push({
        name: `${shadowMetricNames.shelfPrefix}${id}`,
        type: 'String',
        value: JSON.stringify(reported.shelves?.[id] ?? {}),
        timestamp: now,
      });
    }
    return metrics;
  }

  private publish(): void {
    this.deps.report(this.metrics());
  }

  private async applyAll(): Promise<void> {
    const { desired } = this.state;
    for (const device of this.deps.linked()) {
      const driver = this.deps.drivers().find((d) => d.owns(device));
      if (!driver) continue;
      const own = desired.shelves?.[device];
      const rate = own?.sampleRateHz ?? desired.gateway?.sampleRateHz;
      if (rate !== undefined && this.rates.get(device) !== rate) {
        if (await this.run(driver, device, { action: 'set_sample_rate', hz: rate }, 'sample_rate')) {
          this.rates.set(device, rate);
        }
      }
      for (const [bin, generation] of Object.entries(own?.tare ?? {})) {
        if ((this.state.tares[device]?.[bin] ?? 0) >= generation) continue;
        if (!(await this.run(driver, device, { action: 'tare', bin: Number(bin) }, 'tare'))) continue;
        const tares = {
          ...this.state.tares,
          [device]: { ...this.state.tares[device], [bin]: generation },
        };
        // Stored before the next tare: a restart must not tare this bin again for this generation.
        this.deps.store.saveTares(tares);
        this.state = { ...this.state, tares };
      }
    }
    this.publish();
  }

  private async run(
    driver: Driver,
    device: string,
    action: CommandAction,
    setting: 'sample_rate' | 'tare',
  ): Promise<boolean> {
    const outcome = await driver
      .execute(device, action)
      .catch((error: unknown): CommandOutcome => ({ status: 'failed', reason: String(error) }));
    this.deps.applied.inc({ setting, outcome: outcome.status });
    if (outcome.status === 'failed') {
      this.deps.logger.warn({ device, setting, reason: outcome.reason }, 'shadow setting not applied');
    }
    return outcome.status === 'done';
  }
}
