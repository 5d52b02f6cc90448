import { AzureBlob } from './azure-blob';
import type { Destination } from './contract';
import { HTTP } from './http';
import { NoOp } from './noop';
import { Postgres } from './postgres';
import { S3 } from './s3';
import { S3Iceberg } from './s3-iceberg';
import { Snowflake } from './snowflake';

export type { Destination, DestinationTestStep, InsertAttempt, TestStepContext } from './contract';

/**
 * Every destination type, by the name the API takes. Adding one = a folder exporting its Destination + one line here
 * (docs/adding-a-destination.md).
 */
export const DESTINATIONS = { S3, Postgres, NoOp, HTTP, AzureBlob, Snowflake, S3Iceberg };

export type DestinationType = keyof typeof DESTINATIONS;

/** A destination seen by code that holds its config as a plain object (validated by `configSchema` first). */
export type DestinationDefinition = Destination<Record<string, unknown>>;

export function isSupportedDestination(type: string): type is DestinationType {
  return Object.hasOwn(DESTINATIONS, type);
}

/** The destination of a type, for code that passes it configs its `configSchema` has validated. */
export function destinationOf(type: DestinationType): DestinationDefinition {
  return DESTINATIONS[type] as unknown as DestinationDefinition;
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
