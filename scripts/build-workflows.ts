import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../src/temporal/workflows-path';

/** Writes the prebuilt workflow bundle production workers load (WORKFLOW_BUNDLE_PATH). */
async function main(): Promise<void> {
  const output = path.resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
  await mkdir(path.dirname(output), { recursive: true });
  await writeFile(output, code);
  console.log(`Wrote ${output} (${Math.round(code.length / 1024)} KiB)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
