import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

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
