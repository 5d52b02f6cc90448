import { beforeAll, describe, expect, it } from 'vitest';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { CopyEncoder } from '../../src/destinations/postgres/copy';
import { BatchExportError } from '../../src/errors';
import { tableFromIPC } from 'apache-arrow';
import { ArrowIpcWriter, arrowSchema } from '../../src/formats/arrow';
import { buildModelQuery } from '../../src/models';
import { streamCopyBatches, type CopyBatch } from '../../src/models/copy-stream';
import { inlineParameters } from '../../src/models/inline';
import { beginModelRead, resolveQuery } from '../../src/models/read-transaction';
import { countQuery, jsonLinesQuery, type ModelField, type ModelQuery } from '../../src/models/types';
import type { Pool, PoolClient } from 'pg';
import { useTestDatabase } from '../helpers/database';
import { createTeam, insertEvents, makeEvent, type TestEvent } from '../helpers/fixtures';
import { queryRows } from './run-model';

const HOUR = { start: new Date('2024-05-01T10:00:00Z'), end: new Date('2024-05-01T11:00:00Z') };

function eventsModel(teamId: number, filters: unknown = null): ModelQuery {
  return buildModelQuery({
    batchExport: { team_id: teamId, model: 'events', hogql_query: null, filters: filters as never },
    dataIntervalStart: HOUR.start,
    dataIntervalEnd: HOUR.end,
  });
}

async function collect(batches: AsyncIterable<CopyBatch>): Promise<CopyBatch[]> {
  const all: CopyBatch[] = [];
  for await (const batch of batches) all.push(batch);
  return all;
}

