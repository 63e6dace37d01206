/**
 * Shelf-link benchmarks (npm run bench -w firmware-sim), written to docs/benchmarks.md:
 * 1. frames decoded per second on one core, 24-bin READINGS frames, against parsing the same
 *    readings as JSON lines (the obvious alternative wire format) in the same run;
 * 2. readings per second one simulated shelf pushes through a real socat pseudo-terminal to a
 *    host reading it with serialport, at rising simulation speeds, with any loss.
 * Short and bounded: about 15 s in all.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { encodeFrame, FrameDecoder, type ReadingsMessage } from '@bitv/shared/shelf-link';
import { tempDir } from '@bitv/shared/testing';
import { SerialPort } from 'serialport';

const BINS = 24;
const cli = fileURLToPath(new URL('../bin/bitv-sim.mjs', import.meta.url));

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

/**
 * The simulator as its own process (the CLI), the host here, as in a deployment: the edge agent
 * and the simulator (or firmware) never share a thread.
 */
async function ptyBench(speed: number, seconds: number) {
  const dir = await tempDir('bv-bench-');
  const scenarioFile = join(dir.path, 'bench.json');
  await writeFile(
    scenarioFile,
    JSON.stringify({ shelves: [{ serialNumber: 'BENCH0001', sampleRateHz: 100, bins: BINS }] }),
  );
  const child = spawn(
    process.execPath,
    [
      cli,
      '--scenario',
      scenarioFile,
      '--dir',
      join(dir.path, 'tty'),
      '--speed',
      String(speed),
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const running = await new Promise<{ control: string; shelves: { path: string }[] }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('simulator did not start within 20 s')), 20_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg?: string; control: string; shelves: { path: string }[] };
        if (entry.msg === 'simulation running') {
          clearTimeout(timer);
          resolve(entry);
        }
      });
    });
    const port = new SerialPort({ path: running.shelves[0]!.path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    const decoder = new FrameDecoder();
    // Count by device time (the readings sampled inside the window, however late they arrive)
    // and by sequence (frames that never arrived).
    let window: [number, number] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    let latest = 0;
    let readings = 0;
    port.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        const m = f.message;
        if (m.type !== 'readings') continue;
        latest = m.deviceTimeMs;
        if (m.deviceTimeMs >= window[0] && m.deviceTimeMs < window[1]) readings++;
      }
    });
    await new Promise((r) => setTimeout(r, 1000)); // drain what queued before we opened
    const from = latest + 100;
    window = [from, Number.POSITIVE_INFINITY];
    const start = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const elapsed = (performance.now() - start) / 1000;
    const snapshot = async () =>
      (await (await fetch(`${running.control}/shelves/BENCH0001`)).json()) as {
        deviceTimeMs: number;
        counters: { txDropped: number };
      };
    const to = (await snapshot()).deviceTimeMs;
    window = [from, to];
    await fetch(`${running.control}/shelves/BENCH0001/faults`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'stall', durationMs: 3_600_000 }),
    });
    await new Promise((r) => setTimeout(r, 500)); // let the pty drain
    const offered = Math.floor((to - from) / 10); // 100 Hz
    const dropped = (await snapshot()).counters.txDropped;
    await new Promise<void>((resolve) => port.close(() => resolve()));
    return {
      speed,
      offered: offered / elapsed,
      received: readings / elapsed,
      lost: Math.max(0, offered - readings),
      dropped,
      bad: decoder.badFramesTotal,
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
    await dir.remove();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const d = decodeBench();
console.log(
  `decode ${fmt(d.decodeRate)} frames/s, encode ${fmt(d.encodeRate)}/s, JSON lines ${fmt(d.jsonRate)}/s`,
);
const pty = [];
for (const speed of [10, 100, 300, 1000]) {
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
    `One simulated shelf (${BINS} bins, 100 Hz; the \`bitv-sim\` CLI as its own process) on a socat pseudo-terminal, the`,
    'host (this process) reading it with serialport 13, 2 s per row; the simulation speed multiplies the offered rate; three',
    'processes (simulator, socat, host) share the 2 cores. "lost" = readings sampled in the window',
    'that never reached the host; "dropped" = frames the simulator discarded because the pty backlog was over 64 KiB',
    '(as firmware drops when its USB transmit buffer is full).',
    '',
    table(
      ['speed', 'offered readings/s', 'received readings/s', 'lost', 'dropped', 'bad frames'],
      pty.map((r) => [r.speed, fmt(r.offered), fmt(r.received), r.lost, r.dropped, r.bad]),
    ),
  ].join('\n'),
);
