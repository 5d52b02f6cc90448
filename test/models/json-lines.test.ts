import { beforeAll, describe, expect, it } from 'vitest';
import { createFileEncoder } from '../../src/formats';
import { JsonLinesWriter } from '../../src/formats/json-lines';
import { jsonWithoutNul } from '../../src/models/events';
import { streamCopyBatches } from '../../src/models/copy-stream';
import { copyColumnsQuery, jsonLinesQuery, type ModelField, type ModelQuery } from '../../src/models/types';
import { useTestDatabase } from '../helpers/database';
import { queryRows } from './run-model';

/**
 * The worker's JSON lines against Postgres's own (json_build_object, what JSON lines were before): the same values
 * for every field type, odd values included, and `->` on json for the fields taken from a JSON field.
 */
// `->` fails on a \u0000 escape anywhere in the text (see jsonWithoutNul); the worker copies what it finds.
const NUL_FREE = jsonWithoutNul('r.j');
const FIELDS: ModelField[] = [
  { name: 'id', type: 'integer', expression: 'r.id' },
  { name: 's', type: 'string', expression: 'r.s' },
  { name: 'u', type: 'uuid', expression: 'r.u' },
  { name: 'j', type: 'json', expression: 'r.j' },
  { name: 'i', type: 'integer', expression: 'r.i' },
  { name: 'f', type: 'float', expression: 'r.f' },
  { name: 'b', type: 'boolean', expression: 'r.b' },
  { name: 't', type: 'timestamp', expression: 'r.t' },
  { name: 'set', type: 'json', expression: `${NUL_FREE} -> '$set'`, fromJson: { field: 'j', key: '$set' } },
  {
    name: 'set_once',
    type: 'json',
    expression: `${NUL_FREE} -> '$set_once'`,
    fromJson: { field: 'j', key: '$set_once' },
  },
];

/** One value per column and row; the columns not given are NULL. */
const CASES: Array<Partial<Record<'s' | 'u' | 'j' | 'i' | 'f' | 'b' | 't', string>>> = [
  { s: `'plain'`, u: `'0190a4b4-3a2c-7c1e-9f00-0123456789ab'`, j: `'{"$set": {"a": 1}, "x": 2}'`, i: '0', b: 'true' },
  { s: `E'quote " backslash \\\\ slash / tab \\t nl \\n cr \\r bs \\b ff \\f ctl \\x01 \\x1f del \\x7f'`, b: 'false' },
  { s: `'é 🎉 中文'`, j: `'{"$set": "a\\"b}", "$set_once": [1, {"x": "]"}]}'` },
  { s: `''`, j: `E'{\\n  "$set" :  [1, {"x": "}"}] ,\\r\\n "n": null }'` },
  { j: `'{"$set": 1, "$set": {"last": true}}'`, i: '9007199254740993' },
  { j: `'{"\\u0024set": 5, "$setx": 6, "a": {"$set": 7}}'`, i: '-9223372036854775808' },
  { j: `'[1, {"$set": 2}]'`, i: '9223372036854775807' },
  { j: `'"just a string"'`, i: '-4294967297' },
  { j: `'{}'`, i: '4294967296', f: '0.1' },
  { j: `'{"$set_once": null, "$set": false}'`, i: '-1', f: '1e21' },
  { j: `'{"$set": -1.5e-7, "k": "\\u0000"}'`, f: `'-1.5e-7'` },
  { f: `'NaN'` },
  { f: `'Infinity'`, t: `'2000-01-01 00:00:00+00'` },
  { f: `'-Infinity'`, t: `'1999-12-31 23:59:59.999999+00'` },
  { f: '1e16', t: `'1970-01-01 00:00:00+00'` },
  { f: '3', t: `'1900-02-28 12:00:00.5+00'` },
  { f: '-0.000001', t: `'2024-02-29 10:20:30.12+00'` },
  { t: `'0001-01-01 00:00:00+00'` },
  { t: `'0044-03-15 12:00:00.000001+00 BC'` },
  { t: `'10000-01-01 00:00:00+00'` },
  { t: `'infinity'` },
  { t: `'-infinity'` },
  { t: `'2025-01-15 10:59:59.000010+00'` },
  // Long enough to be copied natively, with a newline and a return between tokens.
  { j: `(E'{"long": "' || repeat('x', 100) || E'",\\n "$set": 1,\\r\\n "z": 2}')::json` },
  { j: `(E'{"long": "' || repeat('y', 100) || E'",\\r "$set": 1}')::json` },
  {},
];

