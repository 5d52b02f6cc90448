import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BUCKET } from '../../src/dev/demo';
import { waitForPort } from '../../src/dev/ports';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { listKeys, readJsonLinesGz, testS3Client } from '../helpers/s3';
import { markedShellBlocks } from './readme-blocks';
import { copyCheckout, devEnv, freeDevPorts, groupAlive, startDev, type DevPorts, type DevProcess } from './dev-stack';

const run = promisify(execFile);
const BANNER_END = 'Press Ctrl-C to stop.';
/** The promise of `npm run dev`: files in the bucket within a minute of the banner. */
const FIRST_FILE_WITHIN_MS = 60_000;

/** Which of the stack's ports something still listens on. */
async function listening(ports: DevPorts): Promise<number[]> {
  const open: number[] = [];
  for (const port of Object.values(ports)) {
    if (
      await waitForPort(port, '127.0.0.1', 0).then(
        () => true,
        () => false,
      )
    )
      open.push(port);
  }
  return open;
}

describe('npm run dev: a live demo out of the box, in a copy of the checkout', () => {
  let checkout: Awaited<ReturnType<typeof copyCheckout>>;
  let database: TestDatabase;
  /** Where the events are: SOURCE_DATABASE_URL, apart from the metadata database, as a user's own data would be. */
  let source: TestDatabase;
  let ports: DevPorts;
  let dev: DevProcess;
  let access: { key: string; projectId: number; apiUrl: string };
  /** A minute after the banner: files and a Completed run must be there by then. */
  let firstFileDeadline: number;

  beforeAll(async () => {
    [checkout, database, source, ports] = await Promise.all([
      copyCheckout(),
      createTestDatabase(),
      createTestDatabase(),
      freeDevPorts(),
    ]);
    dev = startDev(checkout.directory, devEnv(ports, database.url, source.url));
    await dev.waitFor(BANNER_END, 110_000);
    firstFileDeadline = Date.now() + FIRST_FILE_WITHIN_MS;
    access = JSON.parse(await readFile(path.join(checkout.directory, '.data/dev-api.json'), 'utf8'));
  }, 120_000);

  afterAll(async () => {
    dev?.kill();
    await database?.drop();
    await source?.drop();
    await checkout?.remove();
  });

  const api = async (pathname: string) => {
    const response = await fetch(`${access.apiUrl}/api/projects/${access.projectId}${pathname}`, {
      headers: { authorization: `Bearer ${access.key}` },
    });
    expect(response.status).toBe(200);
    return response.json() as Promise<{ results: Record<string, unknown>[] }>;
  };

  const cli = (...args: string[]) =>
    run('npx', ['tsx', 'scripts/cli.ts', ...args], {
      cwd: checkout.directory,
      // moto takes any keys; `exports create` sends these for an S3 destination.
      env: {
        ...devEnv(ports, database.url, source.url),
        AWS_ACCESS_KEY_ID: 'cli',
        AWS_SECRET_ACCESS_KEY: 'cli-secret',
      },
    }).then(
      (result) => ({ ...result, code: 0 }),
      (error: { stdout: string; stderr: string; code: number }) => error,
    );

  it('prints where to look: the Web UI, the key as a shell variable, the commands for the files', () => {
    const banner = dev.output();
    expect(banner).toContain(`http://127.0.0.1:${ports.temporalUi}/namespaces/default/workflows`);
    expect(banner).toContain(`export KEY=${access.key}`);
    expect(banner).toMatch(/npm run cli -- files \S+ --interval latest --print/);
  });

  it('writes files to the local bucket within a minute of the banner, holding the seeded events of their interval', async () => {
    const s3 = testS3Client(`http://127.0.0.1:${ports.s3}`);
    let files: string[] = [];
    while (Date.now() < firstFileDeadline) {
      files = (await listKeys(s3, DEMO_BUCKET)).filter((key) => key.endsWith('.jsonl.gz'));
      if (files.length) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(files.length).toBeGreaterThan(0);

    const file = files[0]!;
    const [, start, end] = /(\d{4}-\d\d-\d\dT[\d:]+Z)-(\d{4}-\d\d-\d\dT[\d:]+Z)\.jsonl\.gz$/.exec(file)!;
    const rows = await readJsonLinesGz(s3, DEMO_BUCKET, file);
    expect(rows.length).toBeGreaterThan(0);
    const { rows: seeded } = await source.pool.query<{ uuid: string; event: string; distinct_id: string }>(
      `SELECT DISTINCT ON (uuid) uuid::text, event, distinct_id FROM events
       WHERE team_id = $1 AND inserted_at >= $2 AND inserted_at < $3 ORDER BY uuid`,
      [access.projectId, start, end],
    );
    const exported = rows
      .map((row) => ({ uuid: row.uuid, event: row.event, distinct_id: row.distinct_id }))
      .sort((a, b) => String(a.uuid).localeCompare(String(b.uuid)));
    expect(exported).toEqual(seeded);
    // SOURCE_DATABASE_URL is where the demo writes and the worker reads; the metadata database has no events.
    const { rows: metadataEvents } = await database.pool.query('SELECT 1 FROM events LIMIT 1');
    expect(metadataEvents).toEqual([]);
    s3.destroy();
  });

  it('shows a Completed run of the demo export through the API within a minute of the banner', async () => {
    const exports = await api('/batch_exports');
    const demo = exports.results.find((candidate) => candidate.name === 'Demo: events to local S3')!;
    expect(demo).toBeDefined();
    // The run is recorded Completed just after its files are written.
    let completed = 0;
    while (Date.now() < firstFileDeadline) {
      completed = (await api(`/batch_exports/${demo.id}/runs?status=Completed`)).results.length;
      if (completed) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(completed).toBeGreaterThan(0);
  });

  it('follows a backfill from the CLI to its end: exit code 0 and a final line saying Completed', async () => {
    const created = await cli(
      'exports',
      'create',
      '--name',
      'cli backfill',
      '--interval',
      'every 5 minutes',
      '--bucket',
      DEMO_BUCKET,
      '--prefix',
      'cli',
      '--endpoint-url',
      `http://127.0.0.1:${ports.s3}`,
      '--compression',
      'gzip',
    );
    expect(created.stderr).toBe('');
    // The hour the demo seeded: twelve 5-minute intervals, every one with events.
    const end = new Date(Math.floor(Date.now() / 300_000) * 300_000);
    const start = new Date(end.getTime() - 3600_000);
    const result = await cli(
      'backfill',
      'cli backfill',
      '--start',
      start.toISOString(),
      '--end',
      end.toISOString(),
      '--follow',
    );
    expect(result.code, result.stderr).toBe(0);
    const finalLine = result.stdout.trim().split('\n').at(-1)!;
    const { rows } = await source.pool.query<{ count: number }>(
      `SELECT count(DISTINCT uuid)::int AS count FROM events WHERE team_id = $1 AND inserted_at >= $2 AND inserted_at < $3`,
      [access.projectId, start, end],
    );
    expect(finalLine).toMatch(new RegExp(`^Backfill \\S+ Completed: 12 of 12 intervals, ${rows[0]!.count} rows$`));
  });

  it('exits 1 from a followed backfill that fails, with the reason on its final line', async () => {
    const created = await cli(
      'exports',
      'create',
      '--name',
      'no such bucket',
      '--interval',
      'every 5 minutes',
      '--bucket',
      'no-such-bucket',
      '--endpoint-url',
      `http://127.0.0.1:${ports.s3}`,
    );
    expect(created.stdout, created.stderr).toMatch(/^Created export \S+ \(no such bucket\)/);
    const end = new Date(Math.floor(Date.now() / 300_000) * 300_000);
    const result = await cli(
      'backfill',
      'no such bucket',
      '--start',
      new Date(end.getTime() - 300_000).toISOString(),
      '--end',
      end.toISOString(),
      '--follow',
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout.trim().split('\n').at(-1)).toMatch(/^Backfill \S+ Failed: .*bucket does not exist/);
  });

  it('follows the logs of an export from the CLI: new entries appear as they are written', async () => {
    const follower = spawn('npx', ['tsx', 'scripts/cli.ts', 'logs', 'cli backfill', '--follow'], {
      cwd: checkout.directory,
      env: devEnv(ports, database.url, source.url),
      // A group of its own, so that npx, tsx and node all stop at the end.
      detached: true,
    });
    let output = '';
    follower.stdout.on('data', (data: Buffer) => (output += data.toString()));
    const backfillsLogged = () => output.match(/Backfill from .* completed/g)?.length ?? 0;
    const until = async (done: () => boolean) => {
      for (let waited = 0; !done(); waited += 250) {
        if (waited > 60_000) throw new Error(`logs --follow printed:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    try {
      // The backfill of the earlier test, already in the log.
      await until(() => backfillsLogged() === 1);
      const exports = await api('/batch_exports');
      const exportId = exports.results.find((candidate) => candidate.name === 'cli backfill')!.id;
      const end = new Date(Math.floor(Date.now() / 300_000) * 300_000);
      const created = await fetch(
        `${access.apiUrl}/api/projects/${access.projectId}/batch_exports/${exportId}/backfills`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${access.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            start_at: new Date(end.getTime() - 600_000).toISOString(),
            end_at: end.toISOString(),
          }),
        },
      );
      expect(created.status).toBe(201);
      await until(() => backfillsLogged() === 2);
      expect(follower.exitCode).toBeNull();
    } finally {
      process.kill(-follower.pid!, 'SIGTERM');
    }
  });

  it('creates an export from a JSON file, shows it and deletes it from the CLI', async () => {
    const file = path.join(checkout.directory, '.data/export.json');
    const body = {
      name: 'from a file',
      model: 'sessions',
      interval: 'hour',
      destination: {
        type: 'S3',
        config: {
          bucket_name: DEMO_BUCKET,
          region: 'us-east-1',
          prefix: 'sessions',
          endpoint_url: `http://127.0.0.1:${ports.s3}`,
          aws_access_key_id: 'file',
          aws_secret_access_key: 'file-secret',
        },
      },
    };
    await writeFile(file, JSON.stringify(body));
    const created = await cli('exports', 'create', '--file', file);
    expect(created.stdout, created.stderr).toMatch(/^Created export (\S+) \(from a file\)/);
    const shown = await cli('exports', 'show', 'from a file');
    expect(shown.stdout).toContain('Model:        sessions, every hour');
    expect(shown.stdout).not.toContain('file-secret');
    expect((await cli('exports', 'delete', 'from a file')).stdout).toMatch(/^Deleted export \S+ \(from a file\)/);
    const gone = await cli('exports', 'show', 'from a file');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('No export with the id or name "from a file"');
  });

  it('runs every command of the README marked for it against this stack', async () => {
    const blocks = await markedShellBlocks(path.join(checkout.directory, 'README.md'));
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    const outputs: string[] = [];
    for (const block of blocks) {
      // The README speaks of the default port and database (the source of events too); this stack has its own.
      const script = block
        .replaceAll('http://127.0.0.1:8000', access.apiUrl)
        .replaceAll('postgres://postgres@127.0.0.1:5432/batch_exports', source.url);
      const result = await run('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: checkout.directory,
        env: devEnv(ports, database.url, source.url),
      }).catch((error: { stdout: string; stderr: string }) => {
        throw new Error(`README block failed:\n${script}\n${error.stdout}\n${error.stderr}`);
      });
      outputs.push(result.stdout);
    }
    // What the newcomer is promised to see: the demo export, its files' rows, a backfill that Completed.
    const all = outputs.join('\n');
    expect(all).toContain('"name":"Demo: events to local S3"');
    expect(all).toMatch(/"event"\s*:\s*"\$pageview"/);
    expect(all).toMatch(/^Backfill \S+ Completed: \d+ of \d+ intervals/m);
  });

  it('stops everything on Ctrl-C with "Worker stopped"', async () => {
    expect(await dev.interrupt()).toEqual({ code: null, signal: 'SIGINT' });
    expect(dev.output()).toContain('Worker stopped');
    expect(dev.output()).not.toMatch(/Stopping the .* failed/);
    expect(await groupAlive(dev.pid)).toBe(false);
    // The Temporal server and moto run in process groups of their own: stopped, nothing answers on their ports.
    expect(await listening(ports)).toEqual([]);
  });
});

describe('npm run dev: Ctrl-C', () => {
  it('ends with "Worker stopped" and no process left, every time, also while a backfill is running', async () => {
    const checkout = await copyCheckout();
    const database = await createTestDatabase();
    try {
      // Started again in the same checkout, as a user does: the second start replaces the first's demo export. The
      // local S3 keeps its port across starts, as DEV_S3_PORT's default does for a user: an attempt of the first
      // start's export that the next start's worker picks up still reaches an S3.
      const s3Port = (await freeDevPorts()).s3;
      for (const args of [[], [], ['--no-demo']]) {
        const ports = { ...(await freeDevPorts()), s3: s3Port };
        const dev = startDev(checkout.directory, devEnv(ports, database.url), args);
        try {
          await dev.waitFor(BANNER_END, 110_000);
          // With the demo, Ctrl-C comes while its backfill runs: workflow tasks and activities are in flight.
          expect(dev.output()).toContain(args.length ? 'No demo (--no-demo)' : 'is being backfilled now');
          expect(await dev.interrupt()).toEqual({ code: null, signal: 'SIGINT' });
          const stopping = dev.output().slice(dev.output().indexOf('Stopping ...'));
          expect(stopping).toContain('Worker stopped');
          expect(stopping).not.toMatch(/Stopping the .* failed/);
          // The Temporal server outlives the worker: no task completion is retried against a server already gone.
          expect(stopping).not.toContain('Connection refused');
          // ... and moto outlives it too: no upload in flight fails against a local S3 already gone. (A --no-demo
          // start runs no local S3 at all: a run of the earlier start's demo export that its worker picks up cannot
          // reach one, whenever it is tried, so this holds only where the demo's S3 runs.)
          if (!args.length) expect(stopping).not.toContain('ECONNREFUSED');
          expect(await groupAlive(dev.pid)).toBe(false);
          expect(await listening(ports)).toEqual([]);
        } finally {
          dev.kill();
        }
      }

      // Half-way through starting (the worker bundling its workflows), Ctrl-C stops what has started.
      const ports = await freeDevPorts();
      const dev = startDev(checkout.directory, devEnv(ports, database.url));
      try {
        await dev.waitFor('Database is up to date', 110_000);
        expect(await dev.interrupt()).toEqual({ code: null, signal: 'SIGINT' });
        expect(dev.output()).not.toMatch(/Stopping the .* failed/);
        expect(await groupAlive(dev.pid)).toBe(false);
        expect(await listening(ports)).toEqual([]);
      } finally {
        dev.kill();
      }
    } finally {
      await database.drop();
      await checkout.remove();
    }
  }, 400_000);
});
