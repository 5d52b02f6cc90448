import type { CopyBatch } from '../models/copy-stream';
import type { FieldType, ModelField } from '../models/types';
import { BACKSLASH, CLOSE_BRACE, COLON, OPEN_BRACE, QUOTE, readerFieldSources, RowKeys, SPACE } from './json-keys';

/**
 * JSON lines built from rows as binary COPY sent them (copyColumnsQuery with `readerDerives`: text, int8, float8,
 * bool, timestamptz, and no column for the fields taken from another one's JSON). Postgres building each line
 * (json_build_object) cost it 8 of the 14 CPU seconds of a million events, and `->` on json 6 more: here a line
 * costs a pass over its bytes (docs/notes/issue-19-session-f.md). The values are those json_build_object wrote:
 * timestamps in its ISO format at UTC, JSON fields verbatim, strings escaped as Postgres escapes them.
 */
export class JsonLinesWriter {
  /** Per output field: `,"name":` (no comma for the first), as bytes. */
  private readonly prefixes: Uint8Array[];
  /** Per output field: its column in the batch, or for a field taken from JSON, the column it is taken from. */
  private readonly columns: number[];
  private readonly types: FieldType[];
  /** Per output field: the index of its key in `keys`, or -1 for a field read from its own column. */
  private readonly keyIndex: number[];
  /** The values of the keys taken from JSON columns, found once per row. */
  private readonly keys: RowKeys;
  private readonly maxCharsPerByte: number[];

  constructor(fields: readonly ModelField[]) {
    this.prefixes = fields.map(
      (field, i) => new Uint8Array(Buffer.from(`${i === 0 ? '' : ','}${JSON.stringify(field.name)}:`)),
    );
    this.types = fields.map((field) => field.type);
    // A JSON value is written as it is; `->>`'s unescaped text would need writing as a JSON string.
    ({
      columns: this.columns,
      keyIndex: this.keyIndex,
      keys: this.keys,
    } = readerFieldSources(fields, 'JSON lines do not write'));
    // How long a field's text can get per byte of its value: strings escape a control byte as \u00XX.
    this.maxCharsPerByte = fields.map((field) => (field.type === 'string' ? 6 : 1));
  }

  /**
   * The batch's rows as JSON lines, each ending in a newline, written into a buffer `allocate` gives (at least the
   * size it asks for); returns the bytes written, a view of that buffer.
   */
  write(batch: CopyBatch, allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size)): Buffer {
    const { data, width, rows, starts, lengths } = batch;
    let bound = 0;
    for (let row = 0; row < rows; row++) {
      bound += 1 + 2; // {, } and the newline
      for (let field = 0; field < this.columns.length; field++) {
        const length = lengths[row * width + this.columns[field]!]!;
        bound += this.prefixes[field]!.length + 32 + Math.max(0, length) * this.maxCharsPerByte[field]!;
      }
    }
    const out = allocate(bound);
    // Byte by byte through plain Uint8Arrays (a Buffer's indexing is slower); long runs by native copies.
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
    const o = new Uint8Array(out.buffer, out.byteOffset, out.length);
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    let at = 0;
    for (let row = 0; row < rows; row++) {
      const base = row * width;
      if (this.keys.size) this.keys.find(bytes, starts, lengths, base);
      o[at++] = OPEN_BRACE;
      for (let field = 0; field < this.columns.length; field++) {
        at = put(this.prefixes[field]!, o, at);
        const key = this.keyIndex[field]!;
        if (key >= 0) {
          const start = this.keys.spans[2 * key]!;
          at = start < 0 ? put(NULL, o, at) : copyJson(data, start, this.keys.spans[2 * key + 1]!, out, o, at);
          continue;
        }
        const index = base + this.columns[field]!;
        const length = lengths[index]!;
        if (length < 0) {
          at = put(NULL, o, at);
          continue;
        }
        const start = starts[index]!;
        switch (this.types[field]!) {
          case 'string':
            at = writeString(bytes, start, start + length, o, at);
            break;
          case 'uuid':
            o[at++] = QUOTE;
            for (let i = start; i < start + length; i++) o[at++] = bytes[i]!;
            o[at++] = QUOTE;
            break;
          case 'json':
            at = copyJson(data, start, start + length, out, o, at);
            break;
          case 'integer':
            at = writeInteger(view, start, o, at);
            break;
          case 'float':
            at = writeFloat(view.getFloat64(start), o, at);
            break;
          case 'boolean':
            at = put(bytes[start] === 1 ? TRUE : FALSE, o, at);
            break;
          case 'timestamp':
            at = writeTimestamp(view, start, o, at);
            break;
        }
      }
      o[at++] = CLOSE_BRACE;
      o[at++] = NEWLINE;
    }
    return out.subarray(0, at);
  }
}

