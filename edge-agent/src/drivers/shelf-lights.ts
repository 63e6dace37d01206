import type { HelloMessage, LedBlink, LedSetting } from '@bitv/shared/shelf-link';
import type { LightState } from '@bitv/shared/sparkplug';

/** `set_led` bin 255 means every bin [SL-BIN-1]. */
const ALL_BINS = 255;

const lightOf = (color: number, blink: LedBlink): LightState =>
  blink === 'off' ? 'off' : { color: `#${color.toString(16).padStart(6, '0')}`, blink };

/**
 * What one shelf's pick-to-light LEDs show, as far as the agent can know it. The shelf link has no
 * message that reports LEDs, so the knowledge comes from two facts of the protocol:
 * - a controller boots with every LED off (its HELLO after a boot is the proof: a new `bootId`
 *   [SL-REPLAY-1], or sequence 0 for a controller without `replay` [SL-HELLO-3]);
 * - an ACKed `set_led` has been carried out [SL-CMD-2], a NACKed one had no effect [SL-CMD-3].
 * A `set_led` nobody answered may or may not have happened, and a HELLO of a boot the agent did not
 * follow (the agent restarted, the shelf did not) says nothing about the LEDs: both are unknown
 * (null) until the next boot or `set_led`.
 */
export class ShelfLights {
  private device: string | undefined;
  private bootId: number | undefined;
  private lights: LightState[] = [];

  /**
   * Takes a HELLO (frame `seq`; `storedBootId`: the boot the agent last stored readings of, from
   * its outbox) and returns whether it starts a boot the agent had not seen (every LED off).
   */
  hello(device: string, hello: HelloMessage, seq: number, storedBootId: number | null): boolean {
    const known = this.device === device && this.lights.length === hello.binCount;
    const previous = this.device === device ? this.bootId : (storedBootId ?? undefined);
    const booted =
      hello.bootId !== undefined && previous !== undefined ? hello.bootId !== previous : seq === 0;
    this.device = device;
    this.bootId = hello.bootId;
    if (booted) this.lights = Array.from({ length: hello.binCount }, () => 'off' as const);
    else if (!known) this.lights = Array.from({ length: hello.binCount }, () => null);
    return booted;
  }

  /**
   * A `set_led` was answered (`ack`), refused (`nack`) or not answered in time (`unknown`);
   * returns the bins whose state it changed.
   */
  ledCommand(bin: number, color: number, blink: LedBlink, outcome: 'ack' | 'nack' | 'unknown'): number[] {
    if (outcome === 'nack') return [];
    const bins = bin === ALL_BINS ? this.lights.map((_, i) => i) : bin < this.lights.length ? [bin] : [];
    const light: LightState = outcome === 'unknown' ? null : lightOf(color, blink);
    for (const b of bins) this.lights[b] = light;
    return bins;
  }

  /**
   * A `set_leds` was answered: ACK is every entry carried out, NACK none of them [SL-LED-2], no
   * answer leaves each named bin unknown. Returns the bins it changed.
   */
  ledsCommand(leds: readonly LedSetting[], outcome: 'ack' | 'nack' | 'unknown'): number[] {
    if (outcome === 'nack') return [];
    const bins = new Set<number>();
    for (const l of leds) {
      if (l.bin >= this.lights.length) continue;
      this.lights[l.bin] = outcome === 'unknown' ? null : lightOf(l.color, l.blink);
      bins.add(l.bin);
    }
    return [...bins];
  }

  /** Every bin's light (or only `bins`), for the DBIRTH and DDATA `bin/NN/led` metrics. */
  list(bins?: readonly number[]): { bin: number; light: LightState }[] {
    return (bins ?? this.lights.map((_, i) => i)).map((bin) => ({ bin, light: this.lights[bin] ?? null }));
  }
}
