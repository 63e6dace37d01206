import type { DeviceBirth, Metric } from '@bitv/shared/sparkplug';
import type { Outbox } from './outbox/index.js';

/** What a driver knows about one device it serves. */
export interface DeviceInfo {
  name: string;
  serialNumber: string;
  firmware: string;
  binCount: number;
}

/**
 * Which devices are linked right now (drivers tell it) and what to say in their DBIRTH. Identity
 * and last values live in the outbox file, so a device with unsent readings can be born (and its
 * backlog sent) even while it is unplugged.
 */
export class DeviceDirectory {
  private readonly linkedNames = new Set<string>();
  private readonly live = new Map<string, Map<string, Metric>>();

  constructor(private readonly outbox: Outbox) {}

  online(info: DeviceInfo): void {
    this.outbox.upsertDevice(info.name, {
      serial: info.serialNumber,
      firmware: info.firmware,
      binCount: info.binCount,
    });
    this.linkedNames.add(info.name);
  }

  offline(name: string): void {
    this.linkedNames.delete(name);
  }

  /** Current values of a device's live (not stored) metrics, e.g. Firmata pins, for its DBIRTH. */
  setMetrics(name: string, metrics: readonly Metric[]): void {
    let m = this.live.get(name);
    if (!m) {
      m = new Map();
      this.live.set(name, m);
    }
    for (const metric of metrics) m.set(metric.name, metric);
  }

  liveMetrics(name: string): Metric[] {
    return [...(this.live.get(name)?.values() ?? [])];
  }

  isLinked(name: string): boolean {
    return this.linkedNames.has(name);
  }

  linked(): string[] {
    return [...this.linkedNames];
  }

  /** Devices known to the outbox with readings not yet acknowledged. */
  withBacklog(): string[] {
    return this.outbox.deviceNamesList().filter((name) => this.outbox.read(name, 0, 1).length > 0);
  }

  birth(name: string): DeviceBirth {
    const d = this.outbox.device(name);
    const binCount = d?.binCount ?? d?.lastValues?.bins.length ?? 0;
    const last = new Map((d?.lastValues?.bins ?? []).map((b) => [b.bin, b.weightG]));
    const bins = Array.from({ length: binCount }, (_, bin) => ({ bin, weightG: last.get(bin) ?? 0 }));
    return {
      serialNumber: d?.serial ?? name.replace(/^shelf-/, ''),
      firmware: d?.firmware ?? 'unknown',
      binCount,
      bins,
      temperatureC: d?.lastValues?.temperatureC,
      lastSeq: d?.lastSeq ?? 0,
    };
  }
}