const NEWLINE = 0x0a;
const RETURN = 0x0d;
const TAB = 0x09;

function ascii(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}
const NULL = ascii('null');
const TRUE = ascii('true');
const FALSE = ascii('false');

/** Copies a few bytes (a loop beats a native call's overhead on short runs). */
function put(bytes: Uint8Array, out: Uint8Array, at: number): number {
  for (let i = 0; i < bytes.length; i++) out[at++] = bytes[i]!;
  return at;
}

/** Below this many bytes a JSON value is copied by a loop, above by a native copy and search. */
const NATIVE_COPY_BYTES = 64;

/**
 * A JSON value's text as it is, but for newlines and returns between its tokens (json keeps the input's formatting;
 * inside strings JSON has none), which become spaces: a line holds one row. `out` and `o` are the same bytes.
 */
function copyJson(data: Buffer, start: number, end: number, out: Buffer, o: Uint8Array, at: number): number {
  const length = end - start;
  if (length < NATIVE_COPY_BYTES) {
    for (let i = start; i < end; i++) {
      const byte = data[i]!;
      o[at++] = byte === NEWLINE || byte === RETURN ? SPACE : byte;
    }
    return at;
  }
  data.copy(out, at, start, end);
  // Searched natively, bounded by the byte after the copy (the line's next byte, not written yet): no subarray, whose
  // object per value was most of the garbage the writer made.
  const after = at + length;
  o[after] = NEWLINE;
  let found = out.indexOf(NEWLINE, at) < after;
  if (!found) {
    o[after] = RETURN;
    found = out.indexOf(RETURN, at) < after;
  }
  if (found) for (let i = at; i < after; i++) if (o[i] === NEWLINE || o[i] === RETURN) o[i] = SPACE;
  return after;
}

/** What a byte becomes in a JSON string, as Postgres's escape_json writes it: 0 itself, else the escape's letter. */
const ESCAPES = new Uint8Array(256);
for (let byte = 0; byte < 0x20; byte++) ESCAPES[byte] = 0x75; // \u00XX
ESCAPES[0x08] = 0x62; // \b
ESCAPES[0x0c] = 0x66; // \f
ESCAPES[NEWLINE] = 0x6e; // \n
ESCAPES[RETURN] = 0x72; // \r
ESCAPES[TAB] = 0x74; // \t
ESCAPES[QUOTE] = QUOTE;
ESCAPES[BACKSLASH] = BACKSLASH;
const HEX = Buffer.from('0123456789abcdef');

/** UTF-8 text as a JSON string: bytes from 0x80 up (UTF-8 sequences) are copied as they are. */
function writeString(data: Uint8Array, start: number, end: number, out: Uint8Array, at: number): number {
  out[at++] = QUOTE;
  for (let i = start; i < end; i++) {
    const byte = data[i]!;
    const escape = ESCAPES[byte]!;
    if (escape === 0) {
      out[at++] = byte;
    } else if (escape === 0x75) {
      out[at++] = BACKSLASH;
      out[at++] = 0x75;
      out[at++] = 0x30;
      out[at++] = 0x30;
      out[at++] = HEX[byte >> 4]!;
      out[at++] = HEX[byte & 15]!;
    } else {
      out[at++] = BACKSLASH;
      out[at++] = escape;
    }
  }
  out[at++] = QUOTE;
  return at;
}

/** Writes the decimal digits of a non-negative integer below 2^53. */
function writeDigits(value: number, out: Uint8Array, at: number): number {
  if (value < 10) {
    out[at] = 0x30 + value;
    return at + 1;
  }
  let digits = 0;
  for (let rest = value; rest >= 1; rest = Math.floor(rest / 10)) digits++;
  for (let i = at + digits - 1, rest = value; i >= at; i--, rest = Math.floor(rest / 10)) out[i] = 0x30 + (rest % 10);
  return at + digits;
}

/** An int8 as a JSON number. */
function writeInteger(data: DataView, start: number, out: Uint8Array, at: number): number {
  const high = data.getInt32(start);
  const low = data.getUint32(start + 4);
  // Exact as a double below 2^53 in magnitude (|high| < 2^21); larger values take the slow, exact path.
  if (high >= -0x200000 && high < 0x200000) {
    const value = high * 0x1_0000_0000 + low;
    if (value < 0) {
      out[at++] = 0x2d; // -
      return writeDigits(-value, out, at);
    }
    return writeDigits(value, out, at);
  }
  return put(ascii(data.getBigInt64(start).toString()), out, at);
}

