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
    logLevel: 'error',
    external: ['better-sqlite3', 'serialport', '@serialport/*', 'johnny-five', 'firmata'],
    // Bundled CommonJS dependencies call require(); ESM output needs one.
    banner: {
      js: "import { createRequire as __bvCreateRequire } from 'node:module'; const require = __bvCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildAgentBundle(`${root}dist/bitv-edge.mjs`);
  process.stdout.write(`built ${out}\n`);
}
