import { loadDatabaseUrl } from '../src/config';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { ensureDatabase } from '../src/db/ensure-database';

async function main(): Promise<void> {
  const databaseUrl = loadDatabaseUrl();
  await ensureDatabase(databaseUrl);
  const pool = createPool(databaseUrl, { max: 1, applicationName: 'batch-exports-migrate' });
  try {
    const applied = await migrate(pool);
    console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database is up to date');
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
