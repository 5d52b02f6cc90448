import { RowKeys } from '../../formats/json-keys';
import type { CopyBatch } from '../../models/copy-stream';
import type { DestinationColumn } from './table';

const TAB = 9;
const NEWLINE = 10;
const RETURN = 13;
const QUOTE = 34;
const BACKSLASH = 92;
const ESCAPED: Record<number, number> = { [TAB]: 116, [NEWLINE]: 110, [RETURN]: 114, [BACKSLASH]: BACKSLASH };

/**
 * A column of the COPY: field `field` of the source row (read as text, e.g. copyColumnsQuery over string fields) as
 * it is, or, with `fromJson`, the value of a top-level key of that field's JSON, as `->` on json gives it, or as
 * `->>` with `text` (a JSON string unescaped, JSON null as NULL, anything else as its JSON text).
 */
export interface CopyColumn {
  field: number;
  fromJson?: { key: string; text: boolean };
}

/**
 * What to read from the source for the table's `columns` (the spec's `all`, in its order), and the COPY columns
 * made of it: a column taken from another one's JSON (fromJson) is found in that one's text, which is read even when
 * the table has no column for it.
 */
export function copyColumns(
  columns: readonly DestinationColumn[],
  all: readonly DestinationColumn[],
): { read: DestinationColumn[]; copy: CopyColumn[] } {
  const read = columns.filter((column) => !column.fromJson);
  const copy = columns.map((column): CopyColumn => {
    if (!column.fromJson) return { field: read.indexOf(column) };
    const { field: name, key, text } = column.fromJson;
    let field = read.findIndex((candidate) => candidate.name === name);
    if (field < 0) field = read.push(all.find((candidate) => candidate.name === name)!) - 1;
    return { field, fromJson: { key, text: text === true } };
  });
  return { read, copy };
}

/**
 * Writes batches' rows in COPY's text format: tab-separated, `\N` for NULL, backslash escapes for the characters
 * that would break the format. Bytes are copied from the source's COPY data as they are, but for a tab, newline,
 * return or backslash, which are escaped. Values taken from a JSON field are found in its text by one pass per row
 * (RowKeys): Postgres parsing the properties for them cost the source query two thirds of its CPU.
 *
 * The encoder writes into `buffers` buffers of its own in turn: what `encode` returns is overwritten by the encode
 * `buffers` calls later. (A fresh 8 MB buffer per batch made most of the worker's garbage collection.)
 */
export class CopyEncoder {
  /** Per column: the source field it is, or is taken from. */
  private readonly fields: number[];
  /** Per column: the index of its key in `keys`, or -1 for a field written as it is. */
  private readonly keyIndex: number[];
  private readonly asText: boolean[];
  private readonly keys: RowKeys;
  private readonly buffers: Buffer[];
  private turn = 0;

  constructor(columns: readonly CopyColumn[], buffers = 1) {
    this.fields = columns.map((column) => column.field);
    const wanted: { column: number; key: string }[] = [];
    this.keyIndex = columns.map((column) =>
      column.fromJson ? wanted.push({ column: column.field, key: column.fromJson.key }) - 1 : -1,
    );
    this.asText = columns.map((column) => column.fromJson?.text === true);
    this.keys = new RowKeys(wanted);
    this.buffers = Array.from({ length: buffers }, () => Buffer.alloc(0));
  }

  /** This turn's buffer, of at least `size` bytes. */
  private buffer(size: number): Buffer {
    const turn = this.turn;
    this.turn = (turn + 1) % this.buffers.length;
    if (this.buffers[turn]!.length < size) this.buffers[turn] = Buffer.allocUnsafe(Math.ceil(size * 1.25));
    return this.buffers[turn]!;
  }

