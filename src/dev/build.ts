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
  };
}

/**
 * Builds dist/: the worker and the API as plain JavaScript (our code bundled, packages left to node_modules), so
 * that no TypeScript loader runs in production processes (it costs a worker ~60 MB of memory and its start-up
 * compile); and the workflow bundle, which the compiled worker finds beside itself.
 */
export async function buildDist(directory = path.dirname(DIST.worker)): Promise<void> {
  await mkdir(directory, { recursive: true });
  await build({
    entryPoints: { worker: path.join(ROOT, 'worker.ts'), api: path.join(ROOT, 'scripts/api.ts') },
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
}
