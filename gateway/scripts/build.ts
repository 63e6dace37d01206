import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

/**
 * Bundles a workspace's entry points into `dist/` (git-ignored) so production runs plain Node on
 * one JavaScript file, not tsx compiling TypeScript at start. Usage, from a workspace folder:
 *
 *   node --import tsx ../gateway/scripts/build.ts <entry.ts>=<dist/out.mjs> ...
 *
 * The workspaces' own code (`@bitv/*`, TypeScript behind `exports`) is bundled; every other
 * package stays an import of `node_modules`: native add-ons, WebAssembly files found next to their
 * module (PGlite), and worker files (pino) only work from where npm put them. So a bundle runs
 * from its checkout, next to the installed `node_modules`.
 */
const workspaceCode = /^@bitv\//;

/** Third-party packages stay external; relative imports and the workspaces are bundled. */
const externals: Plugin = {
  name: 'externals',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (workspaceCode.test(args.path) || args.path.startsWith('node:')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/**
 * `import.meta.url` in a bundled file would name the bundle, not the source: the few modules
 * that find files next to themselves (proto's `.proto` root) get their own URL back, written
 * relative to the bundle so the checkout can move.
 */
function ownUrl(outdir: string): Plugin {
  return {
    name: 'own-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const fromBundle = relative(outdir, args.path).split('\\').join('/');
        const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
        return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
      });
    },
  };
}

export async function bundle(entry: string, outfile: string): Promise<void> {
  const out = resolve(outfile);
  await build({
    entryPoints: [resolve(entry)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    // CommonJS inside the bundle (none today, but a dependency may move) needs a `require`
    banner: {
      js: "import { createRequire as __bvRequire } from 'node:module';\nconst require = __bvRequire(import.meta.url);",
    },
    plugins: [externals, ownUrl(dirname(out))],
    logLevel: 'warning',
  });
}

const pairs = process.argv.slice(2);
if (pairs.length === 0 || pairs.some((p) => !p.includes('='))) {
  process.stderr.write('usage: build.ts <entry.ts>=<out.mjs> ...\n');
  process.exit(2);
}
for (const pair of pairs) {
  const [entry, outfile] = pair.split('=') as [string, string];
  try {
    await bundle(entry, outfile);
  } catch {
    // esbuild has printed the errors with their file and line
    process.exit(1);
  }
  process.stdout.write(`${outfile}\n`);
}
