import { performance } from 'node:perf_hooks';
import { sleep } from '@bitv/shared/retry';
import WebSocket from 'ws';
import { z } from 'zod';

/**
 * Drives weight changes through the simulator's HTTP control API and times, at a WebSocket client
 * of the cloud's live channel, the first message that reflects each change. One change at a time
 * per bin (the next waits for the previous one's count to arrive), every bin in parallel.
 */

const weightMessage = z.object({
  type: z.literal('weight'),
  shelfId: z.string(),
  bin: z.number().int(),
  weightG: z.number(),
  readingTime: z.string(),
});
const stockMessage = z.object({
  type: z.literal('stock'),
  shelfId: z.string(),
  bin: z.number().int(),
  count: z.number().int(),
  weightG: z.number().nullable(),
});
const liveMessage = z.union([weightMessage, stockMessage]);

const changeResponse = z.object({
  moved: z.number().int(),
  bin: z.object({ count: z.number().int() }),
});

export interface BinTarget {
  shelfId: string;
  serialNumber: string;
  bin: number;
  unitWeightG: number;
  /** Items on the bin now (the simulator's truth). */
  count: number;
  /** Its settled gross weight as the cloud last reported it, grams. */
  weightG: number;
}

interface Pending {
  /** performance.now() just before the control API request was sent. */
  t0: number;
  /** performance.now() when the control API's answer arrived (the change was made before it). */
  t1?: number;
  targetCount: number;
  targetWeightG: number;
  toleranceG: number;
  /** Settled gross weight before the change, grams. */
  baselineG: number;
  /** First `weight` message closer to the new weight than to the old one. */
  movedAt?: number;
  weightAt?: number;
  stockAt?: number;
  resolve: () => void;
}

export interface PhaseResult {
  /** Control API request sent -> first `weight` message closer to the new weight than the old, ms. */
  moved: number[];
  movedFromAnswer: number[];
  /** Control API request sent -> first `weight` message within half a unit of the new weight, ms. */
  weight: number[];
  /** The same, from the control API's answer (a lower bound: the change was made before it). */
  weightFromAnswer: number[];
  /** Control API request sent -> `stock` message with the new count, ms. */
  stock: number[];
  stockFromAnswer: number[];
  /** Changes whose new weight never showed in a `weight` message (only its count arrived). */
  weightUnseen: number;
  /** Round trip of the control API call that made the change, ms. */
  controlRtt: number[];
  changes: number;
  /** Changes whose new count did not reach the client within the per-change timeout. */
  missed: number;
  /** `stock` messages with a count other than the simulator's (a transient the cloud took as settled). */
  unexpectedCounts: number;
  seconds: number;
}

