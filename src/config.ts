import { z } from 'zod';
import { isUuid } from './ids';
import { parseNetwork, type NetworkPolicy } from './net/policy';

/** Raised at start-up when the environment is missing or has a bad variable; the message names it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL');

const positiveInt = z.coerce.number().int().positive();

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** DEDICATED_TASK_QUEUES parsed: the queue of an export (by its id) or of every export of a team. */
export interface DedicatedQueues {
  byExport: Record<string, string>;
  byTeam: Record<string, string>;
}

function parseDedicatedQueues(value: string, ctx: z.RefinementCtx): DedicatedQueues {
  const queues: DedicatedQueues = { byExport: {}, byTeam: {} };
  for (const entry of value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [key = '', queue = '', ...rest] = entry.split('=').map((part) => part.trim());
    if (rest.length > 0 || !queue) {
      ctx.addIssue({ code: 'custom', message: `entry "${entry}" must be key=queue` });
    } else if (isUuid(key)) {
      queues.byExport[key.toLowerCase()] = queue;
    } else if (/^\d+$/.test(key)) {
      queues.byTeam[key] = queue;
    } else {
      ctx.addIssue({ code: 'custom', message: `key "${key}" must be an export id (uuid) or a team id` });
    }
  }
  return queues;
}

/** Every variable the processes read, with its default. Nothing else in the code reads process.env. */
const EnvSchema = z.object({
  DATABASE_URL: postgresUrl.default('postgres://postgres@127.0.0.1:5432/batch_exports'),
  /** Where events/persons/sessions are read from; the metadata database by default. */
  SOURCE_DATABASE_URL: postgresUrl.optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'must be host:port')
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TLS: booleanFlag.default(false),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().optional(),
  TASK_QUEUE: z.string().min(1).default('batch-exports'),
  /**
   * Exports that run on a task queue of their own, so that the workers serving it bound how hard their destination
   * is hit: `key=queue` pairs, comma-separated, where key is an export id or a team id (an export's own entry wins).
   */
  DEDICATED_TASK_QUEUES: z
    .string()
    .default('')
    .transform((value, ctx) => parseDedicatedQueues(value, ctx)),
  /** A prebuilt workflow bundle (npm run build; the compiled worker finds it beside itself); workers bundle from source when unset. */
  WORKFLOW_BUNDLE_PATH: z.string().optional(),
  /** 32 bytes, base64: encrypts destination secrets at rest (AES-256-GCM). */
  ENCRYPTION_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes encoded as base64'),
  /**
   * S3 multipart part size. S3 rejects parts under 5 MiB (except the last) and more than 10,000 parts: 8 MiB (the
   * AWS CLI's default) allows 80 GB of compressed output per file, and holds half the memory of 16 MiB parts.
   */
  S3_PART_SIZE_MB: positiveInt.min(5).max(5000).default(8),
  /** Rows per batch read from the source (at most: batches are also cut by SOURCE_BATCH_MB). */
  SOURCE_BATCH_SIZE: positiveInt.max(1_000_000).default(10_000),
  /**
   * Megabytes of source rows read (every destination reads with COPY) before they are cut into a batch, the unit of
   * encoding and, for the Postgres destination, of a commit. Two batches are encoded at once, so memory holds a few.
   * Unset: 2 for files (S3, Azure, Iceberg), 4 for tables (docs/notes/issue-18-19-session-e.md).
   */
  SOURCE_BATCH_MB: z.coerce.number().positive().max(256).optional(),
  /**
   * An interval of more rows than this (by the source index's count) is read in slices of about this many rows,
   * each its own sorted COPY in one snapshot: Postgres sorts each in memory instead of spilling a large interval's
   * sort to disk. 0 reads every interval in one COPY. Chosen by measurement (docs/notes/issue-19-throughput.md).
   */
  SOURCE_SLICE_ROWS: z.coerce.number().int().min(0).default(250_000),
  /**
   * Start the next slice's COPY on a second source connection while the current slice is read, so that Postgres
   * scans and sorts it meanwhile: one more source connection per export reading slices. On a quiet machine a
   * 1M-event export waited about 0.45 s at each slice's start without it (docs/notes/issue-19-session-g.md).
   */
  SOURCE_SLICE_READ_AHEAD: booleanFlag.default(true),
  /**
   * Connections a Postgres destination's export loads batches on at once, each committing its own batches: the
   * destination's backends parse and index them in parallel. Used where COPY goes straight into the table (events
   * into a table with a unique index on uuid, no trigger or rule); elsewhere one. Chosen by measurement
   * (docs/notes/issue-19-session-g.md).
   */
  POSTGRES_DESTINATION_CONNECTIONS: positiveInt.max(8).default(2),
  /**
   * Rows per Parquet row group. The writer holds a group's rows until the group is full, so this bounds a Parquet
   * export's memory; larger groups read a little faster. Chosen by measurement (docs/notes/issue-19-throughput.md).
   */
  PARQUET_ROW_GROUP_ROWS: positiveInt.max(1_000_000).default(10_000),
  /** How far back a schedule catches up on missed intervals after the worker or server was down. */
  SCHEDULE_CATCHUP_WINDOW_SECONDS: positiveInt.default(24 * 3600),
  /**
   * Intervals a backfill exports at the same time (each within the workers' activity slots, which bound memory). On
   * the bench's 2 cores a month of small hourly intervals ran 21-22 intervals/s at 10, 26 at 20 and 27.6 at 40: a
   * run waits on Temporal and Postgres round trips, which more runs at once overlap (docs/notes/issue-19-session-g.md).
   */
  BACKFILL_MAX_PARALLEL_RUNS: positiveInt.max(100).default(20),
  /** Intervals one backfill workflow run starts before it continues as new, keeping each history small. */
  BACKFILL_INTERVALS_PER_WORKFLOW_RUN: positiveInt.max(2000).default(250),
  /**
   * The most intervals one backfill may cover; larger requests are refused (HTTP 400). 100,000 is a year of
   * 5-minute intervals or eleven years of hourly ones, about three hours of work at 10 intervals/s.
   */
  BACKFILL_MAX_INTERVALS: positiveInt.default(100_000),
  /** Backfills a team may have starting or running at once; more are refused (HTTP 429). */
  BACKFILL_MAX_ACTIVE_PER_TEAM: positiveInt.default(10),
  /** An export pauses itself after this many failed runs in a row; 0 never pauses. */
  AUTO_PAUSE_AFTER_FAILED_RUNS: z.coerce.number().int().min(0).default(3),
  /**
   * Networks destinations may reach besides public addresses, comma-separated CIDRs (`127.0.0.0/8,10.1.0.0/16`).
   * Loopback, private, link-local (cloud metadata), CGNAT and other non-public addresses are refused otherwise.
   */
  DESTINATION_ALLOWED_NETWORKS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const networks = value
        .split(',')
        .map((network) => network.trim())
        .filter(Boolean);
      for (const network of networks) {
        try {
          parseNetwork(network);
        } catch {
          ctx.addIssue({ code: 'custom', message: `has "${network}", which is not a CIDR network (e.g. 10.1.0.0/16)` });
        }
      }
      return networks;
    }),
  /** S3 destinations without keys use the worker's own AWS credentials; refused unless set. */
  S3_ALLOW_WORKER_CREDENTIALS: booleanFlag.default(false),
  /**
   * How often each worker looks for runs and backfills whose workflow closed in Temporal without recording their
   * outcome (terminated, timed out, gone) and gives them that status.
   */
  RECONCILE_INTERVAL_SECONDS: positiveInt.max(3600).default(60),
  /**
   * Memory one worker process may use. Unless set explicitly, its concurrent activities are derived from it: what is
   * left after the idle worker, divided by what one running export may hold (workerCapacity below).
   */
  WORKER_MEMORY_BUDGET_MB: positiveInt.min(512).default(2048),
  /** Activities (exports, backfill steps) one worker runs at once; derived from WORKER_MEMORY_BUDGET_MB when unset. */
  WORKER_MAX_CONCURRENT_ACTIVITIES: positiveInt.max(1000).optional(),
  /** Local activities (recording a run's start and outcome: a query or two each) one worker runs at once. */
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: positiveInt.max(1000).default(50),
  /**
   * Activities per second Temporal hands out on this worker's task queue, across every worker polling it (the
   * task-queue rate limit; the last worker to start sets it). Unset: no limit.
   */
  WORKER_MAX_TASK_QUEUE_ACTIVITIES_PER_SECOND: z.coerce.number().positive().max(100_000).optional(),
  /** Workflow tasks (deterministic workflow code, a few ms each) one worker runs at once. */
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).max(1000).default(40),
  /**
   * Intervals of at most this many raw rows are inserted by a local activity, inside the run's workflow task, where
   * the destination rewrites an interval whole on a rerun (S3, Azure): one workflow task and no activity task per
   * run. 0: every interval goes through the insert activity. Never on a worker with a task-queue rate limit.
   */
  INSERT_LOCALLY_MAX_ROWS: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  /** The API's address as clients reach it (behind a proxy), for pagination links; relative links when unset. */
  API_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The Temporal Web UI's base URL, e.g. http://127.0.0.1:8233: the web console links each run's workflow there. */
  TEMPORAL_UI_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Requests one API key (or, without a key, one address) may make per minute; more get a 429. 0 turns it off. */
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  /** A request's headers and body must have arrived within this; a slower one gets a 408 and is closed. */
  API_REQUEST_TIMEOUT_SECONDS: z.coerce.number().positive().max(3600).default(30),
  /** The worker serves its metrics (GET /metrics, Prometheus text) on this port; unset: not served. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** The Temporal SDK's own worker metrics (task slots, poll latencies) are served on this port; unset: not served. */
  TEMPORAL_SDK_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** The address the worker's metrics ports listen on (0.0.0.0 in a container, so Prometheus can reach them). */
  METRICS_HOST: z.string().default('127.0.0.1'),
  /**
   * A webhook that does not answer 2xx is retried after this long, then twice as long each time (up to 10 minutes)
   * until NOTIFICATION_MAX_ATTEMPTS: 10 s and 12 attempts cover a receiver down for about an hour.
   */
  NOTIFICATION_RETRY_INITIAL_SECONDS: z.coerce.number().positive().max(3600).default(10),
  NOTIFICATION_MAX_ATTEMPTS: positiveInt.max(100).default(12),
  /** How often the worker compares each export's freshness lag with its alert threshold ("late" / "recovered"). */
  FRESHNESS_CHECK_SECONDS: positiveInt.max(3600).default(60),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
});

