import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApiTest } from './helpers';

describe('logs API, and a scheduled run seen through the API', () => {
  const api = useApiTest({ worker: true });
  let base: string;
  let exportId: string;
  const runA = randomUUID();
  const backfillB = randomUUID();

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
    exportId = (await api.call('POST', base, { body: { name: 'logs', destination: await api.s3Destination() } })).body
      .id;
    const entries: Array<[string, string | null, string | null, string, string]> = [
      ['2024-05-01T10:00:00Z', runA, null, 'INFO', 'Run started'],
      ['2024-05-01T10:05:00Z', runA, null, 'WARNING', 'Retrying the export (attempt 2)'],
      ['2024-05-01T10:10:00Z', runA, null, 'ERROR', 'Bucket does not exist: 100% sure_of_it'],
      ['2024-05-01T11:00:00Z', null, backfillB, 'INFO', 'Backfill started'],
      ['2024-05-01T12:00:00Z', null, null, 'DEBUG', 'Debugging detail'],
    ];
    for (const [timestamp, runId, backfillId, level, message] of entries) {
      await api.stack.db.pool.query(
        `INSERT INTO batch_export_log_entries (team_id, batch_export_id, run_id, backfill_id, timestamp, level, message)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [api.teamId, exportId, runId, backfillId, timestamp, level, message],
      );
    }
  });

  const messages = async (query: string) => {
    const response = await api.call('GET', `${base}/${exportId}/logs${query}`);
    expect(response.status, response.text).toBe(200);
    return response.body.results.map((entry: { message: string }) => entry.message);
  };

  it('returns the entries newest first', async () => {
    expect(await messages('')).toEqual([
      'Debugging detail',
      'Backfill started',
      'Bucket does not exist: 100% sure_of_it',
      'Retrying the export (attempt 2)',
      'Run started',
    ]);
  });

  it('filters by level, search, instance, time and limit', async () => {
    expect(await messages('?level=ERROR,WARNING')).toEqual([
      'Bucket does not exist: 100% sure_of_it',
      'Retrying the export (attempt 2)',
    ]);
    expect(await messages('?search=bucket')).toEqual(['Bucket does not exist: 100% sure_of_it']);
    // Wildcards are text: "%" matches a percent sign only.
    expect(await messages(`?search=${encodeURIComponent('100%')}`)).toEqual(['Bucket does not exist: 100% sure_of_it']);
    expect(await messages(`?search=${encodeURIComponent('t_e')}`)).toEqual([]);
    expect(await messages(`?instance_id=${backfillB}`)).toEqual(['Backfill started']);
    expect(await messages(`?instance_id=${runA}&limit=1`)).toEqual(['Bucket does not exist: 100% sure_of_it']);
    expect(await messages('?after=2024-05-01T10:00:00Z&before=2024-05-01T11:00:00Z')).toEqual([
      'Bucket does not exist: 100% sure_of_it',
      'Retrying the export (attempt 2)',
    ]);
  });

  it('rejects a bad level and a limit over 500', async () => {
    for (const [query, attr] of [
      ['level=LOUD', 'level.0'],
      ['limit=501', 'limit'],
      ['instance_id=123', 'instance_id'],
    ]) {
      const response = await api.call('GET', `${base}/${exportId}/logs?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.attr).toBe(attr);
    }
  });

  it('shows a run the schedule started, in latest_runs, runs and logs', async () => {
    const created = await api.call('POST', base, {
      body: { name: 'scheduled', destination: await api.s3Destination() },
    });
    const id = created.body.id;
    await api.stack.temporal.schedule.getHandle(id).trigger();

    let run: { id: string; status: string } | undefined;
    for (let attempt = 0; attempt < 120 && run?.status !== 'Completed'; attempt++) {
      run = (await api.call('GET', `${base}/${id}/runs`)).body.results[0];
      if (run?.status !== 'Completed') await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(run).toMatchObject({ status: 'Completed' });
    const retrieved = await api.call('GET', `${base}/${id}`);
    expect(retrieved.body.latest_runs.map((r: { id: string }) => r.id)).toEqual([run!.id]);
    expect(retrieved.body.latest_runs[0].records_completed).toBe(0);
    const logs = await api.call('GET', `${base}/${id}/runs/${run!.id}/logs?level=INFO`);
    expect(logs.body.results.some((entry: { message: string }) => /completed/.test(entry.message))).toBe(true);
  });
});
