import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations, migrate, type Migration } from '../../src/db/migrate';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

describe('migrate', () => {
  let db: TestDatabase | undefined;

  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });

  it('creates the metadata and source tables, with an index serving interval queries', async () => {
    db = await createTestDatabase();
    const { rows: tables } = await db.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((row) => row.table_name)).toEqual(
      expect.arrayContaining([
        'organizations',
        'projects',
        'personal_api_keys',
        'batch_exports',
        'batch_export_destinations',
        'batch_export_runs',
        'batch_export_backfills',
        'batch_export_log_entries',
        'events',
        'persons',
        'person_distinct_ids',
        'sessions',
        'schema_migrations',
      ]),
    );
    await db.pool.query('SET enable_seqscan = off');
    const { rows: plan } = await db.pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT uuid FROM events WHERE team_id = 1 AND inserted_at >= now() - interval '1 hour' AND inserted_at < now()`,
    );
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain('events_team_inserted_at_uuid_idx');
  });

  it('applies nothing the second time', async () => {
    db = await createTestDatabase();
    expect(await migrate(db.pool)).toEqual([]);
    const { rows } = await db.pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((row) => row.version)).toEqual((await loadMigrations()).map((migration) => migration.version));
  });

  it('rolls a failing migration back whole and names it', async () => {
    db = await createTestDatabase();
    const broken: Migration[] = [
      { version: 9001, name: 'half_done', sql: 'CREATE TABLE half_done (id int); SELECT * FROM no_such_table;' },
    ];
    await expect(migrate(db.pool, broken)).rejects.toThrow(/Migration 9001_half_done failed: .*no_such_table/);
    const { rowCount } = await db.pool.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'`);
    expect(rowCount).toBe(0);
    const applied = await db.pool.query('SELECT 1 FROM schema_migrations WHERE version = 9001');
    expect(applied.rowCount).toBe(0);
  });

  it('applies a migration once when several processes migrate at the same time', async () => {
    db = await createTestDatabase();
    const once: Migration[] = [{ version: 9002, name: 'counter', sql: 'CREATE TABLE counter (id int)' }];
    const results = await Promise.all([migrate(db.pool, once), migrate(db.pool, once), migrate(db.pool, once)]);
    expect(results.flat()).toEqual([9002]);
  });
});
