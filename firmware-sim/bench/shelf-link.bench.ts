/**
 * Shelf-link benchmarks (npm run bench -w firmware-sim), written to docs/benchmarks.md:
 * 1. frames decoded per second on one core, 24-bin READINGS frames, against parsing the same
 *    readings as JSON lines (the obvious alternative wire format) in the same run;
 * 2. readings per second one simulated shelf pushes through a real socat pseudo-terminal to a
 *    host reading it with serialport, at rising simulation speeds, with any loss.
 * Short and bounded: about 15 s in all.
 */
import { loadavg } from 'node:os';
import { machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { encodeFrame, FrameDecoder, type ReadingsMessage } from '@bitv/shared/shelf-link';
import { tempDir } from '@bitv/shared/testing';
import { SerialPort } from 'serialport';
import { startSimulation } from '../src/index.js';

const BINS = 24;

function reading(i: number): ReadingsMessage {
  return {
    type: 'readings',
    deviceTimeMs: 1_000_000 + i * 100,
    temperatureCentiC: 2100 + (i % 37),
    weightsDg: Array.from({ length: BINS }, (_, b) => 2500 * (b + 1) + ((i * 7 + b * 13) % 41) - 20),
    binFlags: Array.from({ length: BINS }, (_, b) => ((i + b) % 11 === 0 ? 0 : 1)),
  };
}

/** Runs `step` repeatedly for about `ms`, returns items per second (step returns items done). */
function rate(ms: number, step: () => number): number {
  for (let i = 0; i < 20; i++) step(); // warm-up: let the JIT settle
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    n += step();
    elapsed = performance.now() - start;
  }
  return n / (elapsed / 1000);
}

function decodeBench() {
  const frames = Array.from({ length: 2000 }, (_, i) => encodeFrame(reading(i), i));
  const stream = Buffer.concat(frames);
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 4096) chunks.push(stream.subarray(i, i + 4096));
  const frameBytes = frames[0]!.length;
  const decoder = new FrameDecoder();
  const decodeRate = rate(3000, () => {
    let n = 0;
    for (const c of chunks) n += decoder.push(c).length;
    return n;
  });
  if (decoder.badFramesTotal !== 0) throw new Error('benchmark stream decoded with errors');
  const messages = Array.from({ length: 200 }, (_, i) => reading(i));
  const encodeRate = rate(1500, () => {
    for (let i = 0; i < 200; i++) encodeFrame(messages[i]!, i);
    return 200;
  });
  const lines = Buffer.from(
    `${Array.from({ length: 2000 }, (_, i) => JSON.stringify(reading(i))).join('\n')}\n`,
  );
  const jsonRate = rate(1500, () => {
    let n = 0;
    let at = 0;
    for (;;) {
      const nl = lines.indexOf(10, at);
      if (nl < 0) break;
      JSON.parse(lines.toString('utf8', at, nl));
      n++;
      at = nl + 1;
    }
    return n;
  });
  return { decodeRate, encodeRate, jsonRate, frameBytes, jsonBytes: lines.length / 2000 };
}

async function ptyBench(speed: number, seconds: number) {
  const dir = await tempDir('bv-bench-');
  const sim = await startSimulation({
    dir: dir.path,
    controlPort: null,
    speed,
    scenario: { shelves: [{ serialNumber: 'BENCH0001', sampleRateHz: 100, bins: BINS }] },
  });
  const shelf = sim.shelves[0]!;
  const port = new SerialPort({ path: shelf.path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const decoder = new FrameDecoder();
  // Count by device time: readings sampled inside the window, however late they arrive.
  let window: [number, number] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  let readings = 0;
  port.on('data', (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) {
      const m = f.message;
      if (m.type === 'readings' && m.deviceTimeMs >= window[0] && m.deviceTimeMs < window[1]) readings++;
    }
  });
  await new Promise((r) => setTimeout(r, 300));
  const from = shelf.snapshot().deviceTimeMs + 100;
  window = [from, Number.POSITIVE_INFINITY];
  const start = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const to = shelf.snapshot().deviceTimeMs;
  const elapsed = (performance.now() - start) / 1000;
  window = [from, to];
  shelf.stall(3_600_000); // stop producing; let the pty drain what is in flight
  await new Promise((r) => setTimeout(r, 500));
  const offered = Math.floor((to - from) / 10); // 100 Hz
  const dropped = shelf.snapshot().counters.txDropped;
  await new Promise<void>((resolve) => port.close(() => resolve()));
  await sim.close();
  await dir.remove();
  return {
    speed,
    offered: offered / elapsed,
    received: readings / elapsed,
    lost: Math.max(0, offered - readings),
    dropped,
    bad: decoder.badFramesTotal,
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const d = decodeBench();
console.log(
  `decode ${fmt(d.decodeRate)} frames/s, encode ${fmt(d.encodeRate)}/s, JSON lines ${fmt(d.jsonRate)}/s`,
);
const pty = [];
for (const speed of [10, 100, 400]) {
  const r = await ptyBench(speed, 2);
  console.log(
    `pty speed ${speed}: offered ${fmt(r.offered)}/s, received ${fmt(r.received)}/s, lost ${r.lost}`,
  );
  pty.push(r);
}

await writeBenchSection(
  'shelf-link',
  [
    '## Shelf link (firmware-sim/bench/shelf-link.bench.ts)',
    '',
    `${machineLine()}; load average ${loadavg()[0]!.toFixed(1)} at the end (the machine is shared: rates vary by run).`,
    '',
    `Codec on one core, READINGS frames of ${BINS} bins (${d.frameBytes} bytes on the wire with COBS and delimiters),`,
    'pushed through `FrameDecoder` in 4 KiB chunks; the same readings as JSON lines for comparison.',
    '',
    table(
      ['operation', 'per second', 'MB/s'],
      [
        [
          'decode (COBS + CRC + parse), target >= 500,000',
          fmt(d.decodeRate),
          ((d.decodeRate * d.frameBytes) / 1e6).toFixed(1),
        ],
        ['encode', fmt(d.encodeRate), ((d.encodeRate * d.frameBytes) / 1e6).toFixed(1)],
        [
          `JSON.parse of the same reading as a line (${Math.round(d.jsonBytes)} bytes)`,
          fmt(d.jsonRate),
          ((d.jsonRate * d.jsonBytes) / 1e6).toFixed(1),
        ],
      ],
    ),
    '',
    `One simulated shelf (${BINS} bins, 100 Hz) on a socat pseudo-terminal, the host reading with serialport 13 in the`,
    'same process, 2 s per row; the simulation speed multiplies the offered rate. "lost" = readings sampled in the window',
    'that never reached the host; "dropped" = frames the simulator discarded because the pty backlog was over 64 KiB',
    '(as firmware drops when its USB transmit buffer is full).',
    '',
    table(
      ['speed', 'offered readings/s', 'received readings/s', 'lost', 'dropped', 'bad frames'],
      pty.map((r) => [r.speed, fmt(r.offered), fmt(r.received), r.lost, r.dropped, r.bad]),
    ),
  ].join('\n'),
);
