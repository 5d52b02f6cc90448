import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config';
import { encryptJson } from '../crypto';
import {
  findBatchExport,
  getDestinationConfigWithSecrets,
  insertBatchExport,
  setBatchExportPaused,
  updateBatchExport as updateBatchExportRow,
  type BatchExportChanges,
  type BatchExportRecord,
  type Queryable,
} from '../db/batch-exports';
import { DESTINATIONS, splitSecrets, type DestinationType } from '../destinations';
import { NotFoundError, ValidationError } from '../errors';
import { isUuid } from '../ids';
import { checkDestinationAccess, mergeDestinationConfig } from './destination-access';
import { BatchExportInput } from './schemas';
import { changeConsistently, type SyncDependencies } from './temporal-sync';
import { checkRegexFilters, parseOrThrow } from './validation';

export { TemporalUnavailableError, withTemporalDeadline } from './temporal-sync';

export interface ServiceDependencies extends SyncDependencies {
  config: Pick<
    Config,
    'encryptionKey' | 'temporal' | 'schedule' | 'backfills' | 'destinationAccess' | 'api' | 'notifications'
  >;
}

/**
 * Stores a batch export with its destination and creates its schedule. Postgres and Temporal do not drift: the rows
 * are committed only after the schedule exists, and a schedule whose rows could not be committed is deleted again.
 */
export async function createBatchExport(
  deps: ServiceDependencies,
  teamId: number,
  rawInput: unknown,
  /** Who creates it: recorded as who paused an export created paused. */
  options: { actor?: string } = {},
): Promise<BatchExportRecord> {
  const input = parseOrThrow(BatchExportInput, rawInput);
  const { type, config } = input.destination;
  await checkDestinationAccess(type as DestinationType, config, deps.config.destinationAccess);
  await checkRegexFilters(deps.pool, input.filters);
  return changeConsistently(deps, async (tx, temporal) => {
    let created = await insertBatchExport(tx, { teamId, paused: input.paused, ...toChanges(deps, input) });
    if (input.paused && options.actor) {
      await setBatchExportPaused(tx, created.id, { paused: true, pausedBy: options.actor });
      created = await requireBatchExport(tx, created.id, [teamId]);
    }
    const note = input.paused ? (options.actor ? pauseNote(true, options.actor) : 'Created paused') : undefined;
    await temporal.apply(
      'create the schedule',
      () => deps.temporal.schedule.create(temporal.options(created, note)),
      () => deps.temporal.schedule.getHandle(created.id).delete(),
    );
    return created;
  });
}

/** Fields of a response that a client may send back unchanged: ignored on update, so a GET → PUT round trip works. */
const READ_ONLY_FIELDS = [
  'id',
  'team_id',
  'created_at',
  'last_updated_at',
  'last_paused_at',
  'paused_by',
  'latest_runs',
  'freshness',
];

/**
 * Updates an export and its schedule together. PATCH (`replace: false`) changes the fields it names; PUT replaces
 * them all (omitted ones take their defaults). Either way, destination secrets left out keep their stored values,
 * since no client ever sees them (null removes one), and the destination type cannot change. Changing `paused`
 * pauses or unpauses.
 */
export async function updateBatchExport(
  deps: ServiceDependencies,
  teamIds: number[],
  id: string,
  body: unknown,
  options: { replace: boolean; actor: string },
): Promise<BatchExportRecord> {
  return changeConsistently(deps, async (tx, temporal) => {
    const current = await requireBatchExport(tx, id, teamIds, { lock: true });
    const type = current.destination.type as DestinationType;
    const stored = (await getDestinationConfigWithSecrets(tx, deps.config.encryptionKey, id))?.config ?? {};
    const input = parseOrThrow(BatchExportInput, mergeUpdate(current, stored, body, options.replace));
    // An update that leaves the destination as it is (a pause, a rename) is not refused for it.
    if (destinationChanged(type, stored, input.destination.config)) {
      await checkDestinationAccess(type, input.destination.config, deps.config.destinationAccess);
    }
    await checkRegexFilters(deps.pool, input.filters);
    await updateBatchExportRow(tx, id, toChanges(deps, input));
    const pausedChanged = input.paused !== current.paused;
    if (pausedChanged) {
      await setBatchExportPaused(tx, id, input.paused ? { paused: true, pausedBy: options.actor } : { paused: false });
    }
    const updated = await requireBatchExport(tx, id, teamIds);
    const note = pausedChanged ? pauseNote(input.paused, options.actor) : (previous?: string) => previous;
    await temporal.syncSchedule(updated, current, note);
    return updated;
  });
}

