import { beforeAll, describe, expect, it } from 'vitest';
import { useApiTest } from '../api/helpers';
import { insertEvents, makeEvent } from '../helpers/fixtures';
import { verifyManifest } from '../helpers/manifests';
import { intervalInput } from '../helpers/s3-exports';

const HOURS = ['2024-10-01T11:00:00Z', '2024-10-01T12:00:00Z', '2024-10-01T14:00:00Z'];

describe('completeness receipts and freshness', () => {
  const api = useApiTest({ worker: true });

  beforeAll(async () => {
    const kept = makeEvent(api.teamId, '2024-10-01T10:10:00Z');
    await insertEvents(api.stack.db.pool, [
      kept,
      // The same event inserted twice in the hour is one row; an excluded event is none.
      { ...kept, inserted_at: '2024-10-01T10:20:00Z' },
      makeEvent(api.teamId, '2024-10-01T10:30:00Z'),
      makeEvent(api.teamId, '2024-10-01T10:40:00Z', { event: 'excluded' }),
      makeEvent(api.teamId, '2024-10-01T11:30:00Z'),
      makeEvent(api.teamId, '2024-10-01T13:30:00Z'),
    ]);
  });

  it('returns the receipt on runs and a manifest pyarrow and hashlib verify; freshness stops at the first gap', async () => {
    const destination = await api.s3Destination({
      file_format: 'Parquet',
      compression: 'zstd',
      prefix: 'events/{year}/{month}/{day}',
      exclude_events: ['excluded'],
    });
    const batchExport = await api.createExport({ destination });
    const base = `/api/projects/${api.teamId}/batch_exports/${batchExport.id}`;
    // The hours ending 11:00 and 12:00, and 14:00 after a gap: the hour ending 13:00 was never exported.
    for (const end of HOURS) {
      await api.stack.temporal.workflow.execute('s3-export', {
        taskQueue: api.stack.config.temporal.taskQueue,
        workflowId: `${batchExport.id}-${end}`,
        args: [intervalInput(batchExport.id, api.teamId, end)],
      });
    }

    const runs = await api.call('GET', `${base}/runs?ordering=data_interval_end`);
    expect(runs.status).toBe(200);
    const first = runs.body.results[0];
    expect(first).toMatchObject({ status: 'Completed', records_completed: 2, records_total_count: 2 });
    const manifestKey = 'events/2024/10/01/2024-10-01T10:00:00Z-2024-10-01T11:00:00Z_manifest.json';
    expect(first.receipt).toMatchObject({
      source_records: 2,
      records_written: 2,
      bytes: first.bytes_exported,
      destination_records: null,
      manifest_key: manifestKey,
    });

    const verified = await verifyManifest(api.s3, destination.config.bucket_name as string, manifestKey);
    expect(verified.problems).toEqual([]);
    expect(verified.unchecked).toEqual([]);
    expect(verified.rows).toBe(2);
    expect(verified.manifest).toMatchObject({
      version: 2,
      model: 'events',
      data_interval_start: '2024-10-01T10:00:00.000Z',
      data_interval_end: '2024-10-01T11:00:00.000Z',
      file_format: 'Parquet',
      compression: 'zstd',
      records: 2,
      source_records: 2,
      bytes: first.bytes_exported,
    });
    expect(verified.manifest.files).toEqual(first.receipt.files);
    expect(verified.manifest.schema).toContainEqual({ name: 'uuid', type: 'uuid' });

    const secondsSince = (time: number) => (time - Date.parse('2024-10-01T12:00:00Z')) / 1000;
    const before = Date.now();
    const exported = await api.call('GET', base);
    const after = Date.now();
    expect(exported.body.freshness.exported_until).toBe('2024-10-01T12:00:00.000Z');
    expect(exported.body.freshness.lag_seconds).toBeGreaterThanOrEqual(Math.floor(secondsSince(before)));
    expect(exported.body.freshness.lag_seconds).toBeLessThanOrEqual(Math.ceil(secondsSince(after)));
  });

  it('documents skip_exported, the receipt and freshness in the OpenAPI document', async () => {
    const response = await api.call('GET', '/api/schema/', { key: null });
    expect(response.status).toBe(200);
    const paths = response.body.paths;
    const backfills = JSON.stringify(
      paths['/api/projects/{project_id}/batch_exports/{batch_export_id}/backfills'].post,
    );
    expect(backfills).toContain('"skip_exported"');
    const run = JSON.stringify(paths['/api/projects/{project_id}/batch_exports/{batch_export_id}/runs/{id}'].get);
    for (const field of ['"receipt"', '"sha256"', '"next_attempt_at"', '"records_total_count"']) {
      expect(run).toContain(field);
    }
    expect(JSON.stringify(paths['/api/projects/{project_id}/batch_exports/{id}'].get)).toContain('"lag_seconds"');
  });
});
