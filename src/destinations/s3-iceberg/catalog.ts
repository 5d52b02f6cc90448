import type { Client } from 'pg';
import type { DestinationAccess } from '../../config';
import type { PostgresDestinationConfig } from '../postgres/config';
import { connectToDestination } from '../postgres/connect';
import { classifyPostgresError, errorContext } from '../postgres/errors';
import { catalogConnection, type S3IcebergDestinationConfig } from './config';
import type { TableMetadata } from './metadata';

/**
 * Where engines look the table up: the location of its current metadata file. A commit swaps that location only if
 * it is still the one the commit was built on, so of two writers racing, one wins and the other builds again on the
 * winner's metadata (spec "Commit Conflict Resolution and Retry").
 */
export interface Catalog {
  /** The current metadata file, null when the catalog does not have the table. */
  currentMetadataLocation(): Promise<string | null>;
  /**
   * Points the table at `next` (whose content is `metadata`) if it still points at `expected` (null: creates it);
   * false when another commit won.
   */
  swapMetadataLocation(expected: string | null, next: string, metadata: TableMetadata): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The tables of a SQL catalog, as pyiceberg's SqlCatalog and Iceberg's JDBC catalog (schema version 1) define them:
 * created when missing, so a customer can point the export at an empty database.
 */
const CATALOG_TABLES = `
  CREATE TABLE IF NOT EXISTS iceberg_tables (
    catalog_name VARCHAR(255) NOT NULL,
    table_namespace VARCHAR(255) NOT NULL,
    table_name VARCHAR(255) NOT NULL,
    metadata_location VARCHAR(1000),
    previous_metadata_location VARCHAR(1000),
    iceberg_type VARCHAR(5),
    PRIMARY KEY (catalog_name, table_namespace, table_name)
  );
  CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (
    catalog_name VARCHAR(255) NOT NULL,
    namespace VARCHAR(255) NOT NULL,
    property_key VARCHAR(255) NOT NULL,
    property_value VARCHAR(1000),
    PRIMARY KEY (catalog_name, namespace, property_key)
  )`;

/** A SQL catalog in the customer's Postgres database, reached through the network policy like a Postgres destination. */
export async function openSqlCatalog(config: S3IcebergDestinationConfig, access: DestinationAccess): Promise<Catalog> {
  const connection = catalogConnection(config) as PostgresDestinationConfig;
  const classify = (error: unknown) => classifyPostgresError(error, errorContext(connection));
  let client: Client;
  try {
    client = await connectToDestination(connection, access);
  } catch (error) {
    throw classify(error);
  }
  const key = [config.catalog_name, config.namespace, config.table_name];
  const query = async (text: string, values: unknown[] = []) => {
    try {
      return await client.query(text, values);
    } catch (error) {
      throw classify(error);
    }
  };
  try {
    await query(CATALOG_TABLES);
    // The namespace exists for engines once it has a property (pyiceberg's create_namespace writes this one).
    await query(
      `INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value)
       VALUES ($1, $2, 'exists', 'true') ON CONFLICT DO NOTHING`,
      [config.catalog_name, config.namespace],
    );
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return {
    async currentMetadataLocation() {
      const { rows } = await query(
        `SELECT metadata_location FROM iceberg_tables
         WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3`,
        key,
      );
      return (rows[0]?.metadata_location as string | null | undefined) ?? null;
    },
    async swapMetadataLocation(expected, next) {
      const result =
        expected === null
          ? await query(
              `INSERT INTO iceberg_tables
                 (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type)
               VALUES ($1, $2, $3, $4, NULL, 'TABLE') ON CONFLICT DO NOTHING`,
              [...key, next],
            )
          : await query(
              `UPDATE iceberg_tables SET metadata_location = $4, previous_metadata_location = $5
               WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3 AND metadata_location = $5`,
              [...key, next, expected],
            );
      return result.rowCount === 1;
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}
