import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import { escapeIdentifier } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { inTransaction } from '../../db/transaction';
import { BatchExportError } from '../../errors';
import {
  readSourceAsText,
  type BatchedExportOptions,
  type BatchedExportResult,
  type CursorProgress,
} from '../batched-interval';
import type { PostgresDestinationConfig } from './config';
import { connectToDestination } from './connect';
import { copyColumns, CopyEncoder, type CopyColumn } from './copy';
import { classifyPostgresError, errorContext } from './errors';
import {
  createTableStatement,
  insertStatement,
  keyColumns,
  qualifiedName,
  replaceStatement,
  sourceQuery,
  tableSpec,
  type DestinationColumn,
  type TableSpec,
} from './table';
import { countWrittenRows, keysTableStatements, recordKeysStatement, WRITTEN_KEYS } from './verify';

/** What an attempt has committed, saved after every batch: a retry continues after `cursor`. */
export type PostgresExportProgress = CursorProgress;

/**
 * `replace` (a backfill): each batch first deletes the table's rows with its uuids. `network`: the host is resolved
 * and checked once, and that address is dialled.
 */
export type PostgresExportOptions = BatchedExportOptions<PostgresDestinationConfig>;

const STAGING = escapeIdentifier('batch_export_staging');

/**
 * unique_violation (on pg_type), duplicate_table and duplicate_object (its row type, "type ... already exists"): what
 * CREATE TABLE IF NOT EXISTS raises when it loses a race.
 */
const CREATED_CONCURRENTLY = new Set(['23505', '42P07', '42710']);

export type PostgresExportResult = BatchedExportResult;

/**
 * Loads an interval into the user's table, one transaction per source batch. Events go straight in by COPY when the
 * table has a unique index on uuid (see directLoad); otherwise, and for a batch meeting rows already there, COPY
 * into a temporary staging table, then one INSERT that deduplicates (events) or merges by version (persons,
 * sessions). A batch is either wholly in the table or not at all, so resuming after the last committed batch writes
 * every row once.
 */
