/**
 * Rows in COPY's text format: tab-separated, `\N` for NULL, backslash escapes for the characters that would break
 * the format. Values arrive as the source's text (timestamps, bigints, JSON) or as JS scalars.
 */
export function encodeCopyRows(rows: readonly unknown[][], width: number): Buffer {
  const lines: string[] = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const fields: string[] = new Array<string>(width);
    for (let j = 0; j < width; j++) fields[j] = encodeValue(row[j]);
    lines[i] = fields.join('\t');
  }
  return Buffer.from(lines.join('\n') + (rows.length ? '\n' : ''), 'utf8');
}

const SPECIAL = /[\\\n\r\t]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function encodeValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string')
    return SPECIAL.test(value) ? value.replace(/[\\\n\r\t]/g, (char) => ESCAPES[char]!) : value;
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return value.toISOString();
  return encodeValue(JSON.stringify(value));
}
