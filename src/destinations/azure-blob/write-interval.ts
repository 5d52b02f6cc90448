import type { InsertActivityResult } from '../../temporal/contracts';
import type { Destination, InsertAttempt } from '../contract';
import { abortUnfinishedStoreUploads, writeIntervalToStore, type StoreOpener } from '../object-storage/write-interval';
import { createAzureContainer } from './client';
import type { AzureBlobDestinationConfig } from './config';
import { azureStore } from './store';

/** A container client for the attempt, as an object store. */
export const AZURE_STORE: StoreOpener<AzureBlobDestinationConfig> = {
  name: 'Azure Blob Storage',
  async open(config, access) {
    const container = await createAzureContainer(config, access);
    return { store: azureStore(container.client, container.refusal), close: container.close };
  },
};

/**
 * Streams the interval's rows to blobs of the container and returns what it wrote, resuming from what earlier attempts
 * recorded: the same files, keys, manifest and resume as S3 (writeIntervalToStore), with staged blocks for parts.
 */
export async function writeIntervalToAzure(
  attempt: InsertAttempt<AzureBlobDestinationConfig>,
): Promise<InsertActivityResult> {
  return writeIntervalToStore(attempt, AZURE_STORE);
}

/** Drops the blocks an attempt killed mid-file staged, after the run failed for good or was cancelled. */
export const dropUncommittedBlocks: NonNullable<Destination<AzureBlobDestinationConfig>['cleanUpAfterFailure']> = (
  attempt,
) => abortUnfinishedStoreUploads(attempt, AZURE_STORE);