export async function exportToPostgres(options: PostgresExportOptions): Promise<PostgresExportResult> {
  const { config } = options;
  const context = errorContext(config);
  const destination = <T>(operation: () => Promise<T>) =>
    operation().catch((error: unknown) => Promise.reject(classifyPostgresError(error, context)));

  const client = await destination(() => connectToDestination(config, options.network));
  // The connections batches are loaded on; the first also prepares the table and counts.
  const writers = [client];
  try {
    const spec = tableSpec(options.query);
    const { columns, uniqueKey, rewrites } = await destination(() => prepareTable(client, spec, config));
    if (spec.mode.kind === 'dedupe' && !uniqueKey) {
      await options.onWarning?.(
        `Table "${config.schema}"."${config.table_name}" has no unique index on ${spec.mode.column}: every batch ` +
          `searches the whole table to skip rows already exported. Add one to make exports faster`,
      );
    }
    const names = columns.map((column) => column.name);
    const target = qualifiedName(config.schema, config.table_name);
    const keyed = keyColumns(spec);
    // What a table holds after a commit is what the commit wrote, unless a trigger or rule of the user's changes rows
    // as they are written: then every batch records its keys for a count of the table's rows after the last commit.
    // (Counting a million keys back took a quarter of an export's time; without triggers and rules it adds nothing.)
    const keys = rewrites ? keyed : null;
    // A backfill's batches replace the rows they carry (events by uuid; persons and sessions merge on their keys
    // anyway).
    const replace = options.replace ? replaceStatement(spec, target, STAGING) : null;
    const insert = insertStatement(spec, names, target, STAGING, uniqueKey);
    const record = keys ? recordKeysStatement(keys, STAGING) : null;
    if (keys)
      for (const statement of keysTableStatements(keys, target)) await destination(() => client.query(statement));
    const list = names.map(escapeIdentifier).join(', ');
    const staged: StagedLoad = {
      copy: `COPY ${STAGING} (${list}) FROM STDIN`,
      replace,
      insert,
      after: record ? [record] : [],
    };
    // Every value travels as Postgres' own text: exact for bigints, floats and timestamps, and what COPY reads. Read
    // with binary COPY, whose text fields go into the destination's COPY as they are (classified as source errors
    // there); destination errors are classified where they happen. Values of the properties' keys are found in the
    // properties' text here, not parsed out by the source.
    const { read, copy } = copyColumns(columns, spec.columns);
    // More connections where batches go straight into the table, their keys uncounted: the unique index keeps a
    // batch written twice (committed on one connection, unsaved as the worker died) from duplicating rows, and no
    // session's key table needs counting. Staging tables are per session: each connection has its own.
    const direct = directLoad(spec, names, target, uniqueKey, read, keys !== null);
    const connections = direct !== null && keys === null ? Math.max(1, options.connections ?? 1) : 1;
    // A batch is encoded while those before it are written (see `encoded`): one buffer per connection, one for the
    // batch waiting for its connection, one for the batch being encoded.
    const encoder = new CopyEncoder(copy, connections + 2);
    const keysEncoder = direct?.keys ? new CopyEncoder([direct.keys], connections + 2) : null;
    const { batches, sourceRecords: countedSource } = readSourceAsText(
      { ...options, query: sourceQuery(options.query, spec, read) },
      read,
      (column) => `(${column.expression})::text`,
    );
    let records = options.resumeFrom?.records ?? 0;
    let bytes = options.resumeFrom?.bytes ?? 0;
    // Events go straight into the table while no batch meets a uuid already there (a retry's first batch may: the
    // attempt before committed it and died before saving that; a backfill's over an exported interval does); such a
    // batch and the ones after it go through the staging table, until one of them finds none of its rows there.
    // Without rows already there, replacing them is inserting.
    let appending = direct !== null;
    const write = async (writer: Client, data: Buffer, batchKeys: Buffer | null, rows: number) => {
      const appended =
        appending && direct !== null && (await destination(() => appendBatch(writer, direct, data, batchKeys)));
      if (!appended) {
        const present = await destination(() => commitStagedBatch(writer, staged, data, rows));
        appending = direct !== null && present === 0;
      }
    };
    // Each batch is read and encoded while those before it are written and committed, so that the destination's
    // backends do not wait for the worker.
    async function* encoded() {
      for await (const batch of batches) {
        const data = encoder.encode(batch);
        const keys = keysEncoder?.encode(batch) ?? null;
        const { rows, cursor } = batch;
        // Both are copies: the batch's buffer may take the next rows (CopyBatch.release).
        batch.release?.();
        yield { data, keys, rows, cursor };
      }
    }
    // Batch n goes to connection n % connections once that connection's batch before it is committed and saved.
    // Progress is saved in batch order, each save after its batch's commit and the save before it: a retry resumes
    // after the last saved batch, and later batches committed meanwhile meet their rows in the table.
    const done: Array<Promise<void>> = [Promise.resolve()];
    const writing: Array<Promise<void>> = [];
    let saved: Promise<void> = Promise.resolve();
    let turn = 0;
    try {
      await forEachPrefetched(encoded(), async ({ data, keys: batchKeys, rows, cursor }) => {
        options.signal?.throwIfAborted();
        const index = turn++ % connections;
        if (index === writers.length) {
          // Opened once there is a batch for it: an interval of one batch takes one connection.
          const writer = await destination(() => connectToDestination(config, options.network));
          writers.push(writer);
          await destination(() => prepareStaging(writer, columns, target));
        }
        await done[index];
        records += rows;
        bytes += data.length;
        const progress = { cursor, records, bytes };
        const committed = write(writers[index]!, data, batchKeys, rows);
        writing[index] = committed;
        saved = Promise.all([saved, committed]).then(() => options.onCommit?.(progress));
        done[index] = saved;
        // Observed by the next turn of this connection or after the last batch.
        saved.catch(() => undefined);
      });
      await saved;
    } catch (error) {
      // Nothing may still be writing when the connections close.
      await Promise.allSettled([...writing, ...done]);
      throw error;
    }
    const sourceRecords = countedSource();
    if (!keyed) return { records, bytes, sourceRecords, destinationRecords: null };
    if (!keys) {
      // Every row a commit wrote is in the table (inserted, or already there with its key).
      if (sourceRecords !== null && sourceRecords !== records) {
        await options.onWarning?.(
          `The source held ${sourceRecords} rows for the interval when the last attempt read it, and ${records} were ` +
            `written: rows changed between attempts`,
        );
      }
      return { records, bytes, sourceRecords, destinationRecords: records };
    }
    // Rows committed by earlier attempts are taken from their heartbeat: this session knows only its own keys.
    const written = await destination(() => countWrittenRows(client, keys, target));
    const destinationRecords = (options.resumeFrom?.records ?? 0) + written;
    if (sourceRecords !== null && destinationRecords !== sourceRecords) {
      throw new BatchExportError(
        `After the last commit, table "${config.schema}"."${config.table_name}" holds ${destinationRecords} of the ` +
          `${sourceRecords} rows the source has for the interval (${records} written): a trigger, rule or another ` +
          `writer changed them. Retry the run once the table is fixed`,
        { kind: 'verification' },
      );
    }
    return { records, bytes, sourceRecords, destinationRecords };
  } finally {
    await Promise.all(writers.map((writer) => writer.end().catch(() => undefined)));
  }
}

