import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/ports';
import { useApiTest } from '../api/helpers';
import { eventually } from '../helpers/backfills';
import { intervalInput } from '../helpers/s3-exports';

const END = '2024-10-01T11:00:00Z';
/** Long enough that the run is seen waiting for its second attempt. */
const RETRY_AFTER_SECONDS = 300;

describe('a run that keeps failing says why while it retries', () => {
  const api = useApiTest({ worker: true });

  it('shows the reason in latest_error and the logs, with the attempt and when the next one starts', async () => {
    // Nothing listens on this loopback port: every request to the S3 endpoint is refused.
    const port = await freePort();
    const destination = await api.s3Destination({ endpoint_url: `http://127.0.0.1:${port}` });
    const batchExport = await api.createExport({ destination });
    const base = `/api/projects/${api.teamId}/batch_exports/${batchExport.id}`;
    const handle = await api.stack.temporal.workflow.start('s3-export', {
      taskQueue: api.stack.config.temporal.taskQueue,
      workflowId: `${batchExport.id}-${END}`,
      args: [
        intervalInput(batchExport.id, api.teamId, END, {
          initialIntervalSeconds: RETRY_AFTER_SECONDS,
          maximumAttempts: 3,
        }),
      ],
    });
    try {
      const runs = await eventually(
        () => api.call('GET', `${base}/runs`),
        (response) => response.body?.results?.[0]?.latest_error != null,
      );
      const run = runs.body.results[0];
      expect(run).toMatchObject({ status: 'Running', attempt: 1, records_total_count: null, receipt: null });
      expect(run.latest_error).toMatch(
        new RegExp(
          `^Could not reach S3 for bucket "${destination.config.bucket_name}".*ECONNREFUSED 127\\.0\\.0\\.1:${port}.* ` +
            '\\(network or service trouble, which may pass\\)$',
        ),
      );
      // The retry policy's first interval after the failure the run recorded.
      const wait = Date.parse(run.next_attempt_at) - Date.parse(run.last_updated_at);
      expect(Math.abs(wait - RETRY_AFTER_SECONDS * 1000)).toBeLessThan(5000);

      const logs = await api.call('GET', `${base}/runs/${run.id}/logs`);
      expect(logs.status).toBe(200);
      expect(logs.body.results).toContainEqual(
        expect.objectContaining({
          level: 'WARNING',
          message: `Attempt 1 of 3 failed: ${run.latest_error}; next attempt at ${run.next_attempt_at}`,
        }),
      );
      expect(`${runs.text}${logs.text}`).not.toContain(destination.config.aws_secret_access_key as string);
    } finally {
      await handle.terminate('test finished');
    }
  });
});
