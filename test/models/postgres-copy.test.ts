import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { beforeAll, describe, expect, it } from 'vitest';
import { CopyEncoder } from '../../src/destinations/postgres/copy';
import { DerivedColumns } from '../../src/formats/json-keys';
import { streamCopyBatches, type CopyBatch } from '../../src/models/copy-stream';
import type { ModelField } from '../../src/models/types';
import { useTestDatabase } from '../helpers/database';

/**
 * The Postgres destination's COPY rows take `set` and `ip` from the properties' text (CopyEncoder) instead of the
 * source query's `->` and `->>`: the values must be those Postgres gives, odd JSON included.
 */
const CASES = [
  `{"$ip": "1.2.3.4", "$set": {"a": 1}}`,
  `{"$ip": "tab\\there nl\\nx cr\\r bs\\\\ q\\" sl\\/ b\\b f\\f é \\u00e9 \\u4e2d 😀 \\ud83d\\ude00", "$set": "s"}`,
  `{"$ip": 42, "$set": null}`,
  `{"$ip": null, "$set": [1, {"x": "}"}]}`,
  `{"$ip": {"a": [1, "x"]}}`,
  `{"$ip": true, "$set": false}`,
  `{"$ip": "a", "$ip": "b", "$set": 1, "$set": 2}`,
  `{"\\u0024ip": "escaped key", "\\u0024set": 3}`,
  `{"x": {"$ip": "nested", "$set": 4}}`,
  `[{"$ip": 1, "$set": 5}]`,
  `"just a string"`,
  null,
  `{"$ip": ""}`,
  `{"$ip": "ends in a backslash \\\\"}`,
  `{ "$ip" :  "spaced"  ,\n "$set" : [1,\t2] \r\n}`,
  `{"$ip": "\\u005c and \\u000a and \\u0009 and \\u000D"}`,
  `{"$ip": -1.5e-7}`,
];

/** Rows `->>` fails on; the encoder writes U+FFFD instead of failing the export. */
const REPLACED = [
  { json: `{"$ip": "lone \\ud800 surrogate"}`, ip: 'lone \ufffd surrogate' },
  { json: `{"$ip": "low \\udc00 first \\ud83d"}`, ip: 'low \ufffd first \ufffd' },
  { json: `{"$ip": "nul \\u0000 here"}`, ip: 'nul \ufffd here' },
];

