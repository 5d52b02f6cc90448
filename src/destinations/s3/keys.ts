import { isoSeconds } from '../../intervals';
import type { S3Compression, S3FileFormat } from './config';

const FORMAT_EXTENSIONS: Record<S3FileFormat, string> = { JSONLines: 'jsonl', Parquet: 'parquet' };

// Parquet compresses inside the file, so its key carries no codec suffix.
const CODEC_SUFFIXES: Record<S3Compression, string> = {
  gzip: 'gz',
  brotli: 'br',
  zstd: 'zst',
  snappy: 'snappy',
  lz4: 'lz4',
};

const TEMPLATE_VARIABLE = /\{(\w+)\}/g;

export interface KeyInput {
  prefix: string;
  table: string;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  fileFormat: S3FileFormat;
  compression: S3Compression | null;
  /** Set when an interval is split into several files: `-{n}` is appended to the file name. */
  fileNumber?: number;
}

/** Expands the template variables of a prefix; an unknown variable is an error, not a literal. */
export function renderPrefix(prefix: string, input: Pick<KeyInput, 'table' | 'dataIntervalStart' | 'dataIntervalEnd'>) {
  const start = input.dataIntervalStart;
  const pad = (value: number) => String(value).padStart(2, '0');
  const variables: Record<string, string> = {
    year: String(start.getUTCFullYear()),
    month: pad(start.getUTCMonth() + 1),
    day: pad(start.getUTCDate()),
    hour: pad(start.getUTCHours()),
    minute: pad(start.getUTCMinutes()),
    second: pad(start.getUTCSeconds()),
    table: input.table,
    data_interval_start: isoSeconds(input.dataIntervalStart),
    data_interval_end: isoSeconds(input.dataIntervalEnd),
  };
  return prefix.replace(TEMPLATE_VARIABLE, (_, name: string) => {
    const value = variables[name];
    if (value === undefined) throw new RangeError(`Unknown variable {${name}} in prefix "${prefix}"`);
    return value;
  });
}

export const PREFIX_VARIABLES = [
  'year',
  'month',
  'day',
  'hour',
  'minute',
  'second',
  'table',
  'data_interval_start',
  'data_interval_end',
] as const;

/** The object key of one file of an interval. Deterministic: a retry writes the same keys. */
export function objectKey(input: KeyInput): string {
  const base = `${isoSeconds(input.dataIntervalStart)}-${isoSeconds(input.dataIntervalEnd)}`;
  const number = input.fileNumber === undefined ? '' : `-${input.fileNumber}`;
  const suffix = input.fileFormat === 'JSONLines' && input.compression ? `.${CODEC_SUFFIXES[input.compression]}` : '';
  return joinKey(renderPrefix(input.prefix, input), `${base}${number}.${FORMAT_EXTENSIONS[input.fileFormat]}${suffix}`);
}

/** The start of every key an interval writes (files and manifest): where its unfinished uploads are found. */
export function intervalKeyPrefix(input: Omit<KeyInput, 'fileFormat' | 'compression' | 'fileNumber'>): string {
  return joinKey(
    renderPrefix(input.prefix, input),
    `${isoSeconds(input.dataIntervalStart)}-${isoSeconds(input.dataIntervalEnd)}`,
  );
}

/** The manifest key of an interval, written last so a consumer knows the interval is complete. */
export function manifestKey(input: Omit<KeyInput, 'fileFormat' | 'compression' | 'fileNumber'>): string {
  const base = `${isoSeconds(input.dataIntervalStart)}-${isoSeconds(input.dataIntervalEnd)}`;
  return joinKey(renderPrefix(input.prefix, input), `${base}_manifest.json`);
}

function joinKey(prefix: string, name: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/${name}` : name;
}
