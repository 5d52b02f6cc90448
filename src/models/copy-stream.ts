import type { Pool, PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { SpareBuffers } from '../buffers';
import { classifySourceError } from './errors';
import { inlineParameters } from './inline';
import { beginModelRead, queryResolver, resolveQuery } from './read-transaction';
import type { QuerySlicing, SqlQuery } from './types';

/**
 * Rows read by `COPY (query) TO STDOUT (FORMAT binary)`, still in Postgres's binary tuple format: one buffer and
 * the position of every field in it. Writers take the bytes they need straight from `data` (a JSON line, a
 * string column) without making a JS value per field.
 */
export interface CopyBatch {
  data: Buffer;
  /** Fields per row, cursor columns included. */
  width: number;
  rows: number;
  /** Byte offset in `data` of field `column` of row `row`, at `row * width + column`. */
  starts: Int32Array;
  /** Byte length of each field, at the same index; -1 for NULL. */
  lengths: Int32Array;
  /** The cursor columns of the last row, as text: pass it as `after` to resume behind this batch. */
  cursor: string[];
  /**
   * Says that the reader is done with `data`: its memory may hold later batches, and nothing of the batch may be
   * read after it. Optional to call (an unreleased batch is garbage collected as any buffer); readers that call it
   * spare the process a fresh buffer per batch (see BatchBuffers). Absent on batches not read from Postgres.
   */
  release?(): void;
}

export interface CopyStreamOptions {
  /** Rows are cut into batches once this many bytes arrived (a row is never split)... */
  batchBytes: number;
  /** ...of at most this many rows each. */
  batchRows: number;
  /** How many trailing columns are the cursor (the query was rendered `withCursor`, all text); 0 for none. */
  cursorWidth: number;
  /**
   * A count to run in the COPY's snapshot (see countQuery): the completeness receipt's source rows, which then
   * describe exactly the rows the COPY reads. Run before the COPY, or beside the first slice's on the read-ahead
   * connection; `onCount` has been called once the last batch is read.
   */
  count?: { query: SqlQuery; onCount: (rows: number) => void };
  /**
   * Read a query that can be sliced (QuerySlicing) in slices of about this many rows, each its own COPY in the same
   * transaction; 0 or absent: one COPY. A query of fewer rows is read in one COPY either way.
   */
  sliceRows?: number;
  /**
   * With slices, start the next slice's COPY on a second connection (in the same snapshot) while this one's rows are
   * read: Postgres scans and sorts the next slice instead of waiting. Costs one more source connection.
   */
  sliceReadAhead?: boolean;
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Streams a query's rows in batches of about `batchBytes` (at most `batchRows` rows). Unlike a cursor, COPY lets Postgres plan the query in
 * parallel, and sends rows without a round trip per batch; the socket's backpressure bounds memory to about a
 * batch. COPY takes no parameters: they are written into the text as literals (`inlineParameters`). Data errors of
 * the query (a filter regex Postgres rejects) fail as configuration errors (`classifySourceError`).
 */
export async function* streamCopyBatches(
  pool: Pool,
  query: SqlQuery,
  options: CopyStreamOptions,
): AsyncGenerator<CopyBatch> {
  const client = await pool.connect();
  let helper: PoolClient | null = null;
  let counting: Promise<void> | null = null;
  let finished = false;
  try {
    await beginModelRead(client, { indexOrdered: query.indexOrdered });
    const resolve = await queryResolver(client, query);
    const slices = query.slicing && options.sliceRows ? await planSlices(client, query.slicing, options.sliceRows) : [];
    const pieces = slices.length ? slices.map(([lower, upper]) => query.slicing!.slice(lower, upper)) : [query];
    if (options.sliceReadAhead && pieces.length > 1) {
      const { rows } = await client.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot');
      helper = await pool.connect();
      await beginModelRead(helper, { snapshot: rows[0]!.snapshot, indexOrdered: query.indexOrdered });
    }
    // Slice i is read on clients[i % clients.length]; with two, slice i + 1 starts as soon as slice i does.
    const clients = helper ? [client, helper] : [client];
    // The count runs on the connection that reads the second slice, while the first slice is read (a connection
    // runs its queries in turn: that slice's COPY starts after the count); on the only connection, before the COPY.
    if (options.count) {
      counting = runCount(clients.at(-1)!, options.count, query.prepare, resolve);
      counting.catch(() => undefined);
      if (clients.length === 1) await counting;
    }
    const copy = (i: number) => startCopy(clients[i % clients.length]!, resolve(pieces[i]!));
    let next = copy(0);
    const buffers = new BatchBuffers(options.batchBytes);
    for (let i = 0; i < pieces.length; i++) {
      const stream = next;
      if (i + 1 < pieces.length && clients.length > 1) next = copy(i + 1);
      const parser = new TupleParser(options, buffers);
      for await (const chunk of stream) yield* parser.push(chunk);
      yield* parser.end();
      if (i + 1 < pieces.length && clients.length === 1) next = copy(i + 1);
    }
    await counting;
    if (helper) await helper.query('COMMIT');
    await client.query('COMMIT');
    finished = true;
  } catch (error) {
    throw classifySourceError(error);
  } finally {
    // Stopped mid-COPY (an error, or the reader gave up): the connection is in no state to be reused.
    releaseClient(client, finished);
    if (helper) releaseClient(helper, finished);
  }
}

/**
 * Runs the count on `client` and hands its result on. A count of the same model carries the query's own prepare
 * step (countQuery and the renderers keep the source's): its value is put in place, not computed again.
 */
async function runCount(
  client: PoolClient,
  count: NonNullable<CopyStreamOptions['count']>,
  prepare: SqlQuery['prepare'],
  resolve: (query: SqlQuery) => SqlQuery,
): Promise<void> {
  const counted = count.query.prepare === prepare ? resolve(count.query) : await resolveQuery(client, count.query);
  const { rows } = await client.query<{ count: string }>(counted.text, counted.values);
  count.onCount(Number(rows[0]!.count));
}

/**
 * Starts `COPY (query) TO STDOUT` on `client`. Its rows wait in the socket until read (a COPY started ahead blocks
 * Postgres once the buffers are full); an error is kept for the reader, not thrown as an unhandled 'error' event.
 */
function startCopy(client: PoolClient, query: SqlQuery): AsyncIterable<Buffer> {
  const stream = client.query(copyTo(`COPY (${inlineParameters(query)}) TO STDOUT (FORMAT binary)`));
  stream.on('error', () => undefined);
  return stream as AsyncIterable<Buffer>;
}

/**
 * The bounds of the slices to read the query in: about `sliceRows` rows each by the range's count, cut at equal
 * steps between its first and last value (computed by Postgres, so boundaries keep the type's precision). The
 * first slice has no lower bound and the last no upper one: every row is in exactly one slice, whatever the
 * estimate. None (read in one piece) when the range holds at most `sliceRows` rows.
 */
async function planSlices(
  client: PoolClient,
  slicing: QuerySlicing,
  sliceRows: number,
): Promise<Array<[string | null, string | null]>> {
  const { rows } = await client.query<{ rows: string; first: string | null; last: string | null }>(
    slicing.range.text,
    slicing.range.values,
  );
  const { first, last } = rows[0] ?? { first: null, last: null };
  const count = Math.ceil(Number(rows[0]?.rows ?? 0) / sliceRows);
  if (count <= 1 || first === null || last === null) return [];
  const { rows: cuts } = await client.query<{ cut: string }>(
    `SELECT cut::text AS cut FROM (
       SELECT DISTINCT $1::timestamptz + ($2::timestamptz - $1::timestamptz) * (i::float8 / $3) AS cut
       FROM generate_series(1, $3 - 1) AS i
     ) AS cuts WHERE cut > $1::timestamptz ORDER BY cut`,
    [first, last, count],
  );
  const bounds: Array<string | null> = [null, ...cuts.map((row) => row.cut), null];
  return bounds.slice(1).map((upper, i) => [bounds[i] ?? null, upper]);
}

function releaseClient(client: PoolClient, reusable: boolean): void {
  client.release(reusable ? undefined : true);
}

/**
 * The buffers a read cuts its batches into, used again once every batch cut into one was released (SpareBuffers:
 * a fresh buffer per batch made V8 collect the whole heap every batch or two, 150 times for a million events).
 * Buffers nobody released are simply collected.
 */
export class BatchBuffers {
  private readonly spares = new SpareBuffers(MAX_FREE_BUFFERS);

  constructor(private readonly batchBytes: number) {}

  /** A buffer of at least `size` bytes, held once (by the caller). */
  lease(size: number): Lease {
    // A quarter more than a batch: the COPY chunk that completes a batch overshoots it.
    const buffer = Buffer.from(this.spares.take(size, this.batchBytes * 1.25));
    return new Lease(buffer, (returned) => this.spares.give(returned.buffer as ArrayBuffer));
  }
}

/** Free buffers kept per read: the batch being encoded holds one while the next batch's bytes arrive in another. */
const MAX_FREE_BUFFERS = 2;

/** One buffer and how many hold it; it goes back when the last lets go. */
class Lease {
  private holders = 1;

  constructor(
    readonly buffer: Buffer,
    private readonly giveBack: (buffer: Buffer) => void,
  ) {}

  hold(): void {
    this.holders++;
  }

  drop(): void {
    if (this.holders <= 0) throw new Error('A batch buffer was released twice');
    if (--this.holders === 0) this.giveBack(this.buffer);
  }
}

/**
 * Cuts the COPY byte stream into batches of whole tuples. Each socket chunk is copied into the batch's buffer as it
 * arrives: chunks kept until a batch was full (64 of them) outlived the young generation's collections, and a
 * million events left hundreds of MB of spent chunks for full collections to find (up to 50 MB at once).
 */
class TupleParser {
  /** The buffer taking the bytes received since the last cut (the tuple cut in half by that cut first). */
  private lease: Lease | null = null;
  private size = 0;
  private headerRead = false;
  private ended = false;

  constructor(
    private readonly options: CopyStreamOptions,
    private readonly buffers: BatchBuffers,
  ) {}

  push(chunk: Buffer): CopyBatch[] {
    this.append(chunk);
    return this.size >= this.options.batchBytes ? this.cut() : [];
  }

  end(): CopyBatch[] {
    const batches = this.size > 0 ? this.cut() : [];
    if (this.size > 0) throw new Error(`COPY ended inside a row (${this.size} bytes left)`);
    if (!this.ended) throw new Error('COPY ended without its trailer');
    return batches;
  }

  /**
   * Copies `chunk` behind the bytes kept so far; into a buffer twice as large when it does not fit (a row larger
   * than a batch), so that a huge row is copied a few times, not once per chunk.
   */
  private append(chunk: Buffer): void {
    const needed = this.size + chunk.length;
    if (!this.lease || needed > this.lease.buffer.length) {
      const lease = this.buffers.lease(Math.max(needed, 2 * (this.lease?.buffer.length ?? 0)));
      if (this.lease) {
        this.lease.buffer.copy(lease.buffer, 0, 0, this.size);
        this.lease.drop();
      }
      this.lease = lease;
    }
    chunk.copy(this.lease.buffer, this.size);
    this.size = needed;
  }

  /**
   * The whole tuples received so far, as batches of at most `batchRows` rows sharing one buffer; a partial tuple
   * at the end is kept for the next cut.
   */
  private cut(): CopyBatch[] {
    const lease = this.lease!;
    const data = lease.buffer.subarray(0, this.size);
    let at = 0;
    if (!this.headerRead) {
      if (data.length < 19) return [];
      if (!data.subarray(0, 11).equals(SIGNATURE)) throw new Error('COPY did not send a binary header');
      const extension = data.readInt32BE(15);
      if (data.length < 19 + extension) return [];
      at = 19 + extension;
      this.headerRead = true;
    }
    let width = 0;
    let rows = 0;
    let capacity = 1024;
    let starts = new Int32Array(capacity);
    let lengths = new Int32Array(capacity);
    let lastRow = at;
    while (!this.ended && at + 2 <= data.length) {
      const fields = data.readInt16BE(at);
      if (fields === -1) {
        this.ended = true;
        at += 2;
        lastRow = at;
        break;
      }
      width ||= fields;
      if (fields !== width) throw new Error(`COPY sent a row of ${fields} fields after rows of ${width}`);
      if ((rows + 1) * width > capacity) {
        capacity *= 2;
        starts = grow(starts, capacity);
        lengths = grow(lengths, capacity);
      }
      let position = at + 2;
      let complete = true;
      for (let field = 0; field < fields; field++) {
        if (position + 4 > data.length) {
          complete = false;
          break;
        }
        const length = data.readInt32BE(position);
        position += 4;
        starts[rows * width + field] = position;
        lengths[rows * width + field] = length;
        if (length > 0) position += length;
        if (position > data.length) {
          complete = false;
          break;
        }
      }
      if (!complete) break;
      rows++;
      at = position;
      lastRow = at;
    }
    const batches: CopyBatch[] = [];
    for (let first = 0; first < rows; first += this.options.batchRows) {
      const count = Math.min(this.options.batchRows, rows - first);
      const batchStarts = starts.subarray(first * width, (first + count) * width);
      const batchLengths = lengths.subarray(first * width, (first + count) * width);
      const cursor = this.cursorOf(data, width, batchStarts, batchLengths, (count - 1) * width);
      batches.push({
        data,
        width,
        rows: count,
        starts: batchStarts,
        lengths: batchLengths,
        cursor,
        release: held(lease),
      });
    }
    this.keep(data, lastRow, batches.length > 0);
    return batches;
  }

  private cursorOf(data: Buffer, width: number, starts: Int32Array, lengths: Int32Array, row: number): string[] {
    const cursor: string[] = [];
    for (let column = width - this.options.cursorWidth; column < width; column++) {
      const start = starts[row + column]!;
      cursor.push(data.toString('utf8', start, start + lengths[row + column]!));
    }
    return cursor;
  }

  /**
   * Keeps `data` from `from` on (a tuple not yet whole) for the next cut: where batches were cut from `data`, in a
   * buffer of its own, as they hold theirs until they are released.
   */
  private keep(data: Buffer, from: number, cutAny: boolean): void {
    const lease = this.lease!;
    this.size = data.length - from;
    if (this.size === 0) {
      this.lease = null;
      lease.drop();
    } else if (!cutAny) {
      // Nobody else holds the buffer: what is left moves to its start.
      data.copyWithin(0, from);
    } else {
      this.lease = this.buffers.lease(this.size);
      data.copy(this.lease.buffer, 0, from);
      lease.drop();
    }
  }
}

/** A batch's `release`: lets go of its hold on the lease, once. */
function held(lease: Lease): () => void {
  lease.hold();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    lease.drop();
  };
}

function grow(array: Int32Array, capacity: number): Int32Array<ArrayBuffer> {
  const larger = new Int32Array(capacity);
  larger.set(array);
  return larger;
}