export function pauseNote(paused: boolean, actor: string): string {
  return `${paused ? 'Paused' : 'Unpaused'} by ${actor}`;
}

/** The export, or NotFoundError: one that is deleted or belongs to another team does not exist for the caller. */
export async function requireBatchExport(
  db: Queryable,
  id: string,
  teamIds: number[],
  options: { lock?: boolean } = {},
): Promise<BatchExportRecord> {
  const found = isUuid(id) ? await findBatchExport(db, id, teamIds, options) : null;
  if (!found) throw new NotFoundError('Batch export not found');
  return found;
}

/** The body of an update merged onto the stored export, as one whole BatchExportInput to validate. */
function mergeUpdate(
  current: BatchExportRecord,
  stored: Record<string, unknown>,
  body: unknown,
  replace: boolean,
): unknown {
  if (!isObject(body)) throw new ValidationError('The body must be a JSON object', null, 'invalid_input');
  const fields = Object.fromEntries(Object.entries(body).filter(([field]) => !READ_ONLY_FIELDS.includes(field)));
  const destination = fields.destination ?? {};
  if (!isObject(destination)) throw new ValidationError('destination must be an object', 'destination');
  const { type = current.destination.type, config = {}, ...rest } = destination;
  delete rest.id; // A response's destination.id, sent back: read-only.
  if (type !== current.destination.type) {
    throw new ValidationError(
      `The destination type cannot be changed (from ${current.destination.type} to ${String(type)}): create a new batch export instead`,
      'destination.type',
      'destination_type_change',
    );
  }
  if (!isObject(config)) throw new ValidationError('destination.config must be an object', 'destination.config');
  const merged = mergeDestinationConfig(current.destination.type as DestinationType, stored, config, { replace });
  const base = replace ? { paused: current.paused } : storedInput(current);
  return { ...base, ...fields, destination: { ...rest, type, config: merged } };
}

/** Whether an update's validated destination config differs from the stored one, defaults applied to both. */
function destinationChanged(type: DestinationType, stored: Record<string, unknown>, updated: unknown): boolean {
  const parsed = DESTINATIONS[type].configSchema.safeParse(stored);
  return !parsed.success || !isDeepStrictEqual(parsed.data, updated);
}

/** The stored export in the shape a client would send it. */
function storedInput(current: BatchExportRecord): Record<string, unknown> {
  return {
    name: current.name,
    model: current.model,
    interval: current.interval,
    paused: current.paused,
    start_at: current.start_at?.toISOString() ?? null,
    end_at: current.end_at?.toISOString() ?? null,
    hogql_query: current.hogql_query,
    filters: current.filters,
    timezone: current.timezone,
    offset_day: current.offset_day,
    offset_hour: current.offset_hour,
  };
}

function toChanges(deps: ServiceDependencies, input: BatchExportInput): BatchExportChanges {
  const { plain, secrets } = splitSecrets(input.destination.type as DestinationType, input.destination.config);
  return {
    name: input.name,
    model: input.model,
    interval: input.interval,
    startAt: input.start_at ?? null,
    endAt: input.end_at ?? null,
    hogqlQuery: input.hogql_query ?? null,
    filters: input.filters ?? null,
    timezone: input.timezone,
    offsetDay: input.offset_day ?? null,
    offsetHour: input.offset_hour ?? null,
    destination: {
      type: input.destination.type,
      config: plain,
      encryptedSecrets: Object.keys(secrets).length ? encryptJson(deps.config.encryptionKey, secrets) : null,
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
