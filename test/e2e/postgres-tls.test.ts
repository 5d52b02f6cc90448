import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { createDestinationDatabase, type DestinationDatabase } from '../helpers/destination-database';
import { createPostgresExport, runPostgresInterval } from '../helpers/postgres-exports';
import { useTestStack } from '../helpers/stack';
import { selfSignedCertificate, startTlsPostgresProxy } from '../helpers/tls-proxy';

describe('postgres-export over TLS', () => {
  const stack = useTestStack();
  let destination: DestinationDatabase;
  let proxy: Awaited<ReturnType<typeof startTlsPostgresProxy>>;
  let teamId: number;

  beforeAll(async () => {
    destination = await createDestinationDatabase();
    proxy = await startTlsPostgresProxy(destination.connection, await selfSignedCertificate());
    ({ teamId } = await createTeam(stack.db.pool));
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-08-01T10:30:00Z')]);
  });

  afterAll(async () => {
    await proxy?.close();
    await destination?.drop();
  });

  it('exports to a server with a self-signed certificate when has_self_signed_cert is set', async () => {
    const batchExport = await createPostgresExport(stack, teamId, destination, {
      config: { port: proxy.port, has_self_signed_cert: true },
    });

    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, '2024-08-01T11:00:00Z');

    expect(run).toMatchObject({ status: 'Completed', records_completed: 1 });
    const { rows } = await destination.pool.query('SELECT count(*)::int AS n FROM exported');
    expect(rows[0].n).toBe(1);
  });

  it('dials the address it checked but names the host to TLS (SNI), so certificates are verified for it', async () => {
    const batchExport = await createPostgresExport(stack, teamId, destination, {
      table_name: 'by_name',
      config: { host: 'localhost', port: proxy.port, has_self_signed_cert: true },
    });
    const before = proxy.serverNames().length;

    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, '2024-08-01T11:00:00Z');

    expect(run).toMatchObject({ status: 'Completed', records_completed: 1 });
    expect(proxy.serverNames().slice(before)).toEqual(['localhost']);
  });

  it('refuses the untrusted certificate otherwise, telling to set has_self_signed_cert', async () => {
    const batchExport = await createPostgresExport(stack, teamId, destination, {
      table_name: 'never_written',
      config: { port: proxy.port },
    });

    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, '2024-08-01T11:00:00Z');

    expect(run.status).toBe('Failed');
    expect(run.latest_error).toContain("The server's TLS certificate is not trusted");
    expect(run.latest_error).toContain('set has_self_signed_cert if it is self-signed');
  });
});
