import { createHash, randomBytes } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { BatchExportError } from '../../errors';
import type { ObjectStore, UnfinishedUpload } from '../object-storage/store';
import { azureErrorCode, classifyAzureError } from './errors';

/**
 * An upload is a blob's uncommitted blocks, staged one per part and committed with a block list. Azure has no upload
 * id, so ours is in each block id, with the part number and the part's MD5: listing a blob's uncommitted blocks then
 * tells which upload and part each is and what it holds (an S3 part's ETag tells the same). A blob's block ids must
 * all be as long, and at most 64 bytes before base64: 16 + 1 + 5 + 1 + 32.
 */
function blockId(uploadId: string, number: number, md5: string): string {
  return Buffer.from(`${uploadId}-${String(number).padStart(5, '0')}-${md5}`).toString('base64');
}

function parseBlockId(id: string): { uploadId: string; number: number; md5: string } | null {
  const match = /^([0-9a-f]{16})-(\d{5})-([0-9a-f]{32})$/.exec(Buffer.from(id, 'base64').toString('latin1'));
  return match ? { uploadId: match[1]!, number: Number(match[2]), md5: match[3]! } : null;
}

/** The etag of a staged block, as S3 gives a part's: its quoted MD5. */
const etagOf = (md5: string) => `"${md5}"`;
const md5Of = (etag: string) => etag.replace(/^"|"$/g, '');

function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number }).statusCode === 404 && azureErrorCode(error) !== 'ContainerNotFound';
}

/** An Azure container as the object-storage export sees it. `refusal` is the network policy's, when it refused. */
export function azureStore(
  container: ContainerClient,
  refusal: () => BatchExportError | null = () => null,
): ObjectStore {
  const name = container.containerName;
  const blob = (key: string) => container.getBlockBlobClient(key);
  const uncommitted = async (key: string) => {
    try {
      return (await blob(key).getBlockList('uncommitted')).uncommittedBlocks ?? [];
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  };
  return {
    where: `container "${name}"`,
    deleteGrant: 'list and delete permissions on the container',
    classify: (error, key) => refusal() ?? classifyAzureError(error, { container: name, key }),
    async put(key, body, contentType) {
      await blob(key).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: contentType } });
    },
    async startUpload() {
      return randomBytes(8).toString('hex');
    },
    async uploadPart({ key, uploadId }, number, body, md5) {
      const digest = md5 ?? createHash('md5').update(body).digest('hex');
      await blob(key).stageBlock(blockId(uploadId, number, digest), body, body.length, {
        transactionalContentMD5: Buffer.from(digest, 'hex'),
      });
      return etagOf(digest);
    },
    async completeUpload({ key, uploadId }, parts, contentType) {
      const ids = parts.map((part) => blockId(uploadId, part.number, md5Of(part.etag)));
      await blob(key).commitBlockList(ids, { blobHTTPHeaders: { blobContentType: contentType } });
    },
    /**
     * Azure drops a blob's uncommitted blocks when the blob is next committed, or after a week: there is no call to
     * drop them. A blob that holds nothing but this upload's blocks is committed empty and deleted, which drops them
     * now; blocks of a blob that exists, or of another upload too, are left to Azure.
     */
    async abortUpload({ key, uploadId }) {
      try {
        const blocks = await uncommitted(key);
        if (blocks.some((block) => parseBlockId(block.name)?.uploadId !== uploadId)) return;
        if (await blob(key).exists()) return;
        await blob(key).commitBlockList([]);
        await blob(key).deleteIfExists();
      } catch {
        // Best effort, as S3's abort.
      }
    },
    async storedParts({ key, uploadId }) {
      const stored = new Map<number, { etag: string; size: number }>();
      for (const block of await uncommitted(key)) {
        const id = parseBlockId(block.name);
        if (id?.uploadId === uploadId) stored.set(id.number, { etag: etagOf(id.md5), size: block.size });
      }
      return stored;
    },
    async *unfinishedUploads(prefix) {
      for await (const item of container.listBlobsFlat({ prefix, includeUncommitedBlobs: true })) {
        const uploads = new Set<string>();
        for (const block of await uncommitted(item.name)) {
          const id = parseBlockId(block.name);
          if (id) uploads.add(id.uploadId);
        }
        for (const uploadId of uploads) yield { key: item.name, uploadId } satisfies UnfinishedUpload;
      }
    },
    async *listKeys(prefix) {
      for await (const item of container.listBlobsFlat({ prefix })) yield item.name;
    },
    async deleteObject(key) {
      await blob(key).deleteIfExists();
    },
    async readObject(key) {
      const response = await blob(key).download();
      return response.readableStreamBody as AsyncIterable<Uint8Array>;
    },
  };
}
