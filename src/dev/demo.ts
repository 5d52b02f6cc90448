import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Pool } from 'pg';
import type { ApiClient } from '../cli/api-client';
import type { BatchExport } from '../cli/resources';
import { generateTraffic, insertTraffic } from './demo-data';
import { startMotoServer } from './moto';

/**
 * The demo of `npm run dev`: a local S3 (moto, in memory) with a bucket, a small website's last hour of traffic in
 * the source tables and a few new events every few seconds, an export of events to the bucket every 5 minutes, and a
 * backfill of its last hour, so that files appear within a minute. Everything goes through the HTTP API, as a user's
 * would.
 */
export const DEMO_EXPORT_NAME = 'Demo: events to local S3';
export const DEMO_BUCKET = 'batch-exports-demo';
/** moto accepts any keys; these only have to be sent. */
const DEMO_CREDENTIALS = { aws_access_key_id: 'demo', aws_secret_access_key: 'demo-secret' };
const INTERVAL_MS = 5 * 60_000;
const BACKFILL_MS = 60 * 60_000;
/** How often new events arrive; each tick brings a visit or so. */
const LIVE_EVERY_MS = 5_000;

export interface Demo {
  s3Endpoint: string;
  exportId: string;
  backfillId: string;
  /** Stops inserting new events. */
  stopTraffic(): Promise<void>;
  /** Stops the local S3: after the worker, whose in-flight uploads would otherwise fail and be logged. */
  stopS3(): Promise<void>;
}

export async function startDemo(options: {
  api: ApiClient;
  sourcePool: Pool;
  teamId: number;
  /** moto's port; a free one when unset. */
  s3Port?: number;
}): Promise<Demo> {
  const moto = await startMotoServer({ port: options.s3Port, ownProcessGroup: true });
  let ticker: NodeJS.Timeout | undefined;
  try {
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: DEMO_CREDENTIALS.aws_access_key_id,
        secretAccessKey: DEMO_CREDENTIALS.aws_secret_access_key,
      },
    });
    await s3.send(new CreateBucketCommand({ Bucket: DEMO_BUCKET }));
    s3.destroy();

    const now = new Date();
    await seedSince(options.sourcePool, options.teamId, now);
    const exportId = await createDemoExport(options.api, moto.endpoint);
    const end = new Date(Math.floor(now.getTime() / INTERVAL_MS) * INTERVAL_MS);
    const { backfill_id: backfillId } = await options.api.project<{ backfill_id: string }>(
      'POST',
      `/batch_exports/${exportId}/backfills`,
      { start_at: new Date(end.getTime() - BACKFILL_MS).toISOString(), end_at: end.toISOString() },
    );

    let last = now;
    let inserting = Promise.resolve();
    ticker = setInterval(() => {
      inserting = inserting.then(async () => {
        const tick = new Date();
        const traffic = generateTraffic({ teamId: options.teamId, start: last, end: tick, sessionsPerMinute: 6 });
        // Live events are ingested now: a scheduled run reads them in the interval they arrive in.
        for (const event of traffic.events) event.inserted_at = tick.toISOString();
        last = tick;
        await insertTraffic(options.sourcePool, traffic).catch((error: unknown) => {
          console.error(`Demo: could not insert new events: ${error instanceof Error ? error.message : error}`);
        });
      });
    }, LIVE_EVERY_MS);

    return {
      s3Endpoint: moto.endpoint,
      exportId,
      backfillId,
      stopTraffic: async () => {
        clearInterval(ticker);
        await inserting;
      },
      stopS3: () => moto.stop(),
    };
  } catch (error) {
    clearInterval(ticker);
    await moto.stop();
    throw error;
  }
}

/** The last two hours of traffic (the backfill exports one), less what an earlier start already inserted. */
async function seedSince(pool: Pool, teamId: number, now: Date): Promise<void> {
  const { rows } = await pool.query<{ latest: Date | null }>(
    'SELECT max(inserted_at) AS latest FROM events WHERE team_id = $1',
    [teamId],
  );
  const seedFrom = new Date(now.getTime() - 2 * BACKFILL_MS - INTERVAL_MS);
  const start = rows[0]?.latest && rows[0].latest > seedFrom ? rows[0].latest : seedFrom;
  if (now.getTime() - start.getTime() < 1000) return;
  await insertTraffic(pool, generateTraffic({ teamId, start, end: now, sessionsPerMinute: 6 }));
}

/**
 * A new demo export on every start. moto forgets its files when it stops, but an export remembers which intervals it
 * exported and a backfill skips those: a fresh export makes the backfill write its hour again. The one of an earlier
 * start is deleted (its address was that run's moto).
 */
async function createDemoExport(api: ApiClient, endpoint: string): Promise<string> {
  const destination = {
    type: 'S3',
    config: {
      bucket_name: DEMO_BUCKET,
      region: 'us-east-1',
      endpoint_url: endpoint,
      prefix: 'events/{year}-{month}-{day}',
      file_format: 'JSONLines',
      compression: 'gzip',
      ...DEMO_CREDENTIALS,
    },
  };
  const { results } = await api.project<{ results: BatchExport[] }>('GET', '/batch_exports?limit=1000');
  for (const earlier of results.filter((candidate) => candidate.name === DEMO_EXPORT_NAME)) {
    await api.project('DELETE', `/batch_exports/${earlier.id}`);
  }
  const created = await api.project<BatchExport>('POST', '/batch_exports', {
    name: DEMO_EXPORT_NAME,
    model: 'events',
    interval: 'every 5 minutes',
    destination,
  });
  return created.id;
}