export type Env = z.infer<typeof EnvSchema>;

/** What one worker process takes on at once: slots it asks Temporal for, and the budget they were derived from. */
export interface WorkerCapacity {
  memoryBudgetMb: number;
  maxConcurrentActivities: number;
  maxConcurrentLocalActivities: number;
  maxConcurrentWorkflowTasks: number;
  /** Temporal's activity rate limit for the worker's whole task queue (WORKER_MAX_TASK_QUEUE_ACTIVITIES_PER_SECOND). */
  maxTaskQueueActivitiesPerSecond?: number;
  /** Raw rows up to which an interval is inserted by a local activity (INSERT_LOCALLY_MAX_ROWS); 0: never. */
  insertLocallyMaxRows: number;
}

/** An idle worker's RSS: Node, the SDK's native core, the workflow bundle in its V8 context, the pools. */
export const IDLE_WORKER_MB = 250;

/**
 * What one running export may add to a worker's RSS, whatever its interval's size (memory follows the batch and part
 * sizes). Both bounds are kept from when a Parquet export peaked at 416-462 MB; now an idle worker holds 157-172 MB
 * and one 1M-event export peaks at 247-262 MB (Parquet), 234-242 (JSON lines), 214-225 (Postgres)
 * (docs/notes/issue-18-19-session-e.md): well within them, not re-derived for concurrent exports.
 */
