import type { DestinationAccess } from '../config';
import { destinationOf, DESTINATIONS, type DestinationDefinition, type DestinationType } from '../destinations';
import { DestinationRefusedError, ValidationError } from '../errors';

/**
 * A destination config sent by a client (an update, a test step's overrides) laid over the stored one, secrets
 * included: omitted secrets keep their stored values, null removes one. `replace` keeps only the stored secrets.
 *
 * Stored secrets only go where they were given for: when a field saying where they are sent (host, endpoint_url,
 * ...) changes, every stored secret must be sent again, or this is a 400 naming them.
 */
export function mergeDestinationConfig(
  type: DestinationType,
  stored: Record<string, unknown>,
  sent: Record<string, unknown>,
  options: { replace: boolean },
): Record<string, unknown> {
  const { secretFields, endpointFields }: DestinationDefinition = DESTINATIONS[type];
  const kept = options.replace
    ? Object.fromEntries(Object.entries(stored).filter(([field]) => secretFields.includes(field)))
    : stored;
  const merged: Record<string, unknown> = { ...kept, ...sent };
  // A secret cannot be read back, so null is how a client removes one.
  for (const field of secretFields) if (merged[field] === null) delete merged[field];

  const moved = endpointFields.find((field) => !sameValue(type, stored, merged, field));
  if (!moved) return merged;
  // An empty secret (a password-less login) tells nobody anything.
  const missing = secretFields.filter(
    (field) => stored[field] !== undefined && stored[field] !== '' && !(field in sent),
  );
  if (missing.length) {
    throw new ValidationError(
      `${missing.join(' and ')} must be sent again when ${moved} changes: stored secrets are only sent where they were given for`,
      `destination.config.${missing[0]}`,
      'secret_required',
    );
  }
  return merged;
}

/** Whether a field has the same value in both configs, defaults applied (an omitted port is 5432). */
function sameValue(
  type: DestinationType,
  stored: Record<string, unknown>,
  merged: Record<string, unknown>,
  field: string,
): boolean {
  const schema: DestinationDefinition['configSchema'] = DESTINATIONS[type].configSchema;
  const withDefaults = (config: Record<string, unknown>) => {
    const parsed = schema.safeParse(config);
    return (parsed.success ? parsed.data : config)[field] ?? null;
  };
  return JSON.stringify(withDefaults(stored)) === JSON.stringify(withDefaults(merged));
}

/**
 * Refuses, with a 400 naming the field, a validated destination config the service will not connect to: a host the
 * network policy refuses, S3 without keys when the worker's credentials are not lent.
 */
export async function checkDestinationAccess(
  type: DestinationType,
  config: Record<string, unknown>,
  access: DestinationAccess,
): Promise<void> {
  try {
    await destinationOf(type).checkAccess(config, access);
  } catch (error) {
    if (!(error instanceof DestinationRefusedError)) throw error;
    throw new ValidationError(error.message, `destination.config.${error.field}`, 'destination_not_allowed');
  }
}
