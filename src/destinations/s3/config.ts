import { z } from 'zod';
import type { EncoderOptions } from '../../formats';
import type { ModelField } from '../../models/types';

export const S3FileFormat = z.enum(['JSONLines', 'Parquet']);
export type S3FileFormat = z.infer<typeof S3FileFormat>;

export const S3Compression = z.enum(['gzip', 'brotli', 'zstd', 'snappy', 'lz4']);
export type S3Compression = z.infer<typeof S3Compression>;

/** Which compressions each file format takes; null (no compression) is always allowed. */
export const COMPRESSIONS_BY_FORMAT = {
  JSONLines: ['gzip', 'brotli', 'zstd'],
  Parquet: ['zstd', 'snappy', 'gzip', 'brotli', 'lz4'],
} as const satisfies Record<S3FileFormat, readonly S3Compression[]>;

/** Config fields that are write-only: encrypted at rest, never returned or logged. */
export const S3_SECRET_FIELDS = ['aws_access_key_id', 'aws_secret_access_key'] as const;

/**
 * Where the secrets are sent: changing one of these requires sending the secrets again. Virtual-style addressing
 * sends requests to `<bucket>.<endpoint host>`, another host.
 */
export const S3_ENDPOINT_FIELDS = ['endpoint_url', 'bucket_name', 'region', 'use_virtual_style_addressing'] as const;

/** Refuses a compression the file format does not take (every object store's config has both fields). */
export function refineCompression(
  config: { file_format: S3FileFormat; compression: S3Compression | null },
  ctx: z.RefinementCtx,
): void {
  const supported: readonly S3Compression[] = COMPRESSIONS_BY_FORMAT[config.file_format];
  if (config.compression && !supported.includes(config.compression)) {
    ctx.addIssue({
      code: 'custom',
      path: ['compression'],
      message: `Compression "${config.compression}" is not supported for ${config.file_format}: use ${
        supported.length ? `${supported.join(', ')} or ` : ''
      }null`,
    });
  }
}

export const S3DestinationConfig = z
  .strictObject({
    bucket_name: z.string().min(3).max(63),
    region: z.string().min(1).default('us-east-1'),
    prefix: z.string().max(1024).default(''),
    aws_access_key_id: z.string().min(1).optional(),
    aws_secret_access_key: z.string().min(1).optional(),
    /** For S3-compatible stores (MinIO, R2, ...). */
    endpoint_url: z.url({ protocol: /^https?$/ }).nullish(),
    use_virtual_style_addressing: z.boolean().default(false),
    /**
     * When the SDK sends CRC checksum headers and checks them on reads: WHEN_REQUIRED by default with endpoint_url
     * (several S3-compatible stores reject or mangle the newer checksums), WHEN_SUPPORTED (the SDK's default) for AWS.
     */
    checksum_calculation: z.enum(['WHEN_SUPPORTED', 'WHEN_REQUIRED']).nullish(),
    compression: S3Compression.nullish().transform((value) => value ?? null),
    file_format: S3FileFormat.default('JSONLines'),
    max_file_size_mb: z.number().int().positive().max(5_000_000).nullish(),
    encryption: z.enum(['AES256', 'aws:kms']).nullish(),
    kms_key_id: z.string().min(1).nullish(),
    include_events: z.array(z.string().min(1)).nullish(),
    exclude_events: z.array(z.string().min(1)).nullish(),
  })
  .superRefine((config, ctx) => {
    refineCompression(config, ctx);
    if (config.region === 'auto' && !config.endpoint_url) {
      ctx.addIssue({
        code: 'custom',
        path: ['region'],
        message: 'region "auto" is for S3-compatible stores (R2, GCS): set endpoint_url, or name the AWS region',
      });
    }
    if (config.kms_key_id && config.encryption !== 'aws:kms') {
      ctx.addIssue({ code: 'custom', path: ['kms_key_id'], message: 'kms_key_id requires encryption "aws:kms"' });
    }
    if ((config.aws_access_key_id === undefined) !== (config.aws_secret_access_key === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [config.aws_access_key_id === undefined ? 'aws_access_key_id' : 'aws_secret_access_key'],
        message: 'aws_access_key_id and aws_secret_access_key go together',
      });
    }
  });
export type S3DestinationConfig = z.infer<typeof S3DestinationConfig>;

/**
 * How files of this destination are encoded, from rows read `source.batchSize` at a time. The config schema has checked
 * that format and compression match.
 */
export function encoderOptions(
  config: Pick<S3DestinationConfig, 'file_format' | 'compression' | 'max_file_size_mb'>,
  fields: readonly ModelField[],
  settings: { source: { batchSize: number }; formats: { parquetRowGroupRows: number } },
): EncoderOptions {
  if (config.file_format === 'Parquet') {
    return {
      format: 'Parquet',
      compression: config.compression as (typeof COMPRESSIONS_BY_FORMAT)['Parquet'][number],
      fields,
      // A file rolls over once its bytes pass max_file_size_mb, and Parquet bytes come a row group at a time: a
      // group per read batch keeps a file within a batch or two of the limit.
      rowGroupRows: config.max_file_size_mb ? settings.source.batchSize : settings.formats.parquetRowGroupRows,
      // Rows are read with `readerDerives` (writeIntervalToStore).
      readerDerives: true,
    };
  }
  return {
    format: 'JSONLines',
    compression: config.compression as (typeof COMPRESSIONS_BY_FORMAT)['JSONLines'][number],
    fields,
  };
}