/**
 * Makes sure the table exists (creating it with the spec's columns), and returns the spec's columns the table has:
 * the user's table decides what is written. Prepares the session's staging table with the table's own types.
 */
async function prepareTable(client: Client, spec: TableSpec, config: PostgresDestinationConfig) {
  const { schema, table_name: table } = config;
  const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (!rowCount) {
    throw new BatchExportError(
      `Schema "${schema}" does not exist in database "${config.database}": create it or check schema`,
      {
        kind: 'configuration',
      },
    );
  }
  const target = qualifiedName(schema, table);
  let existing = await tableColumns(client, schema, table);
  if (existing === null) {
    await client.query(createTableStatement(spec, schema, table)).catch((error: unknown) => {
      // Intervals of a backfill load in parallel: another one may create the table between our check and CREATE
      // (IF NOT EXISTS does not cover that race: the catalog's unique index rejects the second type).
      if (!CREATED_CONCURRENTLY.has((error as { code?: string }).code ?? '')) throw error;
    });
    existing = await tableColumns(client, schema, table);
  }
  const columns = spec.columns.filter((column) => existing!.includes(column.name));
  const missing = spec.required.filter((name) => !existing!.includes(name));
  if (missing.length || columns.length === 0) {
    throw new BatchExportError(
      `Table "${schema}"."${table}" lacks column${missing.length > 1 ? 's' : ''} ${(missing.length ? missing : spec.created).join(', ')}: add ${missing.length > 1 ? 'them' : 'it'} or use another table_name`,
      { kind: 'configuration' },
    );
  }
  await prepareStaging(client, columns, target);
  const uniqueKey = spec.mode.kind === 'dedupe' && (await hasUniqueIndex(client, schema, table, spec.mode.column));
  return { columns, uniqueKey, rewrites: await hasTriggersOrRules(client, target) };
}

/**
 * Whether the table, or a partition of it, has a trigger or rule of the user's: something that may change, drop or
 * redirect the rows an INSERT or COPY writes (COPY fires triggers, INSERT also rules).
 */
async function hasTriggersOrRules(client: Client, target: string): Promise<boolean> {
  const { rows } = await client.query<{ rewrites: boolean }>(
    `WITH RECURSIVE tree (relid) AS (
       SELECT $1::regclass::oid UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.relid
     )
     SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid IN (SELECT relid FROM tree) AND NOT tgisinternal)
         OR EXISTS (SELECT 1 FROM pg_rewrite WHERE ev_class IN (SELECT relid FROM tree) AND rulename <> '_RETURN')
       AS rewrites`,
    [target],
  );
  return rows[0]?.rewrites === true;
}

/** (Re)creates the session's staging table with the table's own types of `columns`. */
async function prepareStaging(client: Client, columns: readonly DestinationColumn[], target: string): Promise<void> {
  const list = columns.map((column) => escapeIdentifier(column.name)).join(', ');
  await client.query(`DROP TABLE IF EXISTS pg_temp.${STAGING}`);
  await client.query(
    `CREATE TEMPORARY TABLE ${STAGING} ON COMMIT DELETE ROWS AS SELECT ${list} FROM ${target} WITH NO DATA`,
  );
}

