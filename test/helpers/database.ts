import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier, type Pool } from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { ensureDatabase } from '../../src/db/ensure-database';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';

/** The server tests create their databases on; TEST_DATABASE_URL overrides it. */
const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file; `drop` removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `batch_exports_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  await ensureDatabase(url.toString());
  const pool = createPool(url.toString(), { max: 10, applicationName: 'batch-exports-test' });
  await migrate(pool);
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      const admin = new Client({ connectionString: SERVER_URL });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/**
 * The database of one test file (see createTestDatabase), created before its tests and its own beforeAll hooks and
 * dropped after them and its own afterAll hooks. The returned object is empty until then.
 */
export function useTestDatabase(): TestDatabase {
  const db = {} as TestDatabase;
  beforeAll(async () => {
    Object.assign(db, await createTestDatabase());
  });
  afterAll(async () => {
    await db.drop?.();
  });
  return db;
}