  encode(batch: CopyBatch): Buffer {
    const { data, rows, starts, lengths, width: rowWidth } = batch;
    const width = this.fields.length;
    // Upper bound: every byte of a field escaped, `\N` for a NULL, a separator after each field. A value taken from
    // JSON is part of its field's text, and unescaping a JSON string never lengthens it.
    let bound = 0;
    for (let row = 0; row < rows; row++) {
      for (let column = 0; column < width; column++) {
        bound += 2 * Math.max(1, lengths[row * rowWidth + this.fields[column]!]!) + 1;
      }
    }
    const out = this.buffer(bound);
    // Byte by byte through plain Uint8Arrays (a Buffer's indexing is slower, a native copy per field slower still).
    const o = new Uint8Array(out.buffer, out.byteOffset, out.length);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
    const spans = this.keys.spans;
    let at = 0;
    for (let row = 0; row < rows; row++) {
      const base = row * rowWidth;
      if (this.keys.size) this.keys.find(bytes, starts, lengths, base);
      for (let column = 0; column < width; column++) {
        const key = this.keyIndex[column]!;
        let start: number;
        let end: number;
        if (key >= 0) {
          start = spans[2 * key]!;
          end = spans[2 * key + 1]!;
        } else {
          const index = base + this.fields[column]!;
          start = starts[index]!;
          end = lengths[index]! < 0 ? -1 : start + lengths[index]!;
        }
        if (end < 0 || (this.asText[column] && isJsonNull(bytes, start, end))) {
          o[at++] = BACKSLASH;
          o[at++] = 78; // N
        } else if (this.asText[column] && bytes[start] === QUOTE) {
          at = writeUnescaped(bytes, start + 1, end - 1, o, at);
        } else {
          for (let i = start; i < end; i++) at = putEscaped(bytes[i]!, o, at);
        }
        o[at++] = column === width - 1 ? NEWLINE : TAB;
      }
    }
    return out.subarray(0, at);
  }
}

/** Bytes COPY's text format escapes (ESCAPED), by value. */
const SPECIAL = new Uint8Array(256);
for (const byte of Object.keys(ESCAPED)) SPECIAL[Number(byte)] = 1;

/** A byte in COPY's text format: escaped when COPY escapes it. */
function putEscaped(byte: number, out: Uint8Array, at: number): number {
  if (SPECIAL[byte] === 1) {
    out[at++] = BACKSLASH;
    out[at++] = ESCAPED[byte]!;
  } else {
    out[at++] = byte;
  }
  return at;
}

const NULL_TEXT = [110, 117, 108, 108]; // null

function isJsonNull(data: Uint8Array, start: number, end: number): boolean {
  if (end - start !== 4) return false;
  for (let i = 0; i < 4; i++) if (data[start + i] !== NULL_TEXT[i]) return false;
  return true;
}

/** What a JSON string's one-character escape (after the backslash) stands for. */
const UNESCAPED: Record<number, number> = {
  [QUOTE]: QUOTE,
  [BACKSLASH]: BACKSLASH,
  47: 47, // \/
  98: 8, // \b
  102: 12, // \f
  110: NEWLINE, // \n
  114: RETURN, // \r
  116: TAB, // \t
};

const REPLACEMENT = 0xfffd;

/**
 * The inside of a JSON string, data[start, end) (valid JSON: Postgres's json type checked it), unescaped as `->>`
 * unescapes it, written in COPY's text format. Outside escapes a JSON string holds no control character or
 * backslash, so its bytes go as they are. \u0000 (which text cannot hold) and lone surrogates, which `->>` rejects
 * (failing the whole export), become U+FFFD.
 */
function writeUnescaped(data: Uint8Array, start: number, end: number, out: Uint8Array, at: number): number {
  for (let i = start; i < end; i++) {
    const byte = data[i]!;
    if (byte !== BACKSLASH) {
      out[at++] = byte;
      continue;
    }
    const escape = data[++i]!;
    if (escape !== 117) {
      // Not \u: one character.
      at = putEscaped(UNESCAPED[escape] ?? escape, out, at);
      continue;
    }
    let code = hex4(data, i + 1);
    i += 4;
    if (code >= 0xd800 && code <= 0xdbff && data[i + 1] === BACKSLASH && data[i + 2] === 117) {
      const low = hex4(data, i + 3);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i += 6;
      }
    }
    if (code === 0 || (code >= 0xd800 && code <= 0xdfff)) code = REPLACEMENT;
    at = putCodePoint(code, out, at);
  }
  return at;
}

function hex4(data: Uint8Array, at: number): number {
  let value = 0;
  for (let i = at; i < at + 4; i++) {
    const c = data[i]!;
    value = value * 16 + (c <= 57 ? c - 48 : (c | 0x20) - 87);
  }
  return value;
}

/** A code point in UTF-8, COPY-escaped when it is one of the bytes COPY escapes. */
function putCodePoint(code: number, out: Uint8Array, at: number): number {
  if (code < 0x80) return putEscaped(code, out, at);
  if (code < 0x800) {
    out[at++] = 0xc0 | (code >> 6);
  } else {
    if (code < 0x10000) {
      out[at++] = 0xe0 | (code >> 12);
    } else {
      out[at++] = 0xf0 | (code >> 18);
      out[at++] = 0x80 | ((code >> 12) & 0x3f);
    }
    out[at++] = 0x80 | ((code >> 6) & 0x3f);
  }
  out[at++] = 0x80 | (code & 0x3f);
  return at;
}
