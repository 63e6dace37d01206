import { readFile } from 'node:fs/promises';

/**
 * Summarises a `.cpuprofile` (from `BENCH_CPU_PROF=<folder> npm run bench -w gateway`, or any
 * `node --cpu-prof`) by share of samples: self time per function, then time including callees.
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [self rows, 40] [inclusive rows, 40]
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

const [file, selfRows = '40', inclusiveRows = '40'] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.ts <file.cpuprofile> [self rows] [inclusive rows]');
  process.exit(2);
}
const profile = JSON.parse(await readFile(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/.*node_modules\//, '').replace(/.*\/dist\//, 'dist/');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
};

const hits = new Map<number, number>();
for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, count] of hits) {
  const leaf = label(byId.get(id)!);
  self.set(leaf, (self.get(leaf) ?? 0) + count);
  // a function counts once per sample however often it recurses
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const name = label(byId.get(at)!);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + count);
  }
}

const total = profile.samples.length;
const top = (m: Map<string, number>, rows: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, rows)
    .map(([name, n]) => `${((n / total) * 100).toFixed(1).padStart(5)} %  ${name}`)
    .join('\n');
console.log(`${total} samples\n\nself\n${top(self, Number(selfRows))}`);
console.log(`\nincluding callees\n${top(inclusive, Number(inclusiveRows))}`);
