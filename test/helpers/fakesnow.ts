import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../../src/dev/executables';
import { waitForChildServer } from '../../src/dev/child-server';
import { freePort } from '../../src/dev/ports';

const execFileAsync = promisify(execFile);

export interface FakesnowServer {
  port: number;
  /** The Snowflake destination config fields that point the driver at this server. */
  endpoint: { account: string; host: string; port: number; protocol: 'http' };
  /** Runs statements through the server with Snowflake's Python connector; the last one's rows. */
  query(database: string, schema: string, ...statements: string[]): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

/**
 * The Python that has fakesnow: the interpreter of the `fakesnow` script that `pip install 'fakesnow[server]'`
 * put next to moto_server (found the same way, or FAKESNOW_PATH).
 */
function fakesnowPython(): string {
  const script = findExecutable('fakesnow', 'FAKESNOW_PATH');
  if (!script) throw new Error('fakesnow not found: pip install -r requirements-dev.txt (or set FAKESNOW_PATH)');
  const shebang = /^#!(\S+)/.exec(readFileSync(script, 'utf8').split('\n', 1)[0] ?? '');
  // pyenv's shim is a shell script: its python3 is the one that has the packages.
  return shebang && !shebang[1]!.endsWith('/bash') && !shebang[1]!.endsWith('/sh') && !shebang[1]!.includes('env')
    ? shebang[1]!
    : 'python3';
}

/**
 * Starts fakesnow's Snowflake REST server (an in-memory DuckDB) on a free local port, through
 * test/helpers/fakesnow_server.py (which answers the Node driver in the JSON result format, see there), and creates
 * `databases` with a schema `schema` in each.
 */
export async function startFakesnow(databases: { database: string; schema: string }[] = []): Promise<FakesnowServer> {
  const python = fakesnowPython();
  const port = await freePort();
  const child: ChildProcess = spawn(python, [path.join(__dirname, 'fakesnow_server.py'), '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await waitForChildServer(child, port, 'fakesnow');
  const query = async (database: string, schema: string, ...statements: string[]) => {
    const script = path.join(__dirname, 'snowflake_query.py');
    const { stdout } = await execFileAsync(python, [script, String(port), database, schema, ...statements], {
      maxBuffer: 256 * 1024 * 1024,
    });
    return JSON.parse(stdout) as Record<string, unknown>[];
  };
  for (const { database, schema } of databases) {
    await query(
      database,
      schema,
      `CREATE DATABASE IF NOT EXISTS "${database}"`,
      `CREATE SCHEMA IF NOT EXISTS "${database}"."${schema}"`,
    );
  }
  return {
    port,
    endpoint: { account: 'fakesnow', host: '127.0.0.1', port, protocol: 'http' },
    query,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
