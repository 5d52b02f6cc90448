import { Pool, types } from 'pg';

// bigint columns (counts, team ids) come back as strings by default; every count we store fits in a double.
types.setTypeParser(types.builtins.INT8, (value) => Number(value));

export function createPool(connectionString: string, options: { max?: number; applicationName?: string } = {}): Pool {
  const pool = new Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'batch-exports',
  });
  // An idle client that loses its connection emits here; without a listener the process would crash.
  pool.on('error', () => undefined);
  return pool;
}
