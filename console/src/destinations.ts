/**
 * The destination fields the console's forms show. The API validates them (its 400 names the field, shown beside
 * it); secret fields are write-only: their inputs start empty and are only sent when typed.
 */
export interface DestinationField {
  name: string;
  label: string;
  /** `list`: names typed comma-separated, sent as an array (empty clears it). */
  kind: 'text' | 'number' | 'secret' | 'checkbox' | 'select' | 'list';
  options?: readonly string[];
  hint?: string;
  /** Write-only in the API though not hidden as typed (the Postgres user): on edit, empty keeps the stored one. */
  writeOnly?: boolean;
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
    {
      name: 'include_events',
      label: 'Only these events',
      kind: 'list',
      hint: 'Event names, comma-separated; empty for all',
    },
    { name: 'exclude_events', label: 'Except these events', kind: 'list', hint: 'Event names, comma-separated' },
    { name: 'file_format', label: 'File format', kind: 'select', options: ['JSONLines', 'Parquet'], format: true },
    { name: 'compression', label: 'Compression', kind: 'select', options: [], format: true },
  ],
  Postgres: [
    { name: 'host', label: 'Host', kind: 'text' },
    { name: 'port', label: 'Port', kind: 'number' },
    { name: 'database', label: 'Database', kind: 'text' },
    { name: 'schema', label: 'Schema', kind: 'text' },
    { name: 'table_name', label: 'Table', kind: 'text' },
    { name: 'user', label: 'User', kind: 'text', writeOnly: true },
    { name: 'password', label: 'Password', kind: 'secret' },
    { name: 'has_self_signed_cert', label: 'Self-signed certificate', kind: 'checkbox' },
    {
      name: 'include_events',
      label: 'Only these events',
      kind: 'list',
      hint: 'Event names, comma-separated; empty for all',
    },
    { name: 'exclude_events', label: 'Except these events', kind: 'list', hint: 'Event names, comma-separated' },
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

/** A list field's typed text as the API's array: null when nothing is typed. */
const listOf = (value: unknown): string[] | null => {
  const names = (Array.isArray(value) ? value.map(String) : String(value ?? '').split(','))
    .map((name) => name.trim())
    .filter(Boolean);
  return names.length ? names : null;
};

/** A stored config as the form's inputs hold it: lists as comma-separated text, an absent compression as none. */
export function formConfig(type: string, config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const field of DESTINATION_FIELDS[type] ?? []) {
    if (field.kind === 'list') out[field.name] = listOf(config[field.name])?.join(', ') ?? '';
    if (field.name === 'compression') out.compression = config.compression ?? '';
  }
  return out;
}

/**
 * The config as the API takes it: empty optional text left out, numbers as numbers, lists as arrays. With
 * `onlyChanged` (an edit), fields equal to the stored ones are left out, and a list emptied is sent as null (cleared).
 */
export function configForApi(
  type: string,
  config: Record<string, unknown>,
  options: { onlyChanged?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const stored = options.onlyChanged;
  for (const field of DESTINATION_FIELDS[type] ?? []) {
    let value = config[field.name];
    if (field.kind === 'list') {
      const list = listOf(value);
      const before = stored ? listOf(stored[field.name]) : null;
      if (JSON.stringify(list) !== JSON.stringify(before)) out[field.name] = list;
      continue;
    }
    if (value === undefined || value === '') {
      if (field.name === 'compression' && value === '') out.compression = null;
      continue;
    }
    if (field.kind === 'number') value = Number(value);
    if (stored && field.kind !== 'secret' && stored[field.name] === value) continue;
    out[field.name] = value;
  }
  return out;
}