describe('reading an interval with binary COPY', () => {
  const db = useTestDatabase();
  let teamId: number;
  let events: TestEvent[];
  let first: TestEvent;

  beforeAll(async () => {
    ({ teamId } = await createTeam(db.pool));
    events = Array.from({ length: 300 }, (_, i) =>
      makeEvent(teamId, new Date(HOUR.start.getTime() + i * 10_000 + 123).toISOString(), {
        // Odd characters, a raw newline in the JSON text, and a NULL person.
        properties: i % 50 === 0 ? '{"text": "é 🎉 \\" \\\\",\n "n": 1}' : JSON.stringify({ i, $set: { a: i } }),
        ...(i % 7 === 0 ? { person_id: null } : {}),
      }),
    );
    first = events[10]!;
    await insertEvents(db.pool, events);
    // Ingested three times: once more with the same inserted_at as the first copy, once later.
    await insertEvents(db.pool, [{ ...first, event: 'second copy' }]);
    await insertEvents(db.pool, [{ ...first, inserted_at: '2024-05-01T10:59:00Z', event: 'later' }]);
  });

  it('inlines parameters as literals Postgres reads back as the same values, leaving quoted text and comments alone', async () => {
    const text = `SELECT $1::text AS a, $2::text[] AS b, $3::timestamptz AS c, $4::int AS d, '$1' AS e, E'it\\'s $2' AS "$3" -- $1
      /* $2 */`;
    const values = ["it's \\ here", ['a"b', 'c\\d', null, '{x,y}'], new Date('2024-05-01T10:00:00Z'), null];
    const inlined = inlineParameters({ text, values });
    expect(inlined).toContain(`'$1' AS e, E'it\\'s $2' AS "$3" -- $1\n      /* $2 */`);
    const [withParameters, withLiterals] = await Promise.all([db.pool.query(text, values), db.pool.query(inlined)]);
    expect(withLiterals.rows).toEqual(withParameters.rows);
    expect(withLiterals.rows[0]).toMatchObject({ a: "it's \\ here", b: ['a"b', 'c\\d', null, '{x,y}'], d: null });
  });

  it('refuses to inline what it cannot inline faithfully', () => {
    expect(() => inlineParameters({ text: 'SELECT $$x$$', values: [] })).toThrow('Dollar quoting');
    expect(() => inlineParameters({ text: 'SELECT $2', values: [1] })).toThrow('No value for parameter $2');
    expect(() => inlineParameters({ text: 'SELECT $1', values: [{}] })).toThrow('cannot be a query parameter');
  });

  it('gives the same lines, in the same order, as a plain query, in batches of whole rows however the bytes arrive', async () => {
    const model = eventsModel(teamId);
    const query = jsonLinesQuery(model, { withCursor: true });
    const expected = (await queryRows<{ line: string }>(db.pool, query)).map((row) => row.line.replace(/\n/g, ' '));
    // A tiny byte budget cuts almost every chunk from the socket; 7 rows at most per batch.
    const batches = await collect(streamCopyBatches(db.pool, query, { batchBytes: 500, batchRows: 7, cursorWidth: 2 }));

    expect(expected).toHaveLength(300);
    const lines = Buffer.concat(batches.map(encodeLines)).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toEqual(expected);
    expect(Math.max(...batches.map((batch) => batch.rows))).toBe(7);
    expect(batches.length).toBeGreaterThanOrEqual(300 / 7);
    // Each batch's cursor is its last row's (inserted_at, uuid), as text.
    let seen = 0;
    for (const batch of batches) {
      seen += batch.rows;
      const last = JSON.parse(lines[seen - 1]!) as { uuid: string; inserted_at: string };
      expect(batch.cursor[1]).toBe(last.uuid);
      expect(Date.parse(batch.cursor[0]!.replace(' ', 'T').replace(/\+00$/, 'Z'))).toBe(Date.parse(last.inserted_at));
    }
  });

  it('exports a uuid ingested three times once, as its first copy', async () => {
    const batches = await collect(
      streamCopyBatches(db.pool, jsonLinesQuery(eventsModel(teamId)), {
        batchBytes: 1 << 20,
        batchRows: 1000,
        cursorWidth: 0,
      }),
    );
    const rows = Buffer.concat(batches.map(encodeLines))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { uuid: string; event: string });
    const copies = rows.filter((row) => row.uuid === first.uuid);
    expect(copies).toHaveLength(1);
    // The first copy by insertion time; of the two inserted at the same time, the one stored first.
    expect(copies[0]!.event).toBe(first.event);
    expect(rows).toHaveLength(300);
  });

  it('reads a large interval in slices, each its own COPY: the same lines in the same order, a duplicate once, and a resume across slices', async () => {
    const model = eventsModel(teamId);
    const lines = (batches: CopyBatch[]) => Buffer.concat(batches.map(encodeLines)).toString('utf8').split('\n');
    const whole = jsonLinesQuery(model, { withCursor: true });
    const expected = (await queryRows<{ line: string }>(db.pool, whole)).map((row) => row.line.replace(/\n/g, ' '));
    // 302 stored rows (300 uuids): slices of about 40 rows, in batches that could hold the whole interval.
    const options = { batchBytes: 1 << 24, batchRows: 10_000, cursorWidth: 2, sliceRows: 40 };
    const sliced = await collect(streamCopyBatches(db.pool, whole, options));
    expect(lines(sliced)).toEqual([...expected, '']);
    // A batch never spans two COPYs: one batch per slice. 8 slices between the first row (10:00) and the last
    // (10:59); the last one holds only the later copy of the duplicated uuid, which is left out: 7 batches.
    expect(sliced).toHaveLength(Math.ceil(302 / 40) - 1);
    expect(Math.max(...sliced.map((batch) => batch.rows))).toBeLessThan(60);
    expect(lines(sliced).filter((line) => line.includes(first.uuid))).toHaveLength(1);
    // Each next slice started ahead on a second connection in the same snapshot: the same lines, in order.
    const ahead = await collect(streamCopyBatches(db.pool, whole, { ...options, sliceReadAhead: true }));
    expect(lines(ahead)).toEqual([...expected, '']);
    expect(ahead).toHaveLength(sliced.length);

    // Resumed after the 100th row (inside a slice): the rest, in order, as the plain query gives it.
    let seen = 0;
    const cursor = sliced.find((batch) => (seen += batch.rows) >= 100)!.cursor;
    const resumed = jsonLinesQuery(model, { withCursor: true, after: cursor });
    const rest = (await queryRows<{ line: string }>(db.pool, resumed)).map((row) => row.line.replace(/\n/g, ' '));
    expect(rest.length).toBe(300 - seen);
    expect(lines(await collect(streamCopyBatches(db.pool, resumed, options)))).toEqual([...rest, '']);

    // Not sliced at or under the slice size, nor without the option.
    expect(await collect(streamCopyBatches(db.pool, whole, { ...options, sliceRows: 302 }))).toHaveLength(1);
    expect(await collect(streamCopyBatches(db.pool, whole, { ...options, sliceRows: 0 }))).toHaveLength(1);
  });

  it('reads events in their index order, sorting only rows inserted at the same time, and counts on the read-ahead connection', async () => {
    const model = eventsModel(teamId);
    const query = jsonLinesQuery(model, { withCursor: true });
    expect(query.indexOrdered).toBe(true);

    // What Postgres does in a transaction told so: the (team_id, inserted_at) index read in order, ties sorted by
    // uuid (an incremental sort), and no sort of the whole interval.
    const client = await db.pool.connect();
    try {
      await beginModelRead(client, { indexOrdered: query.indexOrdered });
      const resolved = await resolveQuery(client, query);
      const { rows } = await client.query<{ plan: string }>({
        text: `EXPLAIN (FORMAT JSON) ${resolved.text}`,
        values: resolved.values,
        rowMode: 'array',
      } as never);
      const nodes = planNodes((rows[0] as unknown as [unknown])[0]);
      expect(nodes.map((node) => node['Node Type'])).not.toContain('Sort');
      expect(nodes.find((node) => node['Node Type'] === 'Incremental Sort')?.['Presorted Key']).toEqual([
        'events.inserted_at',
      ]);
      expect(String(nodes.find((node) => String(node['Node Type']).startsWith('Index'))?.['Index Name'])).toMatch(
        /^events_team_inserted_at/,
      );
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }

    // The reader opens every connection a COPY runs on so, and counts (duplicates left out) on the second one while
    // the first slice is read.
    const sent: Array<{ connection: number; text: string }> = [];
    const counted: number[] = [];
    const batches = await collect(
      streamCopyBatches(recordingPool(db.pool, sent), query, {
        batchBytes: 1 << 24,
        batchRows: 10_000,
        cursorWidth: 2,
        sliceRows: 40,
        sliceReadAhead: true,
        count: { query: countQuery(model), onCount: (rows) => counted.push(rows) },
      }),
    );
    expect(counted).toEqual([300]);
    expect(batches.reduce((rows, batch) => rows + batch.rows, 0)).toBe(300);
    for (const connection of [0, 1]) {
      const texts = sent.filter((statement) => statement.connection === connection).map(({ text }) => text);
      expect(texts[0]).toMatch(/^BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; .*SET LOCAL enable_sort = off/);
      expect(texts.filter((text) => text.startsWith('COPY')).length).toBeGreaterThan(0);
    }
    expect(
      sent.filter(({ text }) => text.startsWith('SELECT count(*) AS count')).map(({ connection }) => connection),
    ).toEqual([1]);
  });

  it('writes Arrow IPC straight from the binary rows, every type and NULLs, and refuses an infinite timestamp', async () => {
    const fields: ModelField[] = [
      { name: 's', type: 'string', expression: '' },
      { name: 'i', type: 'integer', expression: '' },
      { name: 'f', type: 'float', expression: '' },
      { name: 'b', type: 'boolean', expression: '' },
      { name: 't', type: 'timestamp', expression: '' },
      { name: 'j', type: 'json', expression: '' },
    ];
    // Every third row's fields are NULL by turns; lengths vary, so the byte buffers need padding; timestamps
    // run from before Postgres's epoch (2000-01-01) to after it.
    const query = {
      text: `SELECT CASE WHEN n % 3 = 1 THEN NULL ELSE repeat('é', n % 5) || n END AS s,
                    CASE WHEN n % 7 = 0 THEN NULL ELSE n::int8 * 1000000007 - 3 END AS i,
                    CASE WHEN n % 11 = 0 THEN NULL ELSE n / 8.0 - 1 END::float8 AS f,
                    CASE WHEN n % 13 = 0 THEN NULL ELSE n % 2 = 0 END AS b,
                    CASE WHEN n % 17 = 0 THEN NULL ELSE '1999-12-31T23:50:00Z'::timestamptz + n * interval '1.000001 second' END AS t,
                    CASE WHEN n % 19 = 0 THEN NULL ELSE json_build_object('n', n)::text END AS j
             FROM generate_series(1, 1001) AS n ORDER BY n`,
      values: [],
    };
    const expected = await queryRows<Record<string, unknown>>(db.pool, {
      text: `SELECT s, i::text, f, b, (extract(epoch FROM t) * 1000000)::bigint::text AS t, j FROM (${query.text}) AS q`,
      values: [],
    });
    const batches = await collect(
      streamCopyBatches(db.pool, query, { batchBytes: 1 << 20, batchRows: 600, cursorWidth: 0 }),
    );
    expect(batches.map((batch) => batch.rows)).toEqual([600, 401]);
    const writer = new ArrowIpcWriter(arrowSchema(fields), fields);
    const decoded: Array<Record<string, unknown>> = [];
    for (const batch of batches) {
      const table = tableFromIPC(writer.write(batch));
      expect(table.numRows).toBe(batch.rows);
      for (let row = 0; row < table.numRows; row++) {
        const value = (name: string) => table.getChild(name)!.get(row) as unknown;
        const i = value('i') as bigint | null;
        const t = value('t') as number | bigint | null;
        decoded.push({
          s: value('s'),
          i: i === null ? null : String(i),
          f: value('f'),
          b: value('b'),
          // Arrow's reader gives timestamps as milliseconds; microseconds from the raw column.
          t: t === null ? null : String((table.getChild('t')!.data[0]!.values as BigInt64Array)[row]),
          j: value('j'),
        });
      }
    }
    expect(decoded).toEqual(expected);
    expect(decoded.filter((row) => row.s === null)).toHaveLength(334);

    const infinity = await collect(
      streamCopyBatches(
        db.pool,
        {
          text: `SELECT 'x' AS s, 1::int8 AS i, 1::float8 AS f, true AS b, 'infinity'::timestamptz AS t, '{}' AS j`,
          values: [],
        },
        { batchBytes: 1 << 20, batchRows: 10, cursorWidth: 0 },
      ),
    );
    let error: unknown;
    try {
      writer.write(infinity[0]!);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BatchExportError);
    expect(error).toMatchObject({ kind: 'configuration' });
    expect((error as Error).message).toContain('Cannot export the timestamp "infinity" of t to Parquet');
  });

  it('cuts later batches into the buffers of released ones, and never into a batch still held', async () => {
    const rows = 20_000;
    const query = {
      text: `SELECT repeat('x', 200) || n AS line FROM generate_series(1, ${rows}) AS n ORDER BY n`,
      values: [],
    };
    // Batches of several socket chunks, as in production (4 MiB batches).
    const options = { batchBytes: 256 * 1024, batchRows: 10_000, cursorWidth: 0 };
    const expected = Array.from({ length: rows }, (_, i) => `${'x'.repeat(200)}${i + 1}`);
    const text = (batch: CopyBatch) => encodeLines(batch).toString('utf8');

    // Released as soon as read: the batches take turns in a few buffers.
    const buffers = new Set<ArrayBufferLike>();
    let released = '';
    let batches = 0;
    for await (const batch of streamCopyBatches(db.pool, query, options)) {
      batches++;
      buffers.add(batch.data.buffer);
      released += text(batch);
      batch.release?.();
    }
    expect(released).toBe(expected.map((line) => `${line}\n`).join(''));
    // About 4 MB of rows: a dozen batches or more (a batch overshoots its size by up to a socket chunk).
    const count = 10;
    expect(batches).toBeGreaterThanOrEqual(count);
    // Two take turns once the sizes settle (a socket chunk may make one batch larger than the buffers so far).
    expect(buffers.size).toBeLessThan(batches / 2);

    // Held (never released): each keeps its rows while later ones are read.
    const held = await collect(streamCopyBatches(db.pool, query, options));
    expect(held.length).toBeGreaterThanOrEqual(count);
    expect(held.map(text).join('')).toBe(released);
  });

  it('reads rows many times larger than a batch whole, however many socket chunks each spans', async () => {
    // Rows of 320 KB against batches of 16 KB: each row arrives in several chunks and overflows its buffer.
    const query = {
      text: `SELECT repeat(md5(n::text), 10000) || n AS line FROM generate_series(1, 6) AS n ORDER BY n`,
      values: [],
    };
    const options = { batchBytes: 16 * 1024, batchRows: 10, cursorWidth: 0 };
    const expected = (await queryRows<{ line: string }>(db.pool, query)).map((row) => `${row.line}\n`).join('');
    const batches: number[] = [];
    let text = '';
    for await (const batch of streamCopyBatches(db.pool, query, options)) {
      batches.push(batch.rows);
      text += encodeLines(batch).toString('utf8');
      batch.release?.();
    }
    expect(expected.length).toBeGreaterThan(6 * 320_000);
    expect(text).toBe(expected);
    // A batch is cut as soon as a whole row is there: one row each.
    expect(batches).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('re-encodes text fields for COPY FROM, so that a round trip through Postgres gives back the same values', async () => {
    const values = ['tab\there', 'new\nline\r', 'back\\slash', null, '', '{"a":"\\u00e9 \\" 🎉"}', 'plain'];
    const query = {
      text: `SELECT v, v || '!' AS cursor FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n`,
      values: [values],
    };
    const batches = await collect(streamCopyBatches(db.pool, query, { batchBytes: 10, batchRows: 3, cursorWidth: 1 }));
    const client = await db.pool.connect();
    try {
      await client.query('CREATE TEMPORARY TABLE round_trip (n serial, v text)');
      for (const batch of batches) {
        await pipeline(
          Readable.from([new CopyEncoder([{ field: 0 }]).encode(batch)]),
          client.query(copyFrom('COPY round_trip (v) FROM STDIN')),
        );
      }
      const { rows } = await client.query<{ v: string | null }>('SELECT v FROM round_trip ORDER BY n');
      expect(rows.map((row) => row.v)).toEqual(values);
    } finally {
      client.release();
    }
  });

  it('fails a filter Postgres cannot run as a configuration error, and leaves the pool usable', async () => {
    // Valid in JavaScript (an identity escape), not in Postgres's regular expressions.
    const model = eventsModel(teamId, [{ key: 'i', operator: 'regex', value: '\\p{L}' }]);
    const read = collect(
      streamCopyBatches(db.pool, jsonLinesQuery(model), { batchBytes: 1 << 20, batchRows: 1000, cursorWidth: 0 }),
    );
    await expect(read).rejects.toMatchObject({ name: 'BatchExportError', kind: 'configuration' });
    await expect(read).rejects.toThrow('A regular expression in the filters is not valid for Postgres');

    // A reader that stops early does not leave a connection mid-COPY in the pool.
    for await (const batch of streamCopyBatches(db.pool, jsonLinesQuery(eventsModel(teamId)), {
      batchBytes: 100,
      batchRows: 5,
      cursorWidth: 0,
    })) {
      expect(batch.rows).toBeGreaterThan(0);
      break;
    }
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE team_id = $1', [
      teamId,
    ]);
    expect(rows[0]!.n).toBe(302);
  });
});

