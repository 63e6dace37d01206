import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Bundles the agent's CLI (or another entry) into one ESM file for deployment: plain `node`
 * starts it in a fraction of the time tsx needs (a shorter restart is a shorter window in which a
 * shelf talks to nobody) and with less memory. Native and hardware packages stay external and are
 * resolved from the repository's node_modules, so the bundle must live inside the repository.
 */
export async function buildAgentBundle(outfile: string, entry = 'src/cli.ts'): Promise<string> {
  await build({
    entryPoints: [fileURLToPath(new URL(`../${entry}`, import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: false,
    // Memory, measured (bench/run.ts): V8 keeps every module's source text for the life of the
    // process, as UTF-16 if a single character is not Latin-1 (a few '§' and '±' in library
    // comments doubled a 2.5 MB bundle to 5 MB of heap). Minified, comments go and the source is
    // a fraction of that; names are kept so stack traces and logged error names stay readable.
    minify: true,
    keepNames: true,
    charset: 'ascii',
    legalComments: 'none',
    logLevel: 'error',
    external: ['better-sqlite3', 'serialport', '@serialport/*', 'johnny-five', 'firmata-io'],
    // Bundled CommonJS dependencies call require(); ESM output needs one.
    banner: {
      js: "import { createRequire as __bvCreateRequire } from 'node:module'; const require = __bvCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}

/**
 * The node flags the gateway runs the bundle with, read from the systemd unit's ExecStart (between
 * the node binary and the bundle): the benchmark and the kill tests start the agent with exactly
 * these, so what they measure is what is deployed.
 */
export function deployedNodeFlags(): string[] {
  const unit = readFileSync(fileURLToPath(new URL('../deploy/bitv-edge.service', import.meta.url)), 'utf8');
  const exec = /^ExecStart=\S*node((?:\s+--\S+)*)\s+\S*dist\/bitv-edge\.mjs\s/m.exec(unit);
  if (!exec)
    throw new Error('deploy/bitv-edge.service: no ExecStart=node [flags] .../dist/bitv-edge.mjs line');
  return exec[1]!.trim().split(/\s+/).filter(Boolean);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildAgentBundle(`${root}dist/bitv-edge.mjs`);
  process.stdout.write(`built ${out}\n`);
}