describe('JSON lines built by the worker from binary COPY', () => {
  const db = useTestDatabase();
  let model: ModelQuery;

  beforeAll(async () => {
    await db.pool.query(
      `CREATE TABLE json_line_cases (id int8, s text, u uuid, j json, i int8, f float8, b boolean, t timestamptz)`,
    );
    for (const [id, values] of CASES.entries()) {
      const column = (name: keyof (typeof CASES)[number]) => values[name] ?? 'NULL';
      await db.pool.query(
        `INSERT INTO json_line_cases VALUES (${id}, ${column('s')}, ${column('u')}, ${column('j')}, ${column('i')},
         ${column('f')}, ${column('b')}, ${column('t')})`,
      );
    }
    model = {
      model: 'cases',
      fields: FIELDS,
      source: { text: 'SELECT * FROM json_line_cases', values: [] },
      orderBy: ['r.id'],
    };
  });

  it('writes every field as json_build_object does, and takes keys from JSON as -> does', async () => {
    const expected = (await queryRows<{ line: string }>(db.pool, jsonLinesQuery(model))).map((row) => row.line);
    const writer = new JsonLinesWriter(FIELDS);
    const chunks: Buffer[] = [];
    // Small batches: rows are cut over several.
    const query = copyColumnsQuery(model, { readerDerives: true });
    for await (const batch of streamCopyBatches(db.pool, query, { batchBytes: 200, batchRows: 5, cursorWidth: 0 })) {
      chunks.push(writer.write(batch));
    }
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(CASES.length);
    for (const [row, line] of lines.entries()) {
      expect({ row, value: JSON.parse(line) }).toEqual({ row, value: JSON.parse(expected[row]!) });
    }
    // What JSON.parse cannot tell apart: integers beyond 2^53, and JSON text kept as it was.
    expect(lines[4]).toContain('"i":9007199254740993,');
    expect(lines[5]).toContain('"i":-9223372036854775808,');
    expect(lines[6]).toContain('"i":9223372036854775807,');
    expect(lines[2]).toContain('"set_once":[1, {"x": "]"}]}');
    expect(lines[3]).toContain('"set":[1, {"x": "}"}]');
    expect(lines[10]).toContain('"j":{"$set": -1.5e-7, "k": "\\u0000"}');
    expect(lines[18]).toContain('"t":"0044-03-15T12:00:00.000001+00:00 BC"');
    expect(lines[23]).toContain(`"j":{"long": "${'x'.repeat(100)}",  "$set": 1,   "z": 2}`);
    expect(lines[24]).toContain(`"j":{"long": "${'y'.repeat(100)}",  "$set": 1}`);
  });

  it('writes large batches on the thread, in order, with the same lines as on the event loop', async () => {
    await db.pool.query(
      `CREATE TABLE json_line_rows AS SELECT i::int8 AS id, 'row ' || i AS s, NULL::uuid AS u,
         json_build_object('$set', json_build_object('i', i), 'pad', repeat('p', i % 300)) AS j, i::int8 * 1000 AS i,
         i / 7.0::float8 AS f, i % 2 = 0 AS b, '2024-05-01T10:00:00Z'::timestamptz + i * interval '1.5 ms' AS t
       FROM generate_series(1, 5000) AS i`,
    );
    const rows = { ...model, source: { text: 'SELECT * FROM json_line_rows', values: [] } };
    const query = copyColumnsQuery(rows, { readerDerives: true });
    const encoder = createFileEncoder({ format: 'JSONLines', compression: null, fields: FIELDS });
    const writer = new JsonLinesWriter(FIELDS);
    const encoded: Array<Promise<Buffer>> = [];
    const inline: Buffer[] = [];
    // Batches of 2,000 rows: written on the thread (THREAD_MIN_ROWS), the last of 1,000 too.
    const options = { batchBytes: 4 * 1024 * 1024, batchRows: 2000, cursorWidth: 0 };
    for await (const batch of streamCopyBatches(db.pool, query, options)) {
      inline.push(writer.write(batch));
      encoded.push(encoder.encode(batch));
      batch.release?.();
    }
    expect(inline.length).toBeGreaterThan(2);
    const threaded = Buffer.concat([...(await Promise.all(encoded)), await encoder.finish()]);
    expect(threaded.equals(Buffer.concat(inline))).toBe(true);
    const lines = threaded.toString('utf8').trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { id: number }).id)).toEqual(
      Array.from({ length: 5000 }, (_, i) => i + 1),
    );
  });
});
