import type { Pool } from 'pg';
import type { z } from 'zod';
import type { Config as ServiceConfig, DestinationAccess } from '../config';
import type { BatchExportRecord } from '../db/batch-exports';
import type { InsertActivityInput, InsertActivityResult } from '../temporal/contracts';

/**
 * What a destination is to the rest of the system. Each `src/destinations/<type>/index.ts` exports one, and
 * `src/destinations/index.ts` lists it on one line: the API validates and stores configs by it, run_test_step runs
 * its steps, the one insert activity (activities/insert.ts) writes intervals with it. A leaf module (types only), so
 * that destinations and the registry import it without a circle.
 */
export interface Destination<Config> {
  /** Validates a config as the API receives it, secrets included; its output is what every hook below gets. */
  configSchema: z.ZodType<Config>;
  /** Write-only config fields: encrypted at rest, never returned or logged. */
  secretFields: readonly string[];
  /**
   * The secret fields whose values are masked in recorded errors; all of `secretFields` when absent. (Postgres masks
   * the password only: masking a user named like the database would garble messages about the database.)
   */
  maskedFields?: readonly string[];
  /** Fields that say where the secrets are sent (see the network policy): changing one requires the secrets again. */
  endpointFields: readonly string[];
  /**
   * Throws DestinationRefusedError for a validated config the service will not connect to (network policy, keyless
   * access), checked on save and before a test step; connections check again.
   */
  checkAccess(config: Config, access: DestinationAccess): Promise<void>;
  /** Checks run_test_step offers, in order. */
  testSteps: readonly DestinationTestStep<Config>[];
  /** Where an attempt writes, for the log line that starts it: `to s3://bucket`. */
  describe(config: Config): string;
  /**
   * Writes one interval. Resumes from what an earlier attempt recorded (`attempt.number > 1`), reports progress with
   * `attempt.heartbeat`, returns what it wrote and its receipt. Throws BatchExportError kinds (src/errors.ts).
   */
  writeInterval(attempt: InsertAttempt<Config>): Promise<InsertActivityResult>;
  /**
   * Writing an interval again from its start leaves the destination as one write would (deterministic object keys,
   * each object written whole): a small interval may then be inserted by a local activity, which a dead worker's
   * replacement reruns from the start with no saved progress (activities/insert.ts, insertSmallIntervalLocally).
   */
  rerunsOverwrite?: boolean;
  /**
   * Runs when the insert's retries ran out or it was cancelled: removes what a killed attempt left unfinished (S3
   * aborts its multipart uploads). Absent when an attempt leaves nothing behind.
   */
  cleanUpAfterFailure?(
    attempt: Omit<InsertAttempt<Config>, 'number' | 'heartbeat' | 'heartbeatDetails'>,
  ): Promise<void>;
}

/** One attempt of the insert activity, as a destination sees it. */
export interface InsertAttempt<Config> {
  input: InsertActivityInput;
  batchExport: BatchExportRecord;
  config: Config;
  /** 1 for the first attempt; a later one resumes from what earlier ones recorded. */
  number: number;
  /** The details the previous attempt heartbeated last (runs started before progress was saved in Postgres). */
  heartbeatDetails: unknown;
  /** Aborted when the run is cancelled. */
  signal: AbortSignal;
  /** Records progress: sent now, and again on the activity's heartbeat timer, so a slow write is not taken for dead. */
  heartbeat(details: unknown): void;
  /** The metadata database (progress, log lines) and the source database. */
  pool: Pool;
  sourcePool: Pool;
  settings: Pick<ServiceConfig, 's3' | 'source' | 'postgresDestination' | 'formats' | 'destinationAccess'>;
  /** Writes a log line the user sees on the run. */
  log(level: 'INFO' | 'WARNING', message: string): Promise<void>;
}

/** One check of a destination config, run by the API's run_test_step before the config is saved. */
export interface DestinationTestStep<Config = Record<string, unknown>> {
  name: string;
  description: string;
  /** Gets the config validated by the type's schema, secrets included; throws an error telling what to fix. */
  run(config: Config, context: TestStepContext): Promise<void>;
}

export interface TestStepContext {
  /** Aborted when the step has run too long. */
  signal: AbortSignal;
  /** What the destination may reach: every connection a step makes goes through it. */
  access: DestinationAccess;
}
