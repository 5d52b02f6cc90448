import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { build } from 'esbuild';
import { WORKFLOWS_PATH } from '../temporal/workflows-path';

const ROOT = path.resolve(__dirname, '../..');

/** Where `npm run build` writes what production runs. */
export const DIST = distFiles(path.join(ROOT, 'dist'));

/** The files of a build in `directory`: it must be inside the repository, where node_modules resolve. */
export function distFiles(directory: string) {
  return {
    worker: path.join(directory, 'worker.js'),
    api: path.join(directory, 'api.js'),
    workflowBundle: path.join(directory, 'workflow-bundle.js'),
    console: path.join(directory, 'console'),
  };
}

/** The web console's sources (a Preact app built by Vite); the API serves the build at /ui/ (src/api/console-assets.ts). */
export const CONSOLE_SOURCE = path.join(ROOT, 'console');

/**
 * Builds the web console into `outDir` (dist/console): static files with hashed names, no CDN, served by the API.
 * Vite is loaded only here, when a build runs: the API and the worker never load it.
 */
export async function buildConsole(outDir = DIST.console): Promise<void> {
  const { build } = await import('vite');
  const { default: preact } = await import('@preact/preset-vite');
  await build({
    root: CONSOLE_SOURCE,
    base: '/ui/',
    configFile: false,
    logLevel: 'warn',
    plugins: [preact()],
    build: { outDir, emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  });
}

/** The newest modification time of the console's sources. */
function newestSourceMtime(directory = CONSOLE_SOURCE): number {
  return Math.max(
    0,
    ...readdirSync(directory, { withFileTypes: true }).map((entry) => {
      const full = path.join(directory, entry.name);
      return entry.isDirectory() ? newestSourceMtime(full) : statSync(full).mtimeMs;
    }),
  );
}

/** Builds the console when dist/console is missing or older than its sources (tests and the dev command). */
export async function ensureConsoleBuilt(outDir = DIST.console): Promise<boolean> {
  const index = path.join(outDir, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestSourceMtime()) return false;
  await buildConsole(outDir);
  return true;
}

/**
 * Builds dist/: the web console (dist/console), the worker and the API as plain JavaScript (our code bundled, packages left to node_modules), so
 * that no TypeScript loader runs in production processes (it costs a worker ~60 MB of memory and its start-up
 * compile); and the workflow bundle, which the compiled worker finds beside itself.
 */
export async function buildDist(directory = path.dirname(DIST.worker)): Promise<void> {
  await mkdir(directory, { recursive: true });
  await build({
    entryPoints: {
      worker: path.join(ROOT, 'worker.ts'),
      api: path.join(ROOT, 'scripts/api.ts'),
      // Beside the worker, which loads it into its JSON lines thread (src/formats/json-lines-thread.ts).
      'json-lines': path.join(ROOT, 'src/formats/json-lines.ts'),
    },
    outdir: directory,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
  await writeFile(distFiles(directory).workflowBundle, code);
  await buildConsole(distFiles(directory).console);
}
