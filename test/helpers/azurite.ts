import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { AZURITE_ACCOUNT, AZURITE_KEY, type AzuriteServer } from '../../src/dev/azurite';

const execFileAsync = promisify(execFile);

export { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite } from '../../src/dev/azurite';
export type Azurite = AzuriteServer;

/** An AzureBlob destination writing to `container` of the test's Azurite, with `extra` config fields. */
export function testAzureDestination(azurite: Azurite, container: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'AzureBlob' as const,
    config: {
      account_name: AZURITE_ACCOUNT,
      account_key: AZURITE_KEY,
      endpoint_url: azurite.endpoint,
      container_name: container,
      ...extra,
    },
  };
}

/** A container client of the test's own (not the destination's), to set up and look. */
export function testContainerClient(azurite: Azurite, container: string): ContainerClient {
  return new ContainerClient(
    `${azurite.endpoint}/${container}`,
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
  );
}

export async function createContainer(azurite: Azurite): Promise<string> {
  const name = `test-${randomBytes(6).toString('hex')}`;
  await testContainerClient(azurite, name).create();
  return name;
}

export interface BlobListing {
  /** Committed blobs, by name, with their sizes and SHA-256s, read with the Python Azure SDK. */
  blobs: Array<{ name: string; size: number; sha256: string }>;
  /** Blobs that exist only as uncommitted blocks. */
  uncommitted: string[];
}

/** Lists a container, and reads each blob's bytes, with the Python Azure SDK (read_azure.py): not the writer's SDK. */
export async function listContainer(azurite: Azurite, container: string): Promise<BlobListing> {
  const script = path.join(__dirname, 'read_azure.py');
  const { stdout } = await execFileAsync('python3', [script, 'list', container], {
    env: { ...process.env, AZURE_CONNECTION_STRING: azurite.connectionString },
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as BlobListing;
}

/**
 * Downloads a blob with the Python Azure SDK and reads it with read_export.py's independent readers (gzip, brotli,
 * zstandard for JSON lines; pyarrow for Parquet).
 */
export async function readBlob(
  azurite: Azurite,
  container: string,
  name: string,
  format: { file_format: 'JSONLines' | 'Parquet'; compression: string | null; columns?: string[] },
): Promise<{ rows: Record<string, unknown>[]; codecs?: string[] }> {
  const script = path.join(__dirname, 'read_azure.py');
  const args = [script, 'read', container, name, format.file_format, format.compression ?? 'none'];
  if (format.columns) args.push(format.columns.join(','));
  const { stdout } = await execFileAsync('python3', args, {
    env: { ...process.env, AZURE_CONNECTION_STRING: azurite.connectionString },
    maxBuffer: 1024 * 1024 * 1024,
  });
  return JSON.parse(stdout) as { rows: Record<string, unknown>[]; codecs?: string[] };
}

/** A blob's bytes, with the Python SDK. */
export async function downloadBlobText(azurite: Azurite, container: string, name: string): Promise<string> {
  const script = path.join(__dirname, 'read_azure.py');
  const { stdout } = await execFileAsync('python3', [script, 'text', container, name], {
    env: { ...process.env, AZURE_CONNECTION_STRING: azurite.connectionString },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}
