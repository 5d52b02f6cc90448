import { z } from 'zod';
import type { S3DestinationConfig } from '../s3/config';

/** How finely the table is partitioned on its `inserted_at` column (Iceberg's time transforms), or not at all. */
export const PartitionGrain = z.enum(['hour', 'day', 'month', 'year', 'none']);
export type PartitionGrain = z.infer<typeof PartitionGrain>;

/** Write-only: the bucket's credentials and the catalog database's login. */
export const S3_ICEBERG_SECRET_FIELDS = [
  'aws_access_key_id',
  'aws_secret_access_key',
  'catalog_user',
  'catalog_password',
] as const;

/** Masked in recorded errors: a user named like the database would garble messages about it (as for Postgres). */
export const S3_ICEBERG_MASKED_FIELDS = ['aws_access_key_id', 'aws_secret_access_key', 'catalog_password'] as const;

/** Where the secrets are sent (the bucket's endpoint, the catalog's server): changing one requires them again. */
export const S3_ICEBERG_ENDPOINT_FIELDS = [
  'endpoint_url',
  'bucket_name',
  'region',
  'use_virtual_style_addressing',
  'catalog_type',
  'catalog_host',
  'catalog_port',
  'catalog_database',
  'catalog_user',
  'glue_endpoint_url',
] as const;

// Iceberg names: one level of namespace and a table name, kept to what every catalog (Glue included) accepts.
const IcebergName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[a-z_][a-z0-9_]*$/, 'must be lower-case letters, digits and underscores, not starting with a digit');

export const S3IcebergDestinationConfig = z
  .strictObject({
    bucket_name: z.string().min(3).max(63),
    region: z.string().min(1).default('us-east-1'),
    /** The table's location is `s3://<bucket>/<prefix>/<namespace>/<table_name>` (no prefix: from the bucket root). */
    prefix: z
      .string()
      .max(1024)
      .regex(/^[^{}]*$/, 'must not contain template variables: a table has one location')
      .default(''),
    aws_access_key_id: z.string().min(1).optional(),
    aws_secret_access_key: z.string().min(1).optional(),
    endpoint_url: z.url({ protocol: /^https?$/ }).nullish(),
    use_virtual_style_addressing: z.boolean().default(false),
    compression: z.enum(['zstd', 'snappy', 'gzip']).default('zstd'),
    namespace: IcebergName,
    table_name: IcebergName,
    partition_by: PartitionGrain.default('day'),
    /**
     * The catalog engines find the table in: a SQL catalog (Postgres) as pyiceberg and Iceberg's JDBC catalog use, or
     * AWS Glue (with the bucket's credentials and region; `namespace` is the Glue database).
     */
    catalog_type: z.enum(['sql', 'glue']).default('sql'),
    /** The SQL catalog's name (its rows' `catalog_name`): what engines call the catalog. */
    catalog_name: z.string().min(1).max(255).default('default'),
    catalog_host: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[^\s/]+$/, 'must be a host name or IP address, without scheme or path')
      .optional(),
    catalog_port: z.number().int().min(1).max(65535).default(5432),
    catalog_database: z.string().min(1).max(63).optional(),
    catalog_user: z.string().min(1).max(63).optional(),
    catalog_password: z.string().max(1024).default(''),
    catalog_has_self_signed_cert: z.boolean().default(false),
    /** Glue at another endpoint than AWS's for the region (a VPC endpoint, a local emulator). */
    glue_endpoint_url: z.url({ protocol: /^https?$/ }).nullish(),
    /** Metadata files kept besides the current one (Iceberg's write.metadata.previous-versions-max). */
    metadata_previous_versions_max: z.number().int().min(1).max(10_000).default(100),
    /**
     * Snapshots of main kept after each commit (older ones are expired, and the files only they referenced deleted);
     * absent: every interval's snapshot is kept.
     */
    max_snapshots: z.number().int().min(1).max(1_000_000).nullish(),
    /**
     * After each commit, data files under the table's data/ older than this many hours that no snapshot in the metadata
     * lists are deleted (files of attempts killed before their commit); absent: never. It must exceed the longest an
     * attempt takes to write and commit, as an in-flight attempt's files are in no snapshot yet (Iceberg's own
     * remove_orphan_files defaults to 3 days).
     */
    orphan_file_age_hours: z.number().positive().max(8760).nullish(),
    include_events: z.array(z.string().min(1)).nullish(),
    exclude_events: z.array(z.string().min(1)).nullish(),
  })
  .superRefine((config, ctx) => {
    for (const field of ['catalog_host', 'catalog_database', 'catalog_user'] as const) {
      if (config.catalog_type === 'sql' && config[field] === undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: 'is required with catalog_type "sql"' });
      }
    }
    if ((config.aws_access_key_id === undefined) !== (config.aws_secret_access_key === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [config.aws_access_key_id === undefined ? 'aws_access_key_id' : 'aws_secret_access_key'],
        message: 'aws_access_key_id and aws_secret_access_key go together',
      });
    }
  });
export type S3IcebergDestinationConfig = z.infer<typeof S3IcebergDestinationConfig>;

/** The bucket part of the config, as the S3 destination's client and errors take it. */
export function bucketConfig(config: S3IcebergDestinationConfig): S3DestinationConfig {
  return {
    bucket_name: config.bucket_name,
    region: config.region,
    prefix: config.prefix,
    aws_access_key_id: config.aws_access_key_id,
    aws_secret_access_key: config.aws_secret_access_key,
    endpoint_url: config.endpoint_url,
    use_virtual_style_addressing: config.use_virtual_style_addressing,
    compression: config.compression,
    file_format: 'Parquet',
  };
}

/** The SQL catalog part of the config (catalog_type "sql": validated present), as the Postgres destination's connection takes it. */
export function catalogConnection(config: S3IcebergDestinationConfig) {
  return {
    host: config.catalog_host!,
    port: config.catalog_port,
    database: config.catalog_database!,
    user: config.catalog_user!,
    password: config.catalog_password,
    schema: 'public',
    table_name: 'iceberg_tables',
    has_self_signed_cert: config.catalog_has_self_signed_cert,
  };
}

/** `s3://bucket/prefix/namespace/table`, without a trailing slash. */
export function tableLocation(config: S3IcebergDestinationConfig): string {
  const prefix = config.prefix.replace(/^\/+|\/+$/g, '');
  return `s3://${config.bucket_name}/${prefix ? `${prefix}/` : ''}${config.namespace}/${config.table_name}`;
}