export const EXPORT_MB = 250;

/** Concurrent activities a memory budget affords, at least one. */
export function activitiesWithin(memoryBudgetMb: number): number {
  return Math.max(1, Math.floor((memoryBudgetMb - IDLE_WORKER_MB) / EXPORT_MB));
}

export interface Config {
  databaseUrl: string;
  sourceDatabaseUrl: string;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    tls?: { clientCertPath?: string; clientKeyPath?: string; serverCaCertPath?: string };
    workflowBundlePath?: string;
    /** Task queues other than taskQueue that some exports run on (DEDICATED_TASK_QUEUES); see taskQueueFor. */
    dedicatedQueues: DedicatedQueues;
  };
  encryptionKey: Buffer;
  s3: { partSizeBytes: number };
  /** What tenants' destinations may reach. */
  destinationAccess: DestinationAccess;
  source: {
    batchSize: number;
    /** Bytes per batch for the destinations that load tables (Postgres, Snowflake, ...). */
    batchBytes: number;
    /**
     * Bytes per batch for the destinations that write files: smaller, as a Parquet batch is held three times over
     * (rows, Arrow IPC, the encoder's copy); at 2 MB a Parquet export peaked ~25 MB lower at the same CPU, while the
     * Postgres destination spent more CPU on 2 MB batches for no memory (docs/notes/issue-18-19-session-e.md).
     */
    fileBatchBytes: number;
    sliceRows: number;
    sliceReadAhead: boolean;
  };
  /** Connections a Postgres destination loads on at once, where batches go straight into the table. */
  postgresDestination: { connections: number };
  formats: { parquetRowGroupRows: number };
  schedule: { catchupWindowSeconds: number };
  backfills: {
    maxParallelRuns: number;
    intervalsPerWorkflowRun: number;
    maxActivePerTeam: number;
    /** The most intervals one backfill may cover. */
    maxIntervals: number;
  };
  autoPause: { consecutiveFailedRuns: number };
  reconcileIntervalMs: number;
  worker: WorkerCapacity;
  api: {
    host: string;
    port: number;
    publicUrl: string | null;
    /** 0: no rate limit. */
    rateLimitPerMinute: number;
    requestTimeoutMs: number;
    /** Where the web console links runs' workflows; null: no links. */
    temporalUiUrl: string | null;
  };
  notifications: {
    retry: { initialIntervalSeconds: number; maximumAttempts: number };
    freshnessCheckMs: number;
  };
  /** The worker's metrics endpoints; a null port is not served. */
  metrics: { host: string; workerPort: number | null; temporalSdkPort: number | null };
  logLevel: Env['LOG_LEVEL'];
}

