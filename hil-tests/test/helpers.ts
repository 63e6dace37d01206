import { binFlag, type ReadingsMessage } from '@bitv/shared/shelf-link';
import type { ShelfLinkClient } from '../src/client.js';

/** Mean weight (grams) of `bin` over `n` consecutive stable readings, waiting at most `timeoutMs`. */
export async function settledWeightG(
  client: ShelfLinkClient,
  bin: number,
  timeoutMs = 10_000,
  n = 3,
): Promise<number> {
  let run: number[] = [];
  await client.next(
    (f) => {
      if (f.message.type !== 'readings') return false;
      const m: ReadingsMessage = f.message;
      if ((m.binFlags[bin]! & binFlag.stable) === 0) run = [];
      else run.push(m.weightsDg[bin]! / 10);
      return run.length >= n;
    },
    timeoutMs,
    `${n} stable readings of bin ${bin}`,
  );
  return run.reduce((a, b) => a + b, 0) / run.length;
}

/** A deterministic pseudo-random byte string (with zeros and frame-looking bytes). */
export function noise(n: number, seed = 1): Uint8Array {
  let s = seed >>> 0;
  return Uint8Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  });
}
