/** Top-level keys of JSON text found in its bytes, without parsing it: what `->` on json finds. */

import type { CopyBatch } from '../models/copy-stream';
import { readerColumns, type ModelField } from '../models/types';

/** JSON's structural bytes, shared with the JSON-lines writer. */
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
export const COLON = 0x3a;
export const SPACE = 0x20;

/**
 * The values of some top-level keys of a row's JSON fields, found once per row: one pass over each such field finds
 * all of its keys. `spans` holds, per wanted key, where its value lies in the batch's bytes (start, end; -1 when the
 * key is absent, the field NULL or not an object).
 */
export class RowKeys {
  readonly spans: Int32Array;
  private readonly keys: Uint8Array[];
  private readonly keyColumns: number[];
  /** Per key: whether it is the first of its column's keys (whose pass finds them all). */
  private readonly firstOfColumn: boolean[];

  /** `wanted`: per key, the column (of the batch's rows) holding the JSON, and the key. */
  constructor(wanted: readonly { column: number; key: string }[]) {
    this.keys = wanted.map(({ key }) => new Uint8Array(Buffer.from(key)));
    this.keyColumns = wanted.map(({ column }) => column);
    this.firstOfColumn = this.keyColumns.map((column, key) => this.keyColumns.indexOf(column) === key);
    this.spans = new Int32Array(wanted.length * 2);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Finds the values of the row whose fields start at `base` in `starts` and `lengths` (CopyBatch's). */
  find(bytes: Uint8Array, starts: Int32Array, lengths: Int32Array, base: number): void {
    this.spans.fill(-1);
    for (let key = 0; key < this.keys.length; key++) {
      if (!this.firstOfColumn[key]) continue;
      const index = base + this.keyColumns[key]!;
      const length = lengths[index]!;
      if (length < 0) continue;
      findTopLevelKeys(bytes, starts[index]!, starts[index]! + length, this.keys, this.keyColumns, key, this.spans);
    }
  }
}

/**
 * Finds, in the JSON text data[start, end) (valid JSON: Postgres's json type checked it), the value of each top-level
 * key of `keys` whose column is `keyColumns[first]`, as `->` on json finds it: the last of duplicated keys, keys
 * compared unescaped, nothing when the text is not an object. Writes each found value's span into `spans` at
 * 2 * key (start) and 2 * key + 1 (end). One pass, one loop: most of the text is the inside of strings.
 */
function findTopLevelKeys(
  data: Uint8Array,
  start: number,
  end: number,
  keys: readonly Uint8Array[],
  keyColumns: readonly number[],
  first: number,
  spans: Int32Array,
): void {
  let i = start;
  // Whitespace is all JSON has below 0x21 outside strings.
  while (i < end && data[i]! <= SPACE) i++;
  if (data[i] !== OPEN_BRACE) return;
  let depth = 1;
  let expectKey = true;
  /** The key whose value is being read, or -1; where that value started, or -1 before its first byte. */
  let key = -1;
  let valueStart = -1;
  for (i++; i < end; i++) {
    const byte = data[i]!;
    if (byte === QUOTE) {
      const stringStart = i;
      for (i++; i < end; i++) {
        const inner = data[i]!;
        if (inner === QUOTE) break;
        if (inner === BACKSLASH) i++;
      }
      if (depth === 1) {
        if (expectKey) {
          expectKey = false;
          key = matchingKey(data, stringStart + 1, i, keys, keyColumns, first);
        } else if (valueStart < 0) {
          valueStart = stringStart;
        }
      }
    } else if (byte <= SPACE || byte === COLON) {
      // Between tokens.
    } else if (byte === COMMA) {
      if (depth === 1) {
        endValue(data, key, valueStart, i, spans);
        key = -1;
        valueStart = -1;
        expectKey = true;
      }
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (depth === 1 && valueStart < 0) valueStart = i;
      depth++;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      if (--depth === 0) {
        endValue(data, key, valueStart, i, spans);
        return;
      }
    } else if (depth === 1 && valueStart < 0) {
      valueStart = i; // a number, true, false or null
    }
  }
}

/** Records the span of a wanted key's value, which ends before `delimiter` (its `,` or `}`), trailing space left out. */
function endValue(data: Uint8Array, key: number, valueStart: number, delimiter: number, spans: Int32Array): void {
  if (key < 0 || valueStart < 0) return;
  let end = delimiter;
  while (data[end - 1]! <= SPACE) end--;
  spans[2 * key] = valueStart;
  spans[2 * key + 1] = end;
}

/** The index of the key (of `first`'s column) the key text data[start, end) names, or -1. */
function matchingKey(
  data: Uint8Array,
  start: number,
  end: number,
  keys: readonly Uint8Array[],
  keyColumns: readonly number[],
  first: number,
): number {
  for (let key = first; key < keys.length; key++) {
    if (keyColumns[key] === keyColumns[first] && keyMatches(data, start, end, keys[key]!)) return key;
  }
  return -1;
}

/**
 * Whether the key text data[start, end) (without quotes) names `key`, escapes decoded as Postgres decodes them. An
 * escape is longer than the character it stands for: text as long as the key matches only byte for byte.
 */
function keyMatches(data: Uint8Array, start: number, end: number, key: Uint8Array): boolean {
  const length = end - start;
  if (length === key.length) {
    for (let i = 0; i < length; i++) if (data[start + i] !== key[i]) return false;
    return true;
  }
  if (length < key.length) return false;
  let escaped = false;
  for (let i = start; i < end && !escaped; i++) escaped = data[i] === BACKSLASH;
  // Rare: an escaped key (`"\u0024set"`) is decoded and compared whole.
  return escaped && JSON.parse(utf8(data.subarray(start - 1, end + 1))) === utf8(key);
}

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
}

/**
 * Where each of `fields` is in a batch read with `readerDerives`: per field, the column it was sent in (for a field
 * taken from another one's JSON, that field's column) and the index of its key in `keys`, or -1 for a field read
 * from its own column. `textRefused` says why the caller takes no field as `->>` text (it would need unescaping).
 */
export function readerFieldSources(
  fields: readonly ModelField[],
  textRefused: string,
): { columns: number[]; keyIndex: number[]; keys: RowKeys } {
  const sent = readerColumns(fields);
  const columns: number[] = [];
  const keyIndex: number[] = [];
  const wanted: { column: number; key: string }[] = [];
  for (const field of fields) {
    if (field.fromJson) {
      const column = sent.findIndex((candidate) => candidate.name === field.fromJson!.field);
      if (column < 0) throw new Error(`Field ${field.name} is taken from ${field.fromJson.field}, which is not read`);
      if (field.fromJson.text) throw new Error(`Field ${field.name} is taken as text, which ${textRefused}`);
      columns.push(column);
      keyIndex.push(wanted.length);
      wanted.push({ column, key: field.fromJson.key });
    } else {
      columns.push(sent.indexOf(field));
      keyIndex.push(-1);
    }
  }
  return { columns, keyIndex, keys: new RowKeys(wanted) };
}

/**
 * Puts the fields taken from another field's JSON (ModelField.fromJson) into a batch read with `readerDerives`, as
 * columns of their own: the result has one column per field, in the fields' order (cursor columns left out), and a
 * derived column's bytes are its value's text inside its JSON field's bytes, as `->` on json gives it (NULL where
 * the key is absent). Nothing is copied but where each field lies, into arrays kept from batch to batch: the result
 * is read before the next batch is expanded (writers that take whole columns, such as ArrowIpcWriter).
 */
export class DerivedColumns {
  /** Per field: its column in the batch (see readerFieldSources). */
  private readonly columns: number[];
  /** Per field: the index of its key in `keys`, or -1 for a field read from its own column. */
  private readonly keyIndex: number[];
  private readonly keys: RowKeys;
  private starts = new Int32Array(0);
  private lengths = new Int32Array(0);

