import { Pool, types } from 'pg';

// bigint columns (counts, team ids) come back as strings by default; every count we store fits in a double.
types.setTypeParser(types.builtins.INT8, (value) => Number(value));

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /** Told when a connection of the pool is lost (a failover, `pg_terminate_backend`); the process keeps running. */
  onConnectionError?: (error: Error) => void;
}

/**
 * A pool whose clients never crash the process when their connection dies. pg-pool listens for 'error' only on idle
 * clients; a checked-out one (a COPY in flight, a transaction) whose server goes away emits an 'error' nobody
 * listens to, and Node exits. Every client gets a listener for its whole life instead: the query in flight, or the
 * next one, fails with the error, and releasing the client drops it from the pool.
 */
export function createPool(connectionString: string, options: PoolOptions = {}): Pool {
  const pool = new Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'batch-exports',
  });
  const onError = options.onConnectionError ?? (() => undefined);
  pool.on('connect', (client) => client.on('error', onError));
  // An idle client that loses its connection is reported here too (and removed by the pool).
  pool.on('error', () => undefined);
  return pool;
}
