/**
 * The destination fields the console's forms show. The API validates them (its 400 names the field, shown beside
 * it); secret fields are write-only: their inputs start empty and are only sent when typed.
 */
export interface DestinationField {
  name: string;
  label: string;
  kind: 'text' | 'number' | 'secret' | 'checkbox' | 'select';
  options?: readonly string[];
  hint?: string;
  /** Shown in the Format step of the wizard instead of the Destination step. */
  format?: boolean;
}

export const COMPRESSIONS_BY_FORMAT: Record<string, readonly string[]> = {
  JSONLines: ['gzip', 'brotli', 'zstd'],
  Parquet: ['zstd', 'snappy', 'gzip', 'brotli', 'lz4'],
};

export const DESTINATION_FIELDS: Record<string, readonly DestinationField[]> = {
  S3: [
    { name: 'bucket_name', label: 'Bucket', kind: 'text' },
    { name: 'region', label: 'Region', kind: 'text', hint: 'e.g. eu-west-1' },
    { name: 'prefix', label: 'Key prefix', kind: 'text', hint: 'May use {year}, {month}, {day}, {hour}' },
    { name: 'endpoint_url', label: 'Endpoint URL', kind: 'text', hint: 'Only for S3-compatible stores (MinIO, R2)' },
    { name: 'aws_access_key_id', label: 'Access key id', kind: 'secret' },
    { name: 'aws_secret_access_key', label: 'Secret access key', kind: 'secret' },
    { name: 'file_format', label: 'File format', kind: 'select', options: ['JSONLines', 'Parquet'], format: true },
    { name: 'compression', label: 'Compression', kind: 'select', options: [], format: true },
  ],
  Postgres: [
    { name: 'host', label: 'Host', kind: 'text' },
    { name: 'port', label: 'Port', kind: 'number' },
    { name: 'database', label: 'Database', kind: 'text' },
    { name: 'schema', label: 'Schema', kind: 'text' },
    { name: 'table_name', label: 'Table', kind: 'text' },
    { name: 'user', label: 'User', kind: 'text' },
    { name: 'password', label: 'Password', kind: 'secret' },
    { name: 'has_self_signed_cert', label: 'Self-signed certificate', kind: 'checkbox' },
  ],
};

export const DEFAULT_CONFIG: Record<string, Record<string, unknown>> = {
  S3: { region: 'us-east-1', prefix: '', file_format: 'JSONLines', compression: 'gzip' },
  Postgres: { port: 5432, schema: 'public', has_self_signed_cert: false },
};

/** The options of a select field given the config so far (compression depends on the format). */
export function optionsOf(field: DestinationField, config: Record<string, unknown>): readonly string[] {
  if (field.name === 'compression') return ['', ...(COMPRESSIONS_BY_FORMAT[String(config.file_format)] ?? [])];
  return field.options ?? [];
}

/** The config as the API takes it: empty optional text left out, numbers as numbers. */
export function configForApi(
  type: string,
  config: Record<string, unknown>,
  options: { onlyChanged?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of DESTINATION_FIELDS[type] ?? []) {
    let value = config[field.name];
    if (value === undefined || value === '') {
      if (field.name === 'compression' && value === '') out.compression = null;
      continue;
    }
    if (field.kind === 'number') value = Number(value);
    if (options.onlyChanged && field.kind !== 'secret' && options.onlyChanged[field.name] === value) continue;
    out[field.name] = value;
  }
  return out;
}
