import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import {
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import {
  AZURITE_ACCOUNT,
  AZURITE_KEY,
  createContainer,
  downloadBlobText,
  listContainer,
  readBlob,
  startAzurite,
  testAzureDestination,
  type Azurite,
} from '../helpers/azurite';
import { createTeam } from '../helpers/fixtures';
import { insertNoisyEvents } from '../helpers/source-rows';
import { intervalInput, runInterval } from '../helpers/s3-exports';
import { useTestStack } from '../helpers/stack';

const HOUR_END = '2024-09-01T11:00:00Z';
const BASE = '2024-09-01T10:00:00Z-2024-09-01T11:00:00Z';
const EVENTS = 30_000;
const QUICK_RETRIES = { initialIntervalSeconds: 1, backoffCoefficient: 1, maximumAttempts: 3 };

interface Manifest {
  records: number;
  bytes: number;
  source_records: number;
  file_format: string;
  compression: string | null;
  files: Array<{ key: string; records: number; bytes: number; sha256: string }>;
}

describe('an Azure Blob Storage export against Azurite', () => {
  // Small batches and 5 MiB blocks: the uncompressed file is made of several committed blocks.
  const stack = useTestStack({ env: { SOURCE_BATCH_SIZE: '2000', S3_PART_SIZE_MB: '5' } });
  let azurite: Azurite;
  let teamId: number;
  let sourceUuids: string[];

  beforeAll(async () => {
    azurite = await startAzurite();
    ({ teamId } = await createTeam(stack.db.pool));
    await insertNoisyEvents(stack.db.pool, teamId, EVENTS, '2024-09-01 10:00:00+00');
    const { rows } = await stack.db.pool.query<{ uuid: string }>(
      'SELECT uuid::text FROM events WHERE team_id = $1 ORDER BY inserted_at, uuid',
      [teamId],
    );
    sourceUuids = rows.map((row) => row.uuid);
  }, 120_000);

  afterAll(async () => {
    await azurite?.stop();
  });

  async function createExport(container: string, config: Record<string, unknown> = {}) {
    return createBatchExport(stack.services, teamId, {
      name: `azure ${randomUUID()}`,
      model: 'events',
      destination: testAzureDestination(azurite, container, config),
      interval: 'hour',
    });
  }

  /**
   * Checks an interval's manifest against the container as the Python SDK lists it: the manifest names every data
   * blob, each with the size and SHA-256 found, nothing uncommitted is left; and against the run's receipt. Returns
   * the uuids of all rows, read from the blobs with the independent readers.
   */
  async function checkInterval(
    container: string,
    runReceipt: unknown,
    format: { file_format: 'JSONLines' | 'Parquet'; compression: string | null },
    prefix = '',
  ) {
    const listing = await listContainer(azurite, container);
    expect(listing.uncommitted).toEqual([]);
    const manifestName = `${prefix}${BASE}_manifest.json`;
    const manifest = JSON.parse(await downloadBlobText(azurite, container, manifestName)) as Manifest;
    const dataBlobs = listing.blobs.filter((blob) => blob.name !== manifestName);
    expect(manifest.files.map(({ key, bytes, sha256 }) => ({ name: key, size: bytes, sha256 }))).toEqual(dataBlobs);
    expect(manifest).toMatchObject({ records: EVENTS, source_records: EVENTS, ...format });
    expect(runReceipt).toMatchObject({
      sourceRecords: EVENTS,
      recordsWritten: EVENTS,
      bytes: manifest.bytes,
      manifestKey: manifestName,
      files: manifest.files,
    });
    const uuids: string[] = [];
    for (const file of manifest.files) {
      const columns = ['uuid'];
      const { rows } = await readBlob(azurite, container, file.key, { ...format, columns });
      expect(rows).toHaveLength(file.records);
      uuids.push(...rows.map((row) => row.uuid as string));
    }
    return { manifest, uuids };
  }

  it('writes JSON lines in committed blocks, read back by the Python SDK: every row once, manifest = listing = receipt', async () => {
    const container = await createContainer(azurite);
    const batchExport = await createExport(container, { prefix: 'exports/{table}' });

    const { result, run } = await runInterval(stack, 'batch-export', intervalInput(batchExport.id, teamId, HOUR_END));

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
    const listing = await listContainer(azurite, container);
    expect(listing.blobs.map((blob) => blob.name)).toEqual([
      `exports/events/${BASE}.jsonl`,
      `exports/events/${BASE}_manifest.json`,
    ]);
    // More than one block: the file is larger than the 5 MiB part size.
    expect(listing.blobs[0]!.size).toBeGreaterThan(10 * 1024 * 1024);
    const format = { file_format: 'JSONLines', compression: null } as const;
    const { uuids } = await checkInterval(container, run.receipt, format, 'exports/events/');
    expect(uuids).toEqual(sourceUuids);
  }, 180_000);

  it('writes gzip JSON lines and zstd Parquet split by max_file_size_mb, read back with gzip and pyarrow', async () => {
    for (const format of [
      { file_format: 'JSONLines', compression: 'gzip' },
      { file_format: 'Parquet', compression: 'zstd' },
    ] as const) {
      const container = await createContainer(azurite);
      const batchExport = await createExport(container, { ...format, max_file_size_mb: 1 });

      const { result, run } = await runInterval(stack, 'batch-export', intervalInput(batchExport.id, teamId, HOUR_END));

      expect(result, format.file_format).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
      const { manifest, uuids } = await checkInterval(container, run.receipt, format);
      expect(manifest.files.length, format.file_format).toBeGreaterThan(1);
      expect(uuids).toEqual(sourceUuids);
      expect(run.bytes_exported).toBe(manifest.bytes);
    }
  }, 300_000);

  it('exports with a connection string and with a container SAS token as with the account key', async () => {
    const container = await createContainer(azurite);
    const sas = generateBlobSASQueryParameters(
      {
        containerName: container,
        permissions: ContainerSASPermissions.parse('racwdl'),
        expiresOn: new Date(Date.now() + 3_600_000),
      },
      new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
    ).toString();
    const credentials = {
      'connection string': {
        account_name: null,
        account_key: undefined,
        endpoint_url: null,
        connection_string: azurite.connectionString,
      },
      'SAS token': { account_key: undefined, sas_token: sas },
    };
    for (const [name, config] of Object.entries(credentials)) {
      const batchExport = await createExport(container, {
        ...config,
        prefix: name.replace(' ', '-') + '/',
        compression: 'gzip',
      });

      const { result, run } = await runInterval(stack, 'batch-export', intervalInput(batchExport.id, teamId, HOUR_END));

      expect(result, name).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
      expect(run.receipt, name).toMatchObject({ recordsWritten: EVENTS, files: [{ records: EVENTS }] });
    }
    const listing = await listContainer(azurite, container);
    expect(listing.blobs.map((blob) => blob.name)).toEqual([
      `SAS-token/${BASE}.jsonl.gz`,
      `SAS-token/${BASE}_manifest.json`,
      `connection-string/${BASE}.jsonl.gz`,
      `connection-string/${BASE}_manifest.json`,
    ]);
  }, 180_000);

  it('fails at once, saying what to fix, on a wrong account key', async () => {
    const container = await createContainer(azurite);
    const batchExport = await createExport(container, { account_key: Buffer.from('not the key').toString('base64') });
    const started = Date.now();

    const { error, run } = await runInterval(
      stack,
      'batch-export',
      intervalInput(batchExport.id, teamId, HOUR_END, QUICK_RETRIES),
    );

    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(run.status).toBe('Failed');
    expect(run.latest_error).toMatch(/^Azure refused the request: check connection_string, account_key or sas_token/);
    expect(run.latest_error).toContain(`container "${container}"`);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('fails at once on a missing container, and retries an unreachable endpoint', async () => {
    const missing = await createExport('no-such-container');
    const { run: missingRun } = await runInterval(
      stack,
      'batch-export',
      intervalInput(missing.id, teamId, HOUR_END, QUICK_RETRIES),
    );
    expect(missingRun.status).toBe('Failed');
    expect(missingRun.latest_error).toMatch(
      /^The container does not exist: check container_name \(ContainerNotFound on container "no-such-container"/,
    );

    // Nothing listens on port 1: every request is refused, as by a service that is down.
    const down = await createExport('some-container', { endpoint_url: 'http://127.0.0.1:1/devstoreaccount1' });
    const { run: downRun } = await runInterval(
      stack,
      'batch-export',
      intervalInput(down.id, teamId, HOUR_END, QUICK_RETRIES),
    );
    expect(downRun.status).toBe('FailedRetryable');
    expect(downRun.latest_error).toMatch(/^Could not reach Azure Blob Storage for container "some-container"/);
  }, 120_000);
});
