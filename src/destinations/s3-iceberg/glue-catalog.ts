import http from 'node:http';
import https from 'node:https';
import {
  AlreadyExistsException,
  CreateDatabaseCommand,
  CreateTableCommand,
  EntityNotFoundException,
  GetTableCommand,
  GlueClient,
  UpdateTableCommand,
  type TableInput,
} from '@aws-sdk/client-glue';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { DestinationAccess } from '../../config';
import { BatchExportError } from '../../errors';
import { checkLiteralHost, policyLookup, type DialTarget } from '../../net/policy';
import { checkS3Access } from '../s3/client';
import type { Catalog } from './catalog';
import { bucketConfig, type S3IcebergDestinationConfig } from './config';
import type { TableMetadata } from './metadata';
import type { IcebergPrimitive } from './schema';

/** The Hive types Glue shows (and Athena's DDL uses) for the table's columns; engines read the schema from metadata. */
const HIVE_TYPES: Record<IcebergPrimitive, string> = {
  string: 'string',
  long: 'bigint',
  double: 'double',
  boolean: 'boolean',
  timestamptz: 'timestamp',
};

/** A Glue client whose every connection goes through the network policy, like the bucket's (see createS3Client). */
function createGlueClient(config: S3IcebergDestinationConfig, access: DestinationAccess): GlueClient {
  checkS3Access(bucketConfig(config), access);
  const endpoint = config.glue_endpoint_url ?? undefined;
  const target: DialTarget = endpoint ? { field: 'glue_endpoint_url', value: endpoint } : { field: 'region' };
  if (endpoint) checkLiteralHost(new URL(endpoint).hostname, access, target);
  const lookup = policyLookup(access, target);
  const { aws_access_key_id: accessKeyId, aws_secret_access_key: secretAccessKey } = config;
  return new GlueClient({
    region: config.region,
    endpoint,
    // Without keys, the worker's own AWS credentials: checkS3Access refused that unless the operator allows it.
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent({ keepAlive: true, lookup }),
      httpsAgent: new https.Agent({ keepAlive: true, lookup }),
    }),
    maxAttempts: 3,
  });
}

/**
 * The table in the AWS Glue Data Catalog, with the parameters Athena, Trino, Spark and pyiceberg read
 * (`table_type=ICEBERG`, `metadata_location`, `previous_metadata_location`). A commit re-reads the table and updates
 * it only if it still points at the expected metadata, passing the version it read as `VersionId`, which Glue
 * refuses (ConcurrentModificationException) when another update came in between. (moto ignores VersionId: on it
 * only the re-read guards the swap.)
 */
export async function openGlueCatalog(config: S3IcebergDestinationConfig, access: DestinationAccess): Promise<Catalog> {
  const glue = createGlueClient(config, access);
  const database = config.namespace;
  const name = config.table_name;
  const read = async () => {
    try {
      const { Table } = await glue.send(new GetTableCommand({ DatabaseName: database, Name: name }));
      return { location: Table?.Parameters?.metadata_location ?? null, versionId: Table?.VersionId };
    } catch (error) {
      if (error instanceof EntityNotFoundException) return null;
      throw error;
    }
  };
  try {
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
  } catch (error) {
    if (!(error instanceof AlreadyExistsException)) {
      glue.destroy();
      throw error;
    }
  }
  const tableInput = (metadata: TableMetadata, next: string, previous: string | null): TableInput => {
    const schema = metadata.schemas.find((candidate) => candidate['schema-id'] === metadata['current-schema-id'])!;
    return {
      Name: name,
      TableType: 'EXTERNAL_TABLE',
      Parameters: {
        table_type: 'ICEBERG',
        metadata_location: next,
        ...(previous ? { previous_metadata_location: previous } : {}),
      },
      StorageDescriptor: {
        Location: metadata.location,
        Columns: schema.fields.map((field) => ({ Name: field.name, Type: HIVE_TYPES[field.type] })),
      },
    };
  };
  return {
    async currentMetadataLocation() {
      const table = await read();
      if (table && !table.location) {
        throw new BatchExportError(
          `Glue table ${database}.${name} exists and is not an Iceberg table (no metadata_location): check table_name`,
          { kind: 'configuration' },
        );
      }
      return table?.location ?? null;
    },
    async swapMetadataLocation(expected, next, metadata) {
      if (expected === null) {
        try {
          await glue.send(
            new CreateTableCommand({ DatabaseName: database, TableInput: tableInput(metadata, next, null) }),
          );
          return true;
        } catch (error) {
          if (error instanceof AlreadyExistsException) return false;
          throw error;
        }
      }
      const table = await read();
      if (table?.location !== expected) return false;
      try {
        await glue.send(
          new UpdateTableCommand({
            DatabaseName: database,
            TableInput: tableInput(metadata, next, expected),
            VersionId: table.versionId,
          }),
        );
        return true;
      } catch (error) {
        if ((error as { name?: string }).name === 'ConcurrentModificationException') return false;
        throw error;
      }
    },
    async close() {
      glue.destroy();
    },
  };
}
