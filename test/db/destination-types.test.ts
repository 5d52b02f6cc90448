import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

/** Adding a destination is a folder and a registry line: the database does not list the types again. */
describe('destination types in Postgres', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('stores a destination of a type the migrations never heard of', async () => {
    const { rows } = await db.pool.query<{ type: string }>(
      `INSERT INTO batch_export_destinations (type) VALUES ('SomeNewWarehouse') RETURNING type`,
    );
    expect(rows).toEqual([{ type: 'SomeNewWarehouse' }]);
  });
});