/**
 * The JSON lines of a batch read with jsonLinesQuery, one per row: each row's first field, copied byte for byte (no JS string is made), and
 * a newline. JSON text from Postgres has no raw newline inside strings but may have whitespace ones (json keeps the
 * input's formatting): they become spaces, which JSON treats alike.
 */
function encodeLines(batch: CopyBatch): Buffer {
  const { data, width, rows, starts, lengths } = batch;
  let size = rows;
  for (let row = 0; row < rows; row++) size += Math.max(0, lengths[row * width]!);
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (let row = 0; row < rows; row++) {
    const start = starts[row * width]!;
    const length = Math.max(0, lengths[row * width]!);
    data.copy(bytes, at, start, start + length);
    const line = bytes.subarray(at, at + length);
    if (line.includes(10) || line.includes(13)) {
      for (let i = 0; i < length; i++) if (line[i] === 10 || line[i] === 13) line[i] = 32;
    }
    at += length;
    bytes[at++] = 10;
  }
  return bytes;
}

/** Every node of an EXPLAIN (FORMAT JSON) plan. */
function planNodes(explained: unknown): Array<Record<string, unknown>> {
  const nodes: Array<Record<string, unknown>> = [];
  const visit = (node: Record<string, unknown>) => {
    nodes.push(node);
    for (const child of (node['Plans'] as Array<Record<string, unknown>> | undefined) ?? []) visit(child);
  };
  visit((explained as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan);
  return nodes;
}

/** A pool whose connections record the text of each statement sent, numbered by connection in the order taken. */
function recordingPool(pool: Pool, sent: Array<{ connection: number; text: string }>): Pool {
  let taken = 0;
  const connect = async (): Promise<PoolClient> => {
    const client = await pool.connect();
    const connection = taken++;
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    const release = client.release.bind(client);
    const recording = client as unknown as { query: unknown; release: unknown };
    recording.query = (...args: unknown[]) => {
      const first = args[0] as string | { text: string };
      sent.push({ connection, text: typeof first === 'string' ? first : first.text });
      return query(...args);
    };
    recording.release = (error?: Error | boolean) => {
      recording.query = query;
      recording.release = release;
      release(error);
    };
    return client;
  };
  return { connect } as unknown as Pool;
}
