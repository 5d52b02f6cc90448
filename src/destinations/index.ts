import type { z } from 'zod';
import type { DestinationAccess } from '../config';
import { checkS3AccessOnSave } from './s3/client';
import { S3_ENDPOINT_FIELDS, S3DestinationConfig, S3_SECRET_FIELDS } from './s3/config';
import { S3_TEST_STEPS } from './s3/test-steps';
import { checkPostgresAccess } from './postgres/connect';
import { POSTGRES_ENDPOINT_FIELDS, POSTGRES_SECRET_FIELDS, PostgresDestinationConfig } from './postgres/config';
import { POSTGRES_TEST_STEPS } from './postgres/test-steps';
import { NOOP_SECRET_FIELDS, NoOpDestinationConfig } from './noop/config';

/** One check of a destination config, run by the API's run_test_step before the config is saved. */
export interface DestinationTestStep {
  name: string;
  description: string;
  /** Gets the config validated by the type's schema, secrets included; throws an error telling what to fix. */
  run(config: Record<string, unknown>, context: TestStepContext): Promise<void>;
}

export interface TestStepContext {
  /** Aborted when the step has run too long. */
  signal: AbortSignal;
  /** What the destination may reach: every connection a step makes goes through it. */
  access: DestinationAccess;
}

/** What the rest of the system needs to know of a destination type. Adding one = one entry here + a folder. */
export interface DestinationDefinition {
  configSchema: z.ZodType<Record<string, unknown>>;
  /** Write-only config fields: encrypted at rest, never returned or logged. */
  secretFields: readonly string[];
  /** Fields that say where the secrets are sent: changing one requires sending the secrets again. */
  endpointFields: readonly string[];
  /**
   * Throws DestinationRefusedError for a validated config the service will not connect to (network policy, keyless
   * access), checked on save and before a test step; connections check again.
   */
  checkAccess(config: Record<string, unknown>, access: DestinationAccess): Promise<void>;
  /** The export workflow the schedule starts. */
  workflowType: string;
  /** Checks run_test_step offers, in order. */
  testSteps: readonly DestinationTestStep[];
}

export const DESTINATIONS = {
  S3: {
    configSchema: S3DestinationConfig,
    secretFields: S3_SECRET_FIELDS,
    endpointFields: S3_ENDPOINT_FIELDS,
    checkAccess: (config, access) => checkS3AccessOnSave(S3DestinationConfig.parse(config), access),
    workflowType: 's3-export',
    testSteps: S3_TEST_STEPS,
  },
  Postgres: {
    configSchema: PostgresDestinationConfig,
    secretFields: POSTGRES_SECRET_FIELDS,
    endpointFields: POSTGRES_ENDPOINT_FIELDS,
    checkAccess: (config, access) => checkPostgresAccess(PostgresDestinationConfig.parse(config), access),
    workflowType: 'postgres-export',
    testSteps: POSTGRES_TEST_STEPS,
  },
  NoOp: {
    configSchema: NoOpDestinationConfig,
    secretFields: NOOP_SECRET_FIELDS,
    endpointFields: [],
    checkAccess: async () => undefined,
    workflowType: 'noop-export',
    testSteps: [],
  },
} satisfies Record<string, DestinationDefinition>;

export type DestinationType = keyof typeof DESTINATIONS;

export function isSupportedDestination(type: string): type is DestinationType {
  return Object.hasOwn(DESTINATIONS, type);
}

/** Splits a validated config into what may be stored and shown, and the secrets. */
export function splitSecrets(
  type: DestinationType,
  config: Record<string, unknown>,
): { plain: Record<string, unknown>; secrets: Record<string, unknown> } {
  const secretFields: readonly string[] = DESTINATIONS[type].secretFields;
  const plain: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(config)) {
    if (value === undefined) continue;
    (secretFields.includes(field) ? secrets : plain)[field] = value;
  }
  return { plain, secrets };
}