/** A float8 as json_build_object writes it: a number, or a string for NaN and the infinities (JSON has none). */
function writeFloat(value: number, out: Uint8Array, at: number): number {
  if (Number.isFinite(value)) return put(ascii(String(value)), out, at);
  return put(ascii(Number.isNaN(value) ? '"NaN"' : value > 0 ? '"Infinity"' : '"-Infinity"'), out, at);
}

const MICROS_PER_DAY = 86_400_000_000;
const BIG_MICROS_PER_DAY = 86_400_000_000n;
/** Days from 1970-01-01 to 2000-01-01, where Postgres counts its timestamps from. */
const POSTGRES_EPOCH_DAYS = 10_957;
const dateCache: { day: number; text: Uint8Array } = { day: Number.NaN, text: new Uint8Array(0) };
const INFINITY = ascii('"infinity"');
const MINUS_INFINITY = ascii('"-infinity"');
const UTC = ascii('+00:00"');
const UTC_BC = ascii('+00:00 BC"');

/**
 * A timestamptz as json_build_object writes it at UTC: `"2025-01-15T10:00:00.5+00:00"` (the fraction's trailing
 * zeros dropped, no fraction when whole), ` BC` after years before 1, and `"infinity"`/`"-infinity"`.
 */
function writeTimestamp(data: DataView, start: number, out: Uint8Array, at: number): number {
  const high = data.getInt32(start);
  const low = data.getUint32(start + 4);
  if (high === 0x7fffffff && low === 0xffffffff) return put(INFINITY, out, at);
  if (high === -0x80000000 && low === 0) return put(MINUS_INFINITY, out, at);
  // Microseconds from 2000-01-01 UTC, split into days and the time of day: as doubles for 285 years either side,
  // where they are exact; Postgres's range is wider.
  let day: number;
  let rest: number;
  if (high >= -0x200000 && high < 0x200000) {
    const micros = high * 0x1_0000_0000 + low;
    day = Math.floor(micros / MICROS_PER_DAY);
    rest = micros - day * MICROS_PER_DAY;
  } else {
    const micros = data.getBigInt64(start);
    const days = micros / BIG_MICROS_PER_DAY - (micros % BIG_MICROS_PER_DAY < 0n ? 1n : 0n);
    day = Number(days);
    rest = Number(micros - days * BIG_MICROS_PER_DAY);
  }
  if (day !== dateCache.day) {
    dateCache.day = day;
    dateCache.text = ascii(dateText(day + POSTGRES_EPOCH_DAYS));
  }
  const date = dateCache.text;
  out[at++] = QUOTE;
  // The date's text is `YYYY-MM-DD` and, for years before 1, ` BC`, which Postgres writes after the offset.
  const bc = date[date.length - 1] === 0x43; // C
  const dateLength = bc ? date.length - 3 : date.length;
  for (let i = 0; i < dateLength; i++) out[at++] = date[i]!;
  out[at++] = 0x54; // T
  const hours = Math.floor(rest / 3_600_000_000);
  rest -= hours * 3_600_000_000;
  const minutes = Math.floor(rest / 60_000_000);
  rest -= minutes * 60_000_000;
  const seconds = Math.floor(rest / 1_000_000);
  let fraction = rest - seconds * 1_000_000;
  at = writeTwoDigits(hours, out, at);
  out[at++] = COLON;
  at = writeTwoDigits(minutes, out, at);
  out[at++] = COLON;
  at = writeTwoDigits(seconds, out, at);
  if (fraction > 0) {
    out[at++] = 0x2e; // .
    let digits = 6;
    while (fraction % 10 === 0) {
      fraction /= 10;
      digits--;
    }
    for (let i = at + digits - 1; i >= at; i--, fraction = Math.floor(fraction / 10)) out[i] = 0x30 + (fraction % 10);
    at += digits;
  }
  return put(bc ? UTC_BC : UTC, out, at);
}

function writeTwoDigits(value: number, out: Uint8Array, at: number): number {
  out[at] = 0x30 + Math.floor(value / 10);
  out[at + 1] = 0x30 + (value % 10);
  return at + 2;
}

/**
 * `YYYY-MM-DD` of a day counted from 1970-01-01 in the proleptic Gregorian calendar, as Postgres writes it: at
 * least four digits of year, and for years before 1 the year counted back from 1 BC with ` BC` appended.
 */
function dateText(days: number): string {
  // Howard Hinnant's civil_from_days.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const dayOfMonth = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (value: number, width: number) => String(value).padStart(width, '0');
  const date = `${pad(year > 0 ? year : 1 - year, 4)}-${pad(month, 2)}-${pad(dayOfMonth, 2)}`;
  return year > 0 ? date : `${date} BC`;
}