/** A client of `/api/v1/live` that routes `weight` and `stock` messages to the pending change of their bin. */
export class LiveProbe {
  private readonly pending = new Map<string, Pending>();
  private readonly lastStockWeight = new Map<string, number>();
  private result: PhaseResult = emptyResult();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => this.onMessage(String(data)));
  }

  static async connect(cloudUrl: string, siteId: string, accessToken: string): Promise<LiveProbe> {
    const url = `${cloudUrl.replace(/^http/, 'ws')}/api/v1/live?site=${encodeURIComponent(siteId)}`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${accessToken}` } });
    const probe = new LiveProbe(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`live WebSocket refused: HTTP ${res.statusCode}`)),
      );
    });
    return probe;
  }

  close(): void {
    this.ws.close();
  }

  private onMessage(text: string): void {
    const now = performance.now();
    const parsed = liveMessage.safeParse(JSON.parse(text));
    if (!parsed.success) return; // hello, alert, light, ...: kinds this probe does not time
    const m = parsed.data;
    const key = `${m.shelfId}/${m.bin}`;
    const p = this.pending.get(key);
    if (m.type === 'weight') {
      if (!p) return;
      const toNew = Math.abs(m.weightG - p.targetWeightG);
      if (p.movedAt === undefined && toNew < Math.abs(m.weightG - p.baselineG)) p.movedAt = now;
      if (p.weightAt === undefined && toNew <= p.toleranceG) p.weightAt = now;
      return;
    }
    if (m.weightG !== null) this.lastStockWeight.set(key, m.weightG);
    if (!p) return;
    if (m.count !== p.targetCount) {
      this.result.unexpectedCounts++;
      return;
    }
    p.stockAt = now;
    this.pending.delete(key);
    p.resolve();
  }

  /**
   * Runs `changes` pick/restock changes spread over `bins`; `handMs` undefined = the simulator's
   * default hand (600 ms for a pick, 1200 ms for a restock), 0 = the items move without a hand.
   */
  async run(options: {
    controlUrl: string;
    bins: BinTarget[];
    changes: number;
    handMs: number | undefined;
    perChangeTimeoutMs: number;
    signal: AbortSignal;
  }): Promise<PhaseResult> {
    this.result = emptyResult();
    const started = performance.now();
    let issued = 0;
    const loop = async (b: BinTarget) => {
      while (issued < options.changes && !options.signal.aborted) {
        issued++;
        await this.change(b, options);
        // Let the bin rest a little, at a random phase against the shelf's 100 ms sampling.
        await sleep(150 + Math.random() * 100);
      }
    };
    await Promise.all(options.bins.map(loop));
    this.result.seconds = (performance.now() - started) / 1000;
    return this.result;
  }

  private async change(
    b: BinTarget,
    options: { controlUrl: string; handMs: number | undefined; perChangeTimeoutMs: number },
  ): Promise<void> {
    const n = 1 + Math.floor(Math.random() * 3);
    const pick = b.count > 3 && (Math.random() < 0.5 || (b.count + n) * b.unitWeightG > 10_000);
    const delta = pick ? -n : n;
    const key = `${b.shelfId}/${b.bin}`;
    const baseline = this.lastStockWeight.get(key) ?? b.weightG;
    let resolve: () => void = () => {};
    const arrived = new Promise<void>((r) => {
      resolve = r;
    });
    const pending: Pending = {
      t0: 0,
      targetCount: b.count + delta,
      targetWeightG: baseline + delta * b.unitWeightG,
      baselineG: baseline,
      toleranceG: b.unitWeightG / 2,
      resolve,
    };
    this.pending.set(key, pending);
    const body = JSON.stringify(
      options.handMs === undefined ? { count: n } : { count: n, handMs: options.handMs },
    );
    const url = `${options.controlUrl}/shelves/${b.serialNumber}/bins/${b.bin}/${pick ? 'pick' : 'restock'}`;
    pending.t0 = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const t1 = performance.now();
    pending.t1 = t1;
    this.result.controlRtt.push(t1 - pending.t0);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
    const moved = changeResponse.parse(await response.json());
    this.result.changes++;
    b.count = moved.bin.count;
    pending.targetCount = moved.bin.count;
    pending.targetWeightG = baseline + (pick ? -moved.moved : moved.moved) * b.unitWeightG;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      arrived.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), options.perChangeTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.result.missed++;
      this.pending.delete(key);
      return;
    }
    const { t0, movedAt, weightAt, stockAt } = pending;
    if (movedAt !== undefined) {
      this.result.moved.push(movedAt - t0);
      this.result.movedFromAnswer.push(Math.max(0, movedAt - t1));
    }
    // A message before the answer (possible: one event loop serves both) counts 0 from the answer.
    if (weightAt === undefined) this.result.weightUnseen++;
    else {
      this.result.weight.push(weightAt - t0);
      this.result.weightFromAnswer.push(Math.max(0, weightAt - t1));
    }
    if (stockAt !== undefined) {
      this.result.stock.push(stockAt - t0);
      this.result.stockFromAnswer.push(Math.max(0, stockAt - t1));
    }
  }
}

function emptyResult(): PhaseResult {
  return {
    weight: [],
    stock: [],
    weightFromAnswer: [],
    moved: [],
    movedFromAnswer: [],
    stockFromAnswer: [],
    weightUnseen: 0,
    controlRtt: [],
    changes: 0,
    missed: 0,
    unexpectedCounts: 0,
    seconds: 0,
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
