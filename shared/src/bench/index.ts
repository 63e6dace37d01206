import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const benchmarksFile = fileURLToPath(new URL('../../../docs/benchmarks.md', import.meta.url));

/**
 * Replaces one workspace's section of docs/benchmarks.md (between its start and end markers),
 * so each benchmark writes its own results without touching the others'.
 */
export async function writeBenchSection(section: string, markdown: string): Promise<void> {
  const start = `<!-- bench:${section}:start -->`;
  const end = `<!-- bench:${section}:end -->`;
  let text = await readFile(benchmarksFile, 'utf8').catch(() => '# Benchmarks\n');
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  text =
    i >= 0 && j > i
      ? text.slice(0, i) + block + text.slice(j + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  await writeFile(benchmarksFile, text);
}

/** A markdown table from rows of cells. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function machineLine(): string {
  return `Node ${process.version}, ${process.platform}/${process.arch}, measured ${new Date().toISOString().slice(0, 10)}`;
}

let ticksPerSecond: number | undefined;

/** User + system CPU seconds of the processes so far (all their threads), from /proc. */
export async function cpuSeconds(pids: readonly number[]): Promise<number> {
  ticksPerSecond ??= Number((await promisify(execFile)('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
  let ticks = 0;
  for (const pid of pids) {
    // A process that ended meanwhile (a database backend) counts nothing more.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    // The fields after the command name (which may hold spaces) start at the state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / ticksPerSecond;
}

/** The ids of this machine's processes whose command name is `name` (e.g. `postgres`). */
export async function pidsNamed(name: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === name) pids.push(Number(entry));
  }
  return pids;
}
