import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringArgument, type SuiteResult } from './args';
import { startBenchContext, type BenchContext } from './context';
import { azureSuite } from './azure';
import { backfillSuite } from './backfill';
import { exportsSuite } from './exports';
import { httpSuite } from './http';
import { icebergSuite } from './iceberg';
import { schedulesSuite } from './schedules';
import { workersSuite } from './workers';

/**
 * `npm run bench [-- --suite exports,backfill,schedules,workers,http] [suite options]`: measures the engine on this machine
 * against the real worker process, Temporal dev server (or the cluster `--temporal-address host:port` names),
 * Postgres and moto S3. Prints a table per suite and writes the
 * figures to bench/results/latest.json (suites not run this time keep their last figures there).
 *
 * Suites and their options are described in each suite's file.
 */
const SUITES: Record<string, (context: BenchContext) => Promise<SuiteResult>> = {
  exports: exportsSuite,
  backfill: backfillSuite,
  schedules: schedulesSuite,
  workers: workersSuite,
  http: httpSuite,
  azure: azureSuite,
  iceberg: icebergSuite,
};

async function main(): Promise<void> {
  const names = stringArgument('suite')?.split(',') ?? Object.keys(SUITES);
  const unknown = names.filter((name) => !(name in SUITES));
  if (unknown.length) throw new Error(`Unknown suite ${unknown.join(', ')}; suites: ${Object.keys(SUITES).join(', ')}`);
  const context = await startBenchContext();
  const results: Record<string, SuiteResult> = {};
  try {
    for (const name of names) {
      results[name] = await SUITES[name]!(context);
      console.log(`\n${name}`);
      console.table(results[name].table);
    }
  } finally {
    await context.stop();
  }
  const file = path.join(__dirname, 'results/latest.json');
  await mkdir(path.dirname(file), { recursive: true });
  const previous = await readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as { suites?: Record<string, unknown> },
    () => ({ suites: {} }),
  );
  const suites: Record<string, unknown> = { ...previous.suites };
  const machine = { cpus: os.cpus().length, node: process.version, load: os.loadavg() };
  for (const [name, result] of Object.entries(results)) {
    suites[name] = { at: new Date().toISOString(), machine, rows: result.rows };
  }
  await writeFile(file, JSON.stringify({ suites }, null, 2) + '\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