/** Whether a unique index (not partial) covers exactly `column`: then ON CONFLICT on it works. */
async function hasUniqueIndex(client: Client, schema: string, table: string, column: string): Promise<boolean> {
  const { rows } = await client.query<{ unique: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
       WHERE i.indrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND i.indisunique AND i.indnkeyatts = 1
         AND i.indpred IS NULL AND a.attname = $3
     ) AS unique`,
    [schema, table, column],
  );
  return rows[0]?.unique === true;
}

/** The table's column names, or null when there is no such table. */
async function tableColumns(client: Client, schema: string, table: string): Promise<string[] | null> {
  const { rows } = await client.query<{ oid: string | null; columns: string[] | null }>(
    `SELECT c.oid, (SELECT array_agg(a.attname::text) FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
     FROM (SELECT to_regclass(format('%I.%I', $1::text, $2::text)) AS oid) c`,
    [schema, table],
  );
  return rows[0]?.oid ? (rows[0].columns ?? []) : null;
}

/** A batch through the staging table: COPY into it, then `replace` (a DELETE), the INSERT into the table, `after`. */
interface StagedLoad {
  copy: string;
  replace: string | null;
  insert: string;
  after: readonly string[];
}

/**
 * Commits a batch of `rows` rows through the staging table; returns how many of them the table held already (rows
 * the DELETE replaced, or that the INSERT skipped or merged into).
 */
async function commitStagedBatch(client: Client, load: StagedLoad, data: Buffer, rows: number): Promise<number> {
  return inTransaction(client, async (tx) => {
    await pipeline(Readable.from([data]), tx.query(copyFrom(load.copy)));
    const deleted = load.replace ? ((await tx.query(load.replace)).rowCount ?? 0) : 0;
    const { rowCount } = await tx.query(load.insert);
    for (const statement of load.after) await tx.query(statement);
    return load.replace ? deleted : rows - (rowCount ?? 0);
  });
}

/** COPY straight into the user's table, and the batch's keys into the session's key table when they are counted. */
interface DirectLoad {
  copy: string;
  keysCopy: string;
  /** The source field holding a batch's keys, for keysCopy; null when they are not counted. */
  keys: CopyColumn | null;
}

/**
 * The append path, for events into a table with a unique index on uuid: that index is the exactly-once guard (a row
 * already there makes the COPY fail, and the batch goes through the staging table, which skips or, in a backfill,
 * replaces it). Persons and sessions merge; a table without the index needs the staging table's NOT EXISTS.
 */
function directLoad(
  spec: TableSpec,
  names: readonly string[],
  target: string,
  uniqueKey: boolean,
  read: readonly DestinationColumn[],
  counted: boolean,
): DirectLoad | null {
  if (spec.mode.kind !== 'dedupe' || !uniqueKey) return null;
  const key = spec.mode.column;
  return {
    copy: `COPY ${target} (${names.map(escapeIdentifier).join(', ')}) FROM STDIN`,
    keysCopy: `COPY ${WRITTEN_KEYS} (${escapeIdentifier(key)}) FROM STDIN`,
    keys: counted ? { field: read.findIndex((column) => column.name === key) } : null,
  };
}

const UNIQUE_VIOLATION = '23505';

/** Commits a batch by the append path; false (nothing committed) when a row of it is in the table already. */
async function appendBatch(client: Client, load: DirectLoad, data: Buffer, keys: Buffer | null): Promise<boolean> {
  try {
    await inTransaction(client, async (tx) => {
      await pipeline(Readable.from([data]), tx.query(copyFrom(load.copy)));
      if (keys) await pipeline(Readable.from([keys]), tx.query(copyFrom(load.keysCopy)));
    });
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) return false;
    throw error;
  }
}

/** Runs `fn` on each item while the next one is already being fetched: reading and writing overlap. */
async function forEachPrefetched<T>(items: AsyncGenerator<T>, fn: (item: T) => Promise<void>): Promise<void> {
  let pending = items.next();
  try {
    for (;;) {
      const result = await pending;
      if (result.done) return;
      pending = items.next();
      // Observed by the next loop turn; without this a fetch failing while `fn` fails too would go unhandled.
      pending.catch(() => undefined);
      await fn(result.value);
    }
  } finally {
    await items.return(undefined).catch(() => undefined);
  }
}
