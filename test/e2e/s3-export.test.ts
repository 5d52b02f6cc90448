import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { listRuns } from '../../src/db/runs';
import { createBatchExport, TemporalUnavailableError } from '../../src/service/batch-exports';
import type { BatchExportWorkflowResult } from '../../src/temporal/contracts';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { createBucket, getObject, listKeys, readJsonLinesGz, testS3Destination } from '../helpers/s3';
import { intervalInput } from '../helpers/s3-exports';
import { useTeamAndS3, useTestStack } from '../helpers/stack';

describe('s3-export workflow', () => {
  const stack = useTestStack();
  let s3: S3Client;
  let teamId: number;
  useTeamAndS3(stack, (made) => ({ s3, teamId } = made));

  const s3Destination = (bucket: string, extra: Record<string, unknown> = {}) =>
    testS3Destination(stack.s3Endpoint, bucket, extra);

  async function runInterval(batchExportId: string, dataIntervalEnd: string): Promise<BatchExportWorkflowResult> {
    return stack.temporal.workflow.execute('s3-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `${batchExportId}-${dataIntervalEnd}`,
      args: [intervalInput(batchExportId, teamId, dataIntervalEnd)],
    });
  }

  async function waitForRun(batchExportId: string) {
    for (let attempt = 0; attempt < 300; attempt++) {
      const [run] = await listRuns(stack.db.pool, batchExportId);
      if (run && !['Starting', 'Running'].includes(run.status)) return run;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`No finished run of ${batchExportId} after 30 s`);
  }

  it('exports exactly the events inserted in the interval, as gzipped JSON lines, and records the run', async () => {
    const bucket = await createBucket(s3);
    const other = await createTeam(stack.db.pool, 'Another project');
    const special = makeEvent(teamId, '2024-05-01T10:59:59.999999Z', {
      event: 'signed up ✓',
      properties: JSON.stringify({
        name: 'Zoë 日本語',
        nul: 'before\u0000after',
        emoji: '🦔🚀',
        $set: { plan: 'pro' },
        $set_once: { first_seen: '2024-05-01' },
      }),
      distinct_id: 'user-🦔',
      elements_chain: 'button.signup:text="Go"',
    });
    const first = makeEvent(teamId, '2024-05-01T10:00:00Z');
    const middle = makeEvent(teamId, '2024-05-01T10:30:00.123456Z');
    // The platform may ingest an event twice: it is exported once.
    const duplicate = { ...middle, inserted_at: '2024-05-01T10:45:00Z' };
    const outside = [
      makeEvent(teamId, '2024-05-01T11:00:00Z'),
      makeEvent(teamId, '2024-05-01T09:59:59.999999Z'),
      makeEvent(other.teamId, '2024-05-01T10:30:00Z'),
    ];
    await insertEvents(stack.db.pool, [first, middle, duplicate, special, ...outside]);

    const batchExport = await createBatchExport(stack.services, teamId, {
      name: 'events to s3',
      destination: s3Destination(bucket, { prefix: 'exports/{table}/{year}-{month}-{day}', compression: 'gzip' }),
      interval: 'hour',
    });
    const result = await runInterval(batchExport.id, '2024-05-01T11:00:00Z');

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: 3 });
    const dataKey = 'exports/events/2024-05-01/2024-05-01T10:00:00Z-2024-05-01T11:00:00Z.jsonl.gz';
    const manifestKey = 'exports/events/2024-05-01/2024-05-01T10:00:00Z-2024-05-01T11:00:00Z_manifest.json';
    expect(await listKeys(s3, bucket)).toEqual([dataKey, manifestKey]);

    const rows = await readJsonLinesGz(s3, bucket, dataKey);
    expect(rows.map((row) => row.uuid)).toEqual([first.uuid, middle.uuid, special.uuid]);
    const exported = rows[2]!;
    expect(exported).toEqual({
      uuid: special.uuid,
      event: 'signed up ✓',
      properties: JSON.parse(special.properties),
      distinct_id: 'user-🦔',
      team_id: teamId,
      timestamp: '2024-05-01T10:59:59.999999+00:00',
      created_at: '2024-05-01T10:59:59.999999+00:00',
      inserted_at: '2024-05-01T10:59:59.999999+00:00',
      elements_chain: 'button.signup:text="Go"',
      person_id: special.person_id,
      person_properties: { email: 'someone@example.com' },
      set: { plan: 'pro' },
      set_once: { first_seen: '2024-05-01' },
    });
    expect((exported.properties as Record<string, string>).nul).toBe('before\u0000after');
    expect(rows[0]!.set).toBeNull();

    const manifest = JSON.parse((await getObject(s3, bucket, manifestKey)).toString('utf8'));
    const objectSize = (await getObject(s3, bucket, dataKey)).length;
    expect(manifest).toMatchObject({ records: 3, files: [{ key: dataKey, records: 3, bytes: objectSize }] });

    const [run] = await listRuns(stack.db.pool, batchExport.id);
    expect(run).toMatchObject({
      status: 'Completed',
      records_completed: 3,
      bytes_exported: objectSize,
      latest_error: null,
      data_interval_start: new Date('2024-05-01T10:00:00Z'),
      data_interval_end: new Date('2024-05-01T11:00:00Z'),
      workflow_id: `${batchExport.id}-2024-05-01T11:00:00Z`,
    });
    expect(run!.finished_at).toBeInstanceOf(Date);
  });

  it('takes the interval from the schedule when the schedule fires', async () => {
    const bucket = await createBucket(s3);
    const recent = makeEvent(teamId, new Date(Date.now() - 5 * 60_000).toISOString());
    await insertEvents(stack.db.pool, [recent]);
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: 'triggered',
      destination: s3Destination(bucket),
      interval: 'hour',
    });

    await stack.temporal.schedule.getHandle(batchExport.id).trigger();
    const run = await waitForRun(batchExport.id);

    // The schedule names the workflow after its nominal time; the interval ends exactly there.
    const nominal = run.workflow_id.slice(batchExport.id.length + 1);
    expect(run.data_interval_end).toEqual(new Date(nominal));
    expect(run.data_interval_start).toEqual(new Date(new Date(nominal).getTime() - 3_600_000));
    expect(run).toMatchObject({ status: 'Completed', records_completed: 1 });
    const keys = await listKeys(s3, bucket);
    const dataKeys = keys.filter((key) => key.endsWith('.jsonl'));
    expect(dataKeys).toHaveLength(1);
    const rows = (await getObject(s3, bucket, dataKeys[0]!)).toString('utf8').trim().split('\n');
    expect(rows.map((line) => JSON.parse(line).uuid)).toEqual([recent.uuid]);
  });

  it('completes an empty interval with zero records and only a manifest', async () => {
    const bucket = await createBucket(s3);
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: 'empty',
      destination: s3Destination(bucket),
    });
    const result = await runInterval(batchExport.id, '2020-01-01T01:00:00Z');

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: 0, bytesExported: 0 });
    expect(await listKeys(s3, bucket)).toEqual(['2020-01-01T00:00:00Z-2020-01-01T01:00:00Z_manifest.json']);
  });

  it('fails the run at once, naming the bucket, when the bucket does not exist', async () => {
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-06-01T10:15:00Z')]);
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: 'missing bucket',
      destination: s3Destination('no-such-bucket-anywhere'),
    });

    const error = await runInterval(batchExport.id, '2024-06-01T11:00:00Z').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(WorkflowFailedError);
    const [run] = await listRuns(stack.db.pool, batchExport.id);
    expect(run!.status).toBe('Failed');
    expect(run!.latest_error).toContain('no-such-bucket-anywhere');
    expect(run!.latest_error).toContain('does not exist');
    // Not retried: the insert activity ran exactly once.
    const history = await stack.temporal.workflow.getHandle(`${batchExport.id}-2024-06-01T11:00:00Z`).fetchHistory();
    const attempts = (history.events ?? [])
      .filter((event) => event.activityTaskStartedEventAttributes)
      .map((event) => event.activityTaskStartedEventAttributes!.attempt);
    expect(attempts).toEqual([1]); // the insert (recording the start and outcome are local activities)
    const { rows: logs } = await stack.db.pool.query(
      `SELECT level, message FROM batch_export_log_entries WHERE run_id = $1 AND level = 'ERROR'`,
      [run!.id],
    );
    expect(logs).toHaveLength(1);
    expect(logs[0].message).toContain('no-such-bucket-anywhere');
  });

  it('stores nothing when the schedule cannot be created', async () => {
    const unreachable = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const before = await stack.db.pool.query('SELECT count(*)::int AS n FROM batch_exports');

    await expect(
      createBatchExport({ ...stack.services, temporal: unreachable }, teamId, {
        name: 'no temporal',
        destination: s3Destination('some-bucket'),
      }),
    ).rejects.toBeInstanceOf(TemporalUnavailableError);

    const after = await stack.db.pool.query('SELECT count(*)::int AS n FROM batch_exports');
    expect(after.rows[0].n).toBe(before.rows[0].n);
    const destinations = await stack.db.pool.query(
      `SELECT count(*)::int AS n FROM batch_export_destinations d
       WHERE NOT EXISTS (SELECT 1 FROM batch_exports be WHERE be.destination_id = d.id)`,
    );
    expect(destinations.rows[0].n).toBe(0);
  });
});
