import { binMetricName } from './names.js';
import type { Metric } from './payload.js';

/** Blink modes of a lit pick-to-light LED (docs/shelf-link.md [SL-CMD-1] set_led). */
export const lightBlinks = ['steady', 'slow', 'fast'] as const;
export type LightBlink = (typeof lightBlinks)[number];

/**
 * What a shelf reports about one bin's pick-to-light LED: `off`, lit (`color` `#rrggbb` and a
 * blink mode), or `null` when the edge node cannot know (docs/sparkplug.md, "Pick-to-light").
 */
export type LightState = 'off' | { color: string; blink: LightBlink } | null;

const litPattern = /^(#[0-9a-f]{6}) (steady|slow|fast)$/;

/** `bin/03/led`: the metric carrying a bin's LED state in DBIRTH and DDATA. */
export function binLedMetric(bin: number): string {
  return binMetricName(bin, 'led');
}

/** The metric value of a light: `off`, `#rrggbb <blink>`, or null (unknown). */
export function formatLight(light: LightState): string | null {
  if (light === null || light === 'off') return light;
  return `${light.color.toLowerCase()} ${light.blink}`;
}

/** A light from its metric value; undefined for a value that is none of the three forms. */
export function parseLight(value: unknown): LightState | undefined {
  if (value === null) return null;
  if (typeof value !== 'string') return undefined;
  if (value === 'off') return 'off';
  const m = litPattern.exec(value);
  return m ? { color: m[1]!, blink: m[2] as LightBlink } : undefined;
}

/** String metrics `bin/NN/led` for the given bins (a null value is a Sparkplug null metric). */
export function lightMetrics(
  lights: readonly { bin: number; light: LightState }[],
  timestamp = Date.now(),
): Metric[] {
  return lights.map(({ bin, light }) => ({
    name: binLedMetric(bin),
    type: 'String' as const,
    value: formatLight(light),
    timestamp,
  }));
}
