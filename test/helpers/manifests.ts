import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { getObject, listKeys } from './s3';

const execFileAsync = promisify(execFile);

export interface Manifest {
  version: number;
  model: string;
  data_interval_start: string;
  data_interval_end: string;
  file_format: 'JSONLines' | 'Parquet';
  compression: string | null;
  records: number;
  bytes: number;
  source_records: number | null;
  files: Array<{ key: string; records: number; bytes: number; sha256: string | null }>;
  schema: Array<{ name: string; type: string }>;
}

export async function readManifest(s3: S3Client, bucket: string, key: string): Promise<Manifest> {
  return JSON.parse((await getObject(s3, bucket, key)).toString('utf8')) as Manifest;
}

/**
 * Downloads a manifest and its files and has verify_manifest.py check them, as a consumer would without the API:
 * sizes and SHA-256s (hashlib), row counts (gzip + json, pyarrow), totals, the source's count and the schema.
 */
export async function verifyManifest(
  s3: S3Client,
  bucket: string,
  manifestKey: string,
): Promise<{ problems: string[]; unchecked: string[]; rows: number; columns: string[]; manifest: Manifest }> {
  const manifest = await readManifest(s3, bucket, manifestKey);
  const directory = await mkdtemp(path.join(os.tmpdir(), 'manifest-verify-'));
  try {
    await writeFile(path.join(directory, 'manifest.json'), JSON.stringify(manifest));
    for (const file of manifest.files) {
      await writeFile(path.join(directory, file.key.split('/').pop()!), await getObject(s3, bucket, file.key));
    }
    const script = path.join(__dirname, 'verify_manifest.py');
    const { stdout } = await execFileAsync('python3', [script, directory], { maxBuffer: 64 * 1024 * 1024 });
    return {
      ...(JSON.parse(stdout) as { problems: string[]; unchecked: string[]; rows: number; columns: string[] }),
      manifest,
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** The keys in the bucket that start with the interval's `{start}-{end}` (its files and manifest). */
export async function intervalKeys(s3: S3Client, bucket: string, start: string, end: string): Promise<string[]> {
  const base = `${start}-${end}`;
  return (await listKeys(s3, bucket)).filter((key) => key.split('/').pop()!.startsWith(base)).sort();
}