export interface DestinationAccess extends NetworkPolicy {
  /** An S3 destination without keys may use the worker's own AWS credentials (S3_ALLOW_WORKER_CREDENTIALS). */
  s3WorkerCredentials: boolean;
}

/** Parses the environment once; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(withoutEmptyStrings(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      const message = issue.code === 'invalid_type' && env[name] === undefined ? 'is required' : issue.message;
      return `${name} ${message}`;
    });
    throw new ConfigError(`Invalid environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    sourceDatabaseUrl: e.SOURCE_DATABASE_URL ?? e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TASK_QUEUE,
      tls: e.TEMPORAL_TLS
        ? {
            clientCertPath: e.TEMPORAL_TLS_CLIENT_CERT_PATH,
            clientKeyPath: e.TEMPORAL_TLS_CLIENT_KEY_PATH,
            serverCaCertPath: e.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
          }
        : undefined,
      workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
      dedicatedQueues: e.DEDICATED_TASK_QUEUES,
    },
    encryptionKey: Buffer.from(e.ENCRYPTION_KEY, 'base64'),
    s3: { partSizeBytes: e.S3_PART_SIZE_MB * 1024 * 1024 },
    destinationAccess: {
      allowedNetworks: e.DESTINATION_ALLOWED_NETWORKS,
      s3WorkerCredentials: e.S3_ALLOW_WORKER_CREDENTIALS,
    },
    source: {
      batchSize: e.SOURCE_BATCH_SIZE,
      batchBytes: Math.round((e.SOURCE_BATCH_MB ?? 4) * 1024 * 1024),
      fileBatchBytes: Math.round((e.SOURCE_BATCH_MB ?? 2) * 1024 * 1024),
      sliceRows: e.SOURCE_SLICE_ROWS,
      sliceReadAhead: e.SOURCE_SLICE_READ_AHEAD,
    },
    postgresDestination: { connections: e.POSTGRES_DESTINATION_CONNECTIONS },
    formats: { parquetRowGroupRows: e.PARQUET_ROW_GROUP_ROWS },
    schedule: { catchupWindowSeconds: e.SCHEDULE_CATCHUP_WINDOW_SECONDS },
    backfills: {
      maxParallelRuns: e.BACKFILL_MAX_PARALLEL_RUNS,
      intervalsPerWorkflowRun: e.BACKFILL_INTERVALS_PER_WORKFLOW_RUN,
      maxActivePerTeam: e.BACKFILL_MAX_ACTIVE_PER_TEAM,
      maxIntervals: e.BACKFILL_MAX_INTERVALS,
    },
    autoPause: { consecutiveFailedRuns: e.AUTO_PAUSE_AFTER_FAILED_RUNS },
    reconcileIntervalMs: e.RECONCILE_INTERVAL_SECONDS * 1000,
    worker: {
      memoryBudgetMb: e.WORKER_MEMORY_BUDGET_MB,
      maxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES ?? activitiesWithin(e.WORKER_MEMORY_BUDGET_MB),
      maxConcurrentLocalActivities: e.WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES,
      maxConcurrentWorkflowTasks: e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxTaskQueueActivitiesPerSecond: e.WORKER_MAX_TASK_QUEUE_ACTIVITIES_PER_SECOND,
      insertLocallyMaxRows: e.INSERT_LOCALLY_MAX_ROWS,
    },
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      publicUrl: e.API_PUBLIC_URL ?? null,
      rateLimitPerMinute: e.API_RATE_LIMIT_PER_MINUTE,
      requestTimeoutMs: Math.round(e.API_REQUEST_TIMEOUT_SECONDS * 1000),
      temporalUiUrl: e.TEMPORAL_UI_URL?.replace(/\/+$/, '') ?? null,
    },
    notifications: {
      retry: {
        initialIntervalSeconds: e.NOTIFICATION_RETRY_INITIAL_SECONDS,
        maximumAttempts: e.NOTIFICATION_MAX_ATTEMPTS,
      },
      freshnessCheckMs: e.FRESHNESS_CHECK_SECONDS * 1000,
    },
    metrics: {
      host: e.METRICS_HOST,
      workerPort: e.WORKER_METRICS_PORT ?? null,
      temporalSdkPort: e.TEMPORAL_SDK_METRICS_PORT ?? null,
    },
    logLevel: e.LOG_LEVEL,
  };
}

/** Only the Temporal settings, for tools that talk to Temporal alone (registering search attributes). */
export function loadTemporalConfig(env: NodeJS.ProcessEnv = process.env): Config['temporal'] {
  // The encryption key is required by the full schema but unused here: a placeholder stands in when none is set.
  return loadConfig({ ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'), ...env }).temporal;
}

/**
 * Only the metadata database's URL, for tools that need nothing else (migrations, the CLI): they run without the
 * encryption key or Temporal settings.
 */
export function loadDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const parsed = EnvSchema.pick({ DATABASE_URL: true }).safeParse(withoutEmptyStrings(env));
  if (!parsed.success) throw new ConfigError(`Invalid environment: DATABASE_URL ${parsed.error.issues[0]?.message}`);
  return parsed.data.DATABASE_URL;
}

// `FOO=` in a shell or compose file means "not set", not "set to the empty string".
function withoutEmptyStrings(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
}

/** Only where the API listens (API_HOST, API_PORT), for tools that print how to reach it (the CLI's setup). */
export function loadApiAddress(env: NodeJS.ProcessEnv = process.env): { host: string; port: number } {
  const parsed = EnvSchema.pick({ API_HOST: true, API_PORT: true }).safeParse(withoutEmptyStrings(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Invalid environment: ${issue?.path.join('.')} ${issue?.message}`);
  }
  return { host: parsed.data.API_HOST, port: parsed.data.API_PORT };
}
