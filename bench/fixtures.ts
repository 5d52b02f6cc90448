import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { Pool } from 'pg';
import type { BenchContext } from './context';

/**
 * Makes sure team `teamId` has exactly `count` small events, spread evenly over [start, end) by inserted_at, and no
 * others. Kept between runs when the team already has exactly those (same count, same range).
 */
export async function seedSpreadEvents(
  pool: Pool,
  teamId: number,
  count: number,
  range: { start: Date; end: Date },
): Promise<void> {
  const { rows } = await pool.query<{ total: number; first: Date | null; last: Date | null }>(
    'SELECT count(*)::int AS total, min(inserted_at) AS first, max(inserted_at) AS last FROM events WHERE team_id = $1',
    [teamId],
  );
  const slice = (range.end.getTime() - range.start.getTime()) / count;
  const near = (at: Date | null, expected: number) => at !== null && Math.abs(at.getTime() - expected) < 1;
  const { total, first, last } = rows[0]!;
  if (
    total === count &&
    near(first, range.start.getTime() + slice / 2) &&
    near(last, range.end.getTime() - slice / 2)
  ) {
    return;
  }
  await pool.query('DELETE FROM events WHERE team_id = $1', [teamId]);
  // Event i sits in the middle of the i-th of `count` equal slices of the range.
  await pool.query(
    `INSERT INTO events (uuid, event, properties, distinct_id, team_id, timestamp, created_at, inserted_at, person_id)
     SELECT gen_random_uuid(), (ARRAY['$pageview', '$autocapture', 'signed_up'])[1 + i % 3],
            json_build_object('$current_url', 'https://app.example.com/page/' || (i % 97), '$browser', 'Firefox',
                              '$session_id', md5('s' || (i / 20))),
            'user-' || (i % 500), $1, t.at, t.at, t.at, md5('p' || (i % 500))::uuid
     FROM generate_series(0, $2::int - 1) AS i,
          LATERAL (SELECT $3::timestamptz + ((i + 0.5) / $2::int) * ($4::timestamptz - $3::timestamptz)) AS t(at)`,
    [teamId, count, range.start, range.end],
  );
}

/** A new moto bucket and the S3 destination (JSONLines+gzip) of an export writing to it under `prefix`. */
export async function s3Destination(context: BenchContext, prefix = '') {
  const bucket = `bench-${randomBytes(4).toString('hex')}`;
  await context.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    bucket,
    destination: (exportPrefix = prefix) => ({
      type: 'S3',
      config: {
        bucket_name: bucket,
        prefix: exportPrefix,
        endpoint_url: context.s3Endpoint,
        aws_access_key_id: 'bench',
        aws_secret_access_key: 'bench',
        file_format: 'JSONLines',
        compression: 'gzip',
      },
    }),
  };
}

/** Runs `fn` over `items`, at most `concurrency` at a time; resolves with the results in order. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

/** `uptime`'s load averages (1, 5, 15 minutes), for the figures' context. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

/** Seconds, rounded to a tenth. */
export function seconds(ms: number): number {
  return Number((ms / 1000).toFixed(1));
}
