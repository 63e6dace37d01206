import { Gauge, gauge, type Registry } from '@bitv/shared';
import type { Scheduler } from './clock/scheduler.js';
import type { SimulatedShelf } from './shelf/simulated-shelf.js';

/**
 * Simulator metrics, read from the shelves' counters when scraped (nothing to update on the
 * sample path).
 */
export function registerSimulationMetrics(
  registry: Registry,
  shelves: readonly SimulatedShelf[],
  scheduler: Scheduler,
): void {
  // A registry that served an earlier simulation (tests, a restarted launcher) gets fresh series.
  for (const name of [
    'bv_sim_virtual_time_seconds',
    'bv_sim_frames_sent',
    'bv_sim_bytes_sent',
    'bv_sim_tx_dropped',
    'bv_sim_replay_evicted',
    'bv_sim_commands_received',
    'bv_sim_rx_bad_frames',
    'bv_sim_plugged',
  ])
    registry.removeSingleMetric(name);
  // prom-client serialises metrics in registration order, calling each one's `collect` first:
  // the first registered one refreshes them all.
  const virtual = new Gauge({
    name: 'bv_sim_virtual_time_seconds',
    help: 'Virtual time since the simulation started',
    registers: [registry],
    collect: () => collect(),
  });
  const frames = gauge(registry, 'bv_sim_frames_sent', 'Frames a simulated shelf has sent', ['shelf']);
  const bytes = gauge(registry, 'bv_sim_bytes_sent', 'Bytes a simulated shelf has sent', ['shelf']);
  const dropped = gauge(registry, 'bv_sim_tx_dropped', 'Frames dropped because the host was not reading', [
    'shelf',
  ]);
  const evicted = gauge(
    registry,
    'bv_sim_replay_evicted',
    'Readings a replay shelf dropped unstored because its store was full',
    ['shelf'],
  );
  const commands = gauge(registry, 'bv_sim_commands_received', 'Commands a simulated shelf received', [
    'shelf',
  ]);
  const bad = gauge(registry, 'bv_sim_rx_bad_frames', 'Bad frames received from the host, by reason', [
    'shelf',
    'reason',
  ]);
  const plugged = gauge(registry, 'bv_sim_plugged', '1 while the shelf link is plugged in', ['shelf']);
  const collect = () => {
    virtual.set(scheduler.now() / 1000);
    for (const s of shelves) {
      const c = s.firmware.counters;
      const shelf = s.serialNumber;
      frames.set({ shelf }, c.framesSent);
      bytes.set({ shelf }, c.bytesSent);
      dropped.set({ shelf }, c.txDropped);
      evicted.set({ shelf }, c.replayEvicted);
      commands.set({ shelf }, c.commandsReceived);
      plugged.set({ shelf }, s.link.plugged ? 1 : 0);
      for (const [reason, n] of Object.entries(s.firmware.rx.stats.badFrames)) bad.set({ shelf, reason }, n);
    }
  };
}
