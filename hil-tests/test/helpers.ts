import {
  binFlag,
  type DecodedFrame,
  type HeartbeatMessage,
  type HelloMessage,
  type ReadingsMessage,
} from '@bitv/shared/shelf-link';
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

/**
 * Asks for HELLO and returns what a replay controller sends after it [SL-REPLAY-3]: the HELLO,
 * the HEARTBEAT that must follow it (undefined when another frame came first), and every
 * READINGS from there up to the first one sampled at or after that heartbeat's clock (the kept
 * readings, then the first live one).
 */
export async function replayAfterHello(
  client: ShelfLinkClient,
  timeoutMs: number,
): Promise<{ hello: HelloMessage; heartbeat: HeartbeatMessage | undefined; readings: DecodedFrame[] }> {
  let hello: HelloMessage | undefined;
  let heartbeat: HeartbeatMessage | undefined;
  const readings: DecodedFrame[] = [];
  const done = client.next(
    (f) => {
      const m = f.message;
      if (m.type === 'hello') {
        // A repeated request_hello restarts the replay: keep only the last one.
        hello = m;
        heartbeat = undefined;
        readings.length = 0;
        return false;
      }
      if (!hello) return false;
      if (!heartbeat) {
        // Anything else right after the HELLO breaks the rule: stop here, the caller sees no heartbeat.
        if (m.type !== 'heartbeat') return true;
        heartbeat = m;
        return false;
      }
      if (m.type !== 'readings') return false;
      readings.push(f);
      return m.deviceTimeMs >= heartbeat.timeMs;
    },
    timeoutMs,
    'HELLO, HEARTBEAT and the replayed readings',
  );
  await client.hello();
  await done;
  return { hello: hello!, heartbeat, readings };
}