describe('COPY rows with values taken from a JSON field', () => {
  const db = useTestDatabase();

  beforeAll(async () => {
    await db.pool.query('CREATE TABLE copy_cases (id int, j json)');
    const all = [...CASES, ...REPLACED.map((row) => row.json)];
    for (const [id, json] of all.entries()) {
      await db.pool.query('INSERT INTO copy_cases VALUES ($1, $2)', [id, json]);
    }
  });

  /** The cases' rows (id, j as text), encoded for COPY as (id, j, j -> '$set', j ->> '$ip'). */
  async function encodeCases(): Promise<Buffer[]> {
    const encoder = new CopyEncoder([
      { field: 0 },
      { field: 1 },
      { field: 1, fromJson: { key: '$set', text: false } },
      { field: 1, fromJson: { key: '$ip', text: true } },
    ]);
    const query = { text: 'SELECT id::text, j::text FROM copy_cases ORDER BY id', values: [] };
    const batches: CopyBatch[] = [];
    // Small batches: rows are cut over several.
    for await (const batch of streamCopyBatches(db.pool, query, { batchBytes: 100, batchRows: 4, cursorWidth: 0 })) {
      batches.push(batch);
    }
    expect(batches.length).toBeGreaterThan(3);
    // Copies: the encoder's buffer takes the next batch.
    return batches.map((batch) => Buffer.from(encoder.encode(batch)));
  }

  it('writes the values -> and ->> on json give, and U+FFFD where ->> fails', async () => {
    const encoded = await encodeCases();
    const client = await db.pool.connect();
    try {
      // json keeps the text as it came: `->`'s value is compared byte for byte.
      await client.query('CREATE TEMPORARY TABLE copied (id int, j json, set json, ip text)');
      for (const data of encoded) {
        await pipeline(Readable.from([data]), client.query(copyFrom('COPY copied FROM STDIN')));
      }
      const { rows: expected } = await client.query<{ id: number; j: string; set: string; ip: string }>(
        `SELECT id, j::text, (j -> '$set')::text AS set, j ->> '$ip' AS ip FROM copy_cases WHERE id < $1 ORDER BY id`,
        [CASES.length],
      );
      const { rows: copied } = await client.query<{ id: number; j: string; set: string; ip: string }>(
        'SELECT id, j::text, set::text, ip FROM copied ORDER BY id',
      );
      expect(copied.slice(0, CASES.length)).toEqual(expected);
      expect(copied.slice(CASES.length).map((row) => row.ip)).toEqual(REPLACED.map((row) => row.ip));
      // The cases cover what they claim to.
      expect(expected[1]!.ip).toContain('\t');
      expect(expected[1]!.ip).toContain('😀 😀');
      expect(expected[2]).toMatchObject({ ip: '42', set: 'null' });
      expect(expected[3]).toMatchObject({ ip: null, set: '[1, {"x": "}"}]' });
      expect(expected[6]).toMatchObject({ ip: 'b', set: '2' });
      expect(expected[7]).toMatchObject({ ip: 'escaped key', set: '3' });
      expect(expected[9]).toMatchObject({ ip: null, set: null });
      expect(expected[15]!.ip).toBe('\\ and \n and \t and \r');
    } finally {
      client.release();
    }
  });

  it('puts the values -> gives into columns of their own for writers of whole columns, in the fields order', async () => {
    const fields: ModelField[] = [
      { name: 'id', type: 'string', expression: 'id' },
      { name: 'set', type: 'json', expression: "j -> '$set'", fromJson: { field: 'j', key: '$set' } },
      { name: 'j', type: 'json', expression: 'j' },
      { name: 'ip', type: 'json', expression: "j -> '$ip'", fromJson: { field: 'j', key: '$ip' } },
    ];
    const derived = new DerivedColumns(fields);
    // Read as with `readerDerives`: the sent columns only (id, j), and a cursor column the result leaves out.
    const query = {
      text: 'SELECT id::text, j::text, id::text AS cursor_0 FROM copy_cases ORDER BY copy_cases.id',
      values: [],
    };
    const rows: Array<Array<string | null>> = [];
    for await (const batch of streamCopyBatches(db.pool, query, { batchBytes: 100, batchRows: 4, cursorWidth: 1 })) {
      const expanded = derived.expand(batch);
      expect(expanded.width).toBe(4);
      for (let row = 0; row < expanded.rows; row++) {
        rows.push(
          fields.map((_, column) => {
            const at = row * expanded.width + column;
            const length = expanded.lengths[at]!;
            return length < 0
              ? null
              : expanded.data.toString('utf8', expanded.starts[at]!, expanded.starts[at]! + length);
          }),
        );
      }
    }
    const { rows: expected } = await db.pool.query<{ row: Array<string | null> }>(
      `SELECT ARRAY[id::text, (j -> '$set')::text, j::text, (j -> '$ip')::text] AS row FROM copy_cases
       WHERE id < $1 ORDER BY id`,
      [CASES.length],
    );
    expect(rows.slice(0, CASES.length)).toEqual(expected.map(({ row }) => row));
    // Rows `->` rejects: their values as they are in the text (\u0000 and lone surrogates are valid JSON text).
    expect(rows.slice(CASES.length).map((row) => row[3])).toEqual([
      '"lone \\ud800 surrogate"',
      '"low \\udc00 first \\ud83d"',
      '"nul \\u0000 here"',
    ]);
    // What the cases cover.
    expect(expected[3]!.row[1]).toBe('[1, {"x": "}"}]');
    expect(expected[9]!.row[1]).toBeNull();
    expect(expected[14]!.row[3]).toBe('"spaced"');
    // A field taken as `->>` text needs unescaping, which columns do not do.
    expect(
      () => new DerivedColumns([fields[2]!, { ...fields[3]!, fromJson: { field: 'j', key: '$ip', text: true } }]),
    ).toThrow('taken as text');
  });
});
