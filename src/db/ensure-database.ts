import { Client, escapeIdentifier } from 'pg';

/** Creates the database named in `connectionString` if it does not exist yet (for first runs and tests). */
export async function ensureDatabase(connectionString: string): Promise<void> {
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) return;
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${escapeIdentifier(name)}`).catch((error: { code?: string }) => {
        // 42P04: another process created it between our check and our CREATE.
        if (error.code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}
