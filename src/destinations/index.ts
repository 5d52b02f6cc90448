import type { z } from 'zod';
import { S3DestinationConfig, S3_SECRET_FIELDS } from './s3/config';
import { S3_TEST_STEPS } from './s3/test-steps';
import { POSTGRES_SECRET_FIELDS, PostgresDestinationConfig } from './postgres/config';
import { POSTGRES_TEST_STEPS } from './postgres/test-steps';
import { NOOP_SECRET_FIELDS, NoOpDestinationConfig } from './noop/config';

/** One check of a destination config, run by the API's run_test_step before the config is saved. */
export interface DestinationTestStep {
  name: string;
  description: string;
  /** Gets the config validated by the type's schema, secrets included; throws an error telling what to fix. */
  run(config: Record<string, unknown>, signal: AbortSignal): Promise<void>;
}

/** What the rest of the system needs to know of a destination type. Adding one = one entry here + a folder. */
export interface DestinationDefinition {
  configSchema: z.ZodType<Record<string, unknown>>;
  /** Write-only config fields: encrypted at rest, never returned or logged. */
  secretFields: readonly string[];
  /** The export workflow the schedule starts. */
  workflowType: string;
  /** Checks run_test_step offers, in order. */
  testSteps: readonly DestinationTestStep[];
}

export const DESTINATIONS = {
  S3: {
    configSchema: S3DestinationConfig,
    secretFields: S3_SECRET_FIELDS,
    workflowType: 's3-export',
    testSteps: S3_TEST_STEPS,
  },
  Postgres: {
    configSchema: PostgresDestinationConfig,
    secretFields: POSTGRES_SECRET_FIELDS,
    workflowType: 'postgres-export',
    testSteps: POSTGRES_TEST_STEPS,
  },
  NoOp: {
    configSchema: NoOpDestinationConfig,
    secretFields: NOOP_SECRET_FIELDS,
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
