import { randomBytes } from 'node:crypto';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite } from '../src/dev/azurite';
import { createBatchExport } from '../src/service/batch-exports';
import { numberArgument, type SuiteResult } from './args';
import { BENCH_TEAM_ID, type BenchContext } from './context';
import { timeBenchInterval } from './one-interval';
import { seedEvents } from './seed';

/**
 * The AzureBlob destination against Azurite (in memory, in its own process): the benchmark hour (`--azure-events N`,
 * default 1,000,000) as gzip JSON lines and as zstd Parquet, with the default part (block) size. Measures throughput
 * and the worker's peak memory; checks that the container holds what the manifest says (the bytes of the listed
 * blobs and their row count).
 */
const SCENARIOS = [
  { name: 'AzureBlob JSONLines+gzip', config: { file_format: 'JSONLines', compression: 'gzip' } },
  { name: 'AzureBlob Parquet+zstd', config: { file_format: 'Parquet', compression: 'zstd' } },
] as const;

export async function azureSuite(context: BenchContext): Promise<SuiteResult> {
  const { pool, client, config } = context;
  const events = numberArgument('azure-events', 1_000_000);
  await seedEvents(pool, BENCH_TEAM_ID, events);
  const azurite = await startAzurite();
  const rows = [];
  try {
    for (const scenario of SCENARIOS) {
      const name = `bench-${randomBytes(4).toString('hex')}`;
      const container = new ContainerClient(
        `${azurite.endpoint}/${name}`,
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      );
      await container.create();
      const batchExport = await createBatchExport({ pool, temporal: client, config }, BENCH_TEAM_ID, {
        name: scenario.name,
        paused: true,
        destination: {
          type: 'AzureBlob',
          config: {
            account_name: AZURITE_ACCOUNT,
            account_key: AZURITE_KEY,
            endpoint_url: azurite.endpoint,
            container_name: name,
            ...scenario.config,
          },
        },
      });
      const { result, seconds, peakRssMb } = await timeBenchInterval(context, batchExport.id);
      const stored = await storedFiles(container);
      if (result.status !== 'Completed' || stored.records !== events || stored.bytes !== result.bytesExported) {
        throw new Error(
          `${scenario.name}: ${result.status}, ${result.recordsCompleted} rows exported; the container's manifest ` +
            `lists ${stored.records} of ${events} rows and its blobs hold ${stored.bytes} of ${result.bytesExported} bytes`,
        );
      }
      rows.push({
        name: scenario.name,
        events,
        seconds: Number(seconds.toFixed(1)),
        rowsPerSecond: Math.round(events / seconds),
        mbPerSecond: Number((result.bytesExported / 1e6 / seconds).toFixed(1)),
        peakRssMb,
      });
    }
  } finally {
    await azurite.stop();
  }
  return {
    rows,
    table: rows.map((row) => ({
      export: row.name,
      rows: row.events,
      s: row.seconds,
      'rows/s': row.rowsPerSecond,
      'MB/s (output)': row.mbPerSecond,
      'peak RSS MB': row.peakRssMb,
    })),
  };
}

/** The rows the container's manifest lists, and the bytes of the data blobs the container holds. */
async function storedFiles(container: ContainerClient): Promise<{ records: number; bytes: number }> {
  let bytes = 0;
  let manifest: string | null = null;
  for await (const blob of container.listBlobsFlat()) {
    if (blob.name.endsWith('_manifest.json')) manifest = blob.name;
    else bytes += blob.properties.contentLength ?? 0;
  }
  if (!manifest) return { records: 0, bytes };
  const body = await container.getBlobClient(manifest).downloadToBuffer();
  return { records: (JSON.parse(body.toString('utf8')) as { records: number }).records, bytes };
}
