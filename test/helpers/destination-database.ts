import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier, Pool } from 'pg';

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface DestinationDatabase {
  /** Config fields of a Postgres destination pointing at it. */
  connection: { host: string; port: number; user: string; password: string; database: string };
  pool: Pool;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** An empty database on the test server, standing for a user's warehouse. */
export async function createDestinationDatabase(): Promise<DestinationDatabase> {
  const name = `batch_exports_destination_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${escapeIdentifier(name)}`));
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  // UTC, so that timestamps read back as text compare with the source's.
  const pool = new Pool({ connectionString: url.toString(), max: 3, options: '-c TimeZone=UTC' });
  // DROP ... WITH (FORCE) may terminate a connection the pool is still closing; that is expected, not a failure.
  pool.on('error', () => undefined);
  return {
    connection: {
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username || 'postgres'),
      password: decodeURIComponent(url.password),
      database: name,
    },
    pool,
    async drop() {
      await pool.end();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`));
    },
  };
}

/** A login role without privileges (server-wide; `drop` removes it). */
export async function createUnprivilegedRole(): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = `batch_exports_reader_${randomBytes(4).toString('hex')}`;
  await admin((client) => client.query(`CREATE ROLE ${escapeIdentifier(name)} LOGIN`));
  return {
    name,
    drop: () => admin((client) => client.query(`DROP ROLE IF EXISTS ${escapeIdentifier(name)}`)).then(() => undefined),
  };
}