  constructor(fields: readonly ModelField[]) {
    ({
      columns: this.columns,
      keyIndex: this.keyIndex,
      keys: this.keys,
    } = readerFieldSources(fields, 'columns do not hold'));
  }

  /** Whether any of the fields is taken from another one's JSON. */
  static needed(fields: readonly ModelField[]): boolean {
    return fields.some((field) => field.fromJson);
  }

  expand(batch: CopyBatch): CopyBatch {
    const { data, rows, width, starts, lengths } = batch;
    const columns = this.columns.length;
    if (this.starts.length < rows * columns) {
      this.starts = new Int32Array(rows * columns);
      this.lengths = new Int32Array(rows * columns);
    }
    const spans = this.keys.spans;
    for (let row = 0; row < rows; row++) {
      const base = row * width;
      this.keys.find(data, starts, lengths, base);
      for (let field = 0; field < columns; field++) {
        const at = row * columns + field;
        const key = this.keyIndex[field]!;
        if (key < 0) {
          this.starts[at] = starts[base + this.columns[field]!]!;
          this.lengths[at] = lengths[base + this.columns[field]!]!;
        } else {
          const start = spans[2 * key]!;
          this.starts[at] = start;
          this.lengths[at] = start < 0 ? -1 : spans[2 * key + 1]! - start;
        }
      }
    }
    return {
      ...batch,
      width: columns,
      starts: this.starts.subarray(0, rows * columns),
      lengths: this.lengths.subarray(0, rows * columns),
    };
  }
}
