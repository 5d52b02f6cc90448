import type { CopyBatch } from '../../models/copy-stream';

const TAB = 9;
const NEWLINE = 10;
const RETURN = 13;
const BACKSLASH = 92;
const ESCAPED: Record<number, number> = { [TAB]: 116, [NEWLINE]: 110, [RETURN]: 114, [BACKSLASH]: BACKSLASH };

/**
 * Fields of a batch's rows (read as text, e.g. copyColumnsQuery over string fields) in COPY's text format:
 * tab-separated, `\N` for NULL, backslash escapes for the characters that would break the format. `fields`: how many
 * leading fields of each row (the columns after them, the row cursor, are left out), or which fields, in order. Bytes
 * are copied from the source's COPY data as they are; only fields holding a tab, newline, return or backslash are
 * rewritten.
 */
export function encodeCopyBatch(batch: CopyBatch, fields: number | readonly number[]): Buffer {
  const { data, rows, starts, lengths } = batch;
  const picked = typeof fields === 'number' ? Array.from({ length: fields }, (_, index) => index) : fields;
  const width = picked.length;
  // Upper bound: every byte of a field escaped, `\N` for a NULL, a separator after each field.
  let bound = 0;
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < width; column++) {
      bound += 2 * Math.max(1, lengths[row * batch.width + picked[column]!]!) + 1;
    }
  }
  const out = Buffer.allocUnsafe(bound);
  let at = 0;
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < width; column++) {
      const index = row * batch.width + picked[column]!;
      const length = lengths[index]!;
      if (length < 0) {
        out[at++] = BACKSLASH;
        out[at++] = 78; // N
      } else {
        const start = starts[index]!;
        const field = data.subarray(start, start + length);
        if (needsEscaping(field)) {
          for (let i = 0; i < length; i++) {
            const byte = field[i]!;
            const escaped = ESCAPED[byte];
            if (escaped === undefined) {
              out[at++] = byte;
            } else {
              out[at++] = BACKSLASH;
              out[at++] = escaped;
            }
          }
        } else {
          at += field.copy(out, at);
        }
      }
      out[at++] = column === width - 1 ? NEWLINE : TAB;
    }
  }
  return out.subarray(0, at);
}

function needsEscaping(field: Buffer): boolean {
  return field.includes(BACKSLASH) || field.includes(TAB) || field.includes(NEWLINE) || field.includes(RETURN);
}
