import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { listRuns } from '../../src/db/runs';
import { createBatchExport } from '../../src/service/batch-exports';
import type { BatchExportWorkflowInput } from '../../src/temporal/contracts';
import { createBucket, listKeys, readExportedObject, TEST_CREDENTIALS } from '../helpers/s3';
import {
  insertDistinctIds,
  insertPersons,
  insertSessions,
  makePerson,
  makeSession,
  mapping,
} from '../helpers/source-rows';
import { useTeamAndS3, useTestStack } from '../helpers/stack';

describe('persons and sessions to S3', () => {
  const stack = useTestStack();
  let s3: S3Client;
  let teamId: number;
  useTeamAndS3(stack, (made) => ({ s3, teamId } = made));

  /** Exports the hour ending at `end` of a new export of `model`; returns the rows of its one data file. */
  async function exportHour(
    model: string,
    end: string,
    format: { file_format: 'JSONLines' | 'Parquet'; compression: string | null },
  ) {
    const bucket = await createBucket(s3);
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: `${model} to s3`,
      model,
      destination: {
        type: 'S3',
        config: { bucket_name: bucket, endpoint_url: stack.s3Endpoint, ...TEST_CREDENTIALS, ...format },
      },
    });
    const input: BatchExportWorkflowInput = {
      batchExportId: batchExport.id,
      teamId,
      interval: 'hour',
      timezone: 'UTC',
      dataIntervalEnd: end,
    };
    await stack.temporal.workflow.execute('s3-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `${batchExport.id}-${end}`,
      args: [input],
    });
    const [run] = await listRuns(stack.db.pool, batchExport.id);
    const keys = (await listKeys(s3, bucket)).filter((key) => !key.endsWith('_manifest.json'));
    expect(keys).toHaveLength(1);
    const { rows, types } = await readExportedObject(s3, bucket, keys[0]!, format);
    return { run: run!, rows, types };
  }

  it('exports the persons changed in the interval, one row per distinct id with the latest versions', async () => {
    const person = makePerson(teamId, '2024-07-01T09:00:00Z', { properties: { plan: 'free' } });
    const unchanged = makePerson(teamId, '2024-07-01T09:00:00Z');
    await insertPersons(stack.db.pool, [
      person,
      { ...person, version: 4, properties: { plan: 'pro', seats: 3 }, inserted_at: '2024-07-01T10:30:00Z' },
      unchanged,
    ]);
    await insertDistinctIds(stack.db.pool, [
      mapping(teamId, 'anonymous-1', person.id, '2024-07-01T09:00:00Z'),
      mapping(teamId, 'user@example.com', person.id, '2024-07-01T10:59:59.999999Z', { version: 2 }),
      mapping(teamId, 'quiet', unchanged.id, '2024-07-01T09:00:00Z'),
    ]);

    const { run, rows } = await exportHour('persons', '2024-07-01T11:00:00Z', {
      file_format: 'JSONLines',
      compression: 'gzip',
    });

    expect(run).toMatchObject({ status: 'Completed', records_completed: 2 });
    const common = {
      team_id: teamId,
      person_id: person.id,
      properties: { plan: 'pro', seats: 3 },
      person_version: 4,
      created_at: '2024-01-01T00:00:00+00:00',
      is_deleted: false,
    };
    expect(rows).toEqual([
      {
        ...common,
        distinct_id: 'anonymous-1',
        person_distinct_id_version: 0,
        inserted_at: '2024-07-01T10:30:00+00:00',
      },
      {
        ...common,
        distinct_id: 'user@example.com',
        person_distinct_id_version: 2,
        inserted_at: '2024-07-01T10:59:59.999999+00:00',
      },
    ]);
  });

  it('exports each session updated in the interval once, as its latest row', async () => {
    const session = makeSession(teamId, '2024-07-02T10:10:00Z', {
      session_id: 'session-1',
      end_timestamp: '2024-07-02T10:10:00Z',
    });
    const latest = {
      ...session,
      end_timestamp: '2024-07-02T10:50:00Z',
      pageview_count: 12,
      duration: 3000.25,
      is_bounce: true,
      inserted_at: '2024-07-02T10:50:00Z',
    };
    await insertSessions(stack.db.pool, [
      session,
      latest,
      makeSession(teamId, '2024-07-02T11:00:00Z', { session_id: 'session-2' }),
    ]);

    const { run, rows } = await exportHour('sessions', '2024-07-02T11:00:00Z', {
      file_format: 'JSONLines',
      compression: null,
    });

    expect(run).toMatchObject({ status: 'Completed', records_completed: 1 });
    expect(rows).toEqual([
      {
        ...latest,
        team_id: teamId,
        start_timestamp: '2024-05-01T09:00:00+00:00',
        end_timestamp: '2024-07-02T10:50:00+00:00',
        inserted_at: '2024-07-02T10:50:00+00:00',
      },
    ]);
  });

  it('exports sessions as Parquet that pyarrow reads with typed columns', async () => {
    const session = makeSession(teamId, '2024-07-03T10:20:00Z', {
      session_id: 'session-p',
      duration: 12.5,
      utm_term: 'shoes',
    });
    await insertSessions(stack.db.pool, [session]);

    const { run, rows, types } = await exportHour('sessions', '2024-07-03T11:00:00Z', {
      file_format: 'Parquet',
      compression: 'zstd',
    });

    expect(run).toMatchObject({ status: 'Completed', records_completed: 1 });
    expect(rows).toEqual([
      {
        ...session,
        team_id: teamId,
        start_timestamp: '2024-05-01T09:00:00+00:00',
        end_timestamp: '2024-05-01T09:30:00+00:00',
        inserted_at: '2024-07-03T10:20:00+00:00',
      },
    ]);
    expect(types).toMatchObject({
      team_id: 'int64',
      pageview_count: 'int64',
      duration: 'double',
      is_bounce: 'bool',
      end_timestamp: 'timestamp[us, tz=UTC]',
    });
  });
});
