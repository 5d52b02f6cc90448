import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import { createTeam, insertEvents, makeEvent, type TestEvent } from '../helpers/fixtures';
import { acceptedRows, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver';
import { QUICK_RETRIES } from '../helpers/postgres-exports';
import { intervalInput, runInterval } from '../helpers/s3-exports';
import { insertSessions, makeSession } from '../helpers/source-rows';
import { useTestStack } from '../helpers/stack';

const TOKEN = 'phc_a-write-only-token';

describe('HTTP export', () => {
  const stack = useTestStack();
  let teamId: number;
  let receiver: HttpReceiver;
  let events: TestEvent[];

  beforeAll(async () => {
    ({ teamId } = await createTeam(stack.db.pool));
    events = Array.from({ length: 25 }, (_, i) =>
      makeEvent(teamId, `2024-09-01T10:${String(i).padStart(2, '0')}:00Z`, {
        properties: JSON.stringify({ $current_url: `https://example.com/${i}`, $set: { plan: 'pro' } }),
      }),
    );
    await insertEvents(stack.db.pool, [...events, makeEvent(teamId, '2024-09-01T11:00:00Z')]);
  });

  afterEach(async () => {
    await receiver?.close();
  });

  const createHttpExport = async (config: Record<string, unknown>, model = 'events') => {
    receiver = await startHttpReceiver();
    return createBatchExport(stack.services, teamId, {
      name: `http ${randomUUID()}`,
      model,
      destination: { type: 'HTTP', config: { url: receiver.url, token: TOKEN, ...config } },
    });
  };
  const run = (batchExportId: string) =>
    runInterval(stack, 'batch-export', intervalInput(batchExportId, teamId, '2024-09-01T11:00:00Z', QUICK_RETRIES));

  it('POSTs capture /batch bodies, gzipped, with headers and one idempotency key per batch', async () => {
    const batchExport = await createHttpExport({
      max_batch_rows: 10,
      compression: 'gzip',
      headers: { 'X-Team': 'analytics' },
    });
    const { result, run: record } = await run(batchExport.id);

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: 25 });
    expect(receiver.requests.map((request) => request.key)).toEqual(
      [1, 2, 3].map((n) => `${batchExport.id}:2024-09-01T10:00:00.000Z-2024-09-01T11:00:00.000Z:${n}`),
    );
    for (const request of receiver.requests) {
      expect(request.headers).toMatchObject({
        'content-encoding': 'gzip',
        'content-type': 'application/json',
        'x-team': 'analytics',
      });
      expect(request.headers.authorization).toBeUndefined();
      const body = JSON.parse(request.body) as Record<string, unknown>;
      expect(body).toMatchObject({ api_key: TOKEN, historical_migration: true });
    }
    const rows = acceptedRows(receiver, 'capture');
    expect(rows.map((row) => row.uuid)).toEqual(events.map((event) => event.uuid));
    const first = events[0]!;
    expect(rows[0]).toEqual({
      event: first.event,
      distinct_id: first.distinct_id,
      properties: JSON.parse(first.properties),
      timestamp: '2024-09-01T10:00:00+00:00',
      uuid: first.uuid,
    });
    // The receipt says what the receiver's record holds.
    const sent = receiver.requests.reduce((total, request) => total + request.raw.length, 0);
    expect(record.receipt).toMatchObject({ sourceRecords: 25, recordsWritten: rows.length, bytes: sent });
    expect(record).toMatchObject({ status: 'Completed', records_completed: 25, bytes_exported: sent });
  });

  it('POSTs JSON lines of any model with the token as a bearer token, cut by bytes', async () => {
    const sessions = Array.from({ length: 6 }, (_, i) =>
      makeSession(teamId, `2024-09-01T10:1${i}:00Z`, { entry_url: `https://example.com/${'x'.repeat(400)}` }),
    );
    await insertSessions(stack.db.pool, sessions);
    const batchExport = await createHttpExport({ format: 'JSONLines', max_batch_bytes: 1024 }, 'sessions');
    const { result } = await run(batchExport.id);

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: 6 });
    expect(receiver.requests.length).toBeGreaterThan(1);
    for (const request of receiver.requests) {
      expect(request.headers).toMatchObject({
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/x-ndjson',
      });
      // A batch holds rows up to max_batch_bytes, or a single row larger than that.
      expect(request.body.length <= 1024 || request.body.trim().split('\n').length === 1).toBe(true);
    }
    const rows = acceptedRows(receiver, 'JSONLines');
    expect(rows.map((row) => row.session_id).sort()).toEqual(sessions.map((session) => session.session_id).sort());
  });

  it('waits as long as a 429 Retry-After says, then sends the same batch under the same key', async () => {
    const batchExport = await createHttpExport({});
    receiver.answerNext({ status: 429, headers: { 'retry-after': '2' }, body: 'slow down' });
    const { result } = await run(batchExport.id);

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: 25 });
    const [throttled, retried] = receiver.requests;
    expect(throttled!.status).toBe(429);
    expect(retried!.key).toBe(throttled!.key);
    expect(retried!.body).toBe(throttled!.body);
    expect(retried!.at - throttled!.at).toBeGreaterThanOrEqual(1900);
    expect(acceptedRows(receiver, 'capture')).toHaveLength(25);
  });

  it('retries 5xx answers and lost connections, and logs each retry on the run', async () => {
    const batchExport = await createHttpExport({ max_batch_rows: 20 });
    receiver.answerNext({ status: 503, body: 'maintenance' }, { status: 0 }, { status: 500 });
    const { result, run: record } = await run(batchExport.id);

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: 25 });
    expect(receiver.requests.map((request) => request.status)).toEqual([503, 0, 500, 200, 200]);
    expect(new Set(receiver.requests.slice(0, 4).map((request) => request.key)).size).toBe(1);
    expect(acceptedRows(receiver, 'capture')).toHaveLength(25);
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 AND level = 'WARNING' ORDER BY timestamp`,
      [record.id],
    );
    expect(logs.map((log) => log.message)).toEqual([
      expect.stringMatching(
        /^Batch 1: http:\/\/127\.0\.0\.1:\d+\/batch\/ answered 503: "maintenance" \(1 try\); trying again in \d+ s$/,
      ),
      expect.stringMatching(
        /^Batch 1: Could not reach http:\/\/127\.0\.0\.1:\d+\/batch\/: socket hang up; trying again/,
      ),
      expect.stringMatching(/^Batch 1: .* answered 500 \(3 tries\); trying again/),
    ]);
  });

  it('gives up on a request slower than timeout_seconds and sends it again; the receiver drops the replay', async () => {
    const batchExport = await createHttpExport({ timeout_seconds: 1 });
    // The receiver takes the first request but answers only after the worker stopped waiting.
    receiver.answerNext({ status: 200, delayMs: 2500 });
    const { result, run: record } = await run(batchExport.id);

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: 25 });
    const [slow, again] = receiver.requests;
    expect(again!.key).toBe(slow!.key);
    expect(acceptedRows(receiver, 'capture')).toHaveLength(25);
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 AND level = 'WARNING'`,
      [record.id],
    );
    expect(logs.map((log) => log.message)).toEqual([
      expect.stringMatching(/^Batch 1: Could not reach .*: no answer within 1 s \(timeout_seconds\); trying again/),
    ]);
  });

  it('fails a run on 401 at once, saying to check the token, without repeating it', async () => {
    const batchExport = await createHttpExport({});
    receiver.token = 'the-receivers-token';
    const { result, run: record } = await run(batchExport.id);

    expect(result).toBeNull();
    expect(record.status).toBe('Failed');
    expect(record.latest_error).toMatch(
      /answered 401: "invalid token in .*"; the endpoint refused the token: check token/,
    );
    expect(record.latest_error).not.toContain(TOKEN);
    // Not retried: one request, one attempt.
    expect(receiver.requests).toHaveLength(1);
  });

  it('refuses to follow a redirect, so the token goes nowhere else', async () => {
    const batchExport = await createHttpExport({});
    receiver.answerNext({ status: 307, headers: { location: 'http://169.254.169.254/steal?x=1' } });
    const { run: record } = await run(batchExport.id);

    expect(record.status).toBe('Failed');
    expect(record.latest_error).toContain(
      'redirects (307) to http://169.254.169.254/steal: redirects are not followed',
    );
    expect(receiver.requests).toHaveLength(1);
  });

  it('fails a capture export of sessions with a message naming format', async () => {
    const batchExport = await createHttpExport({}, 'sessions');
    const { run: record } = await run(batchExport.id);
    expect(record.status).toBe('Failed');
    expect(record.latest_error).toContain('format "capture" sends events, not sessions: use format "JSONLines"');
    expect(receiver.requests).toHaveLength(0);
  });
});
