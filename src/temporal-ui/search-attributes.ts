import type { ConnectionLike } from '@temporalio/client';
import { SearchAttributeType, defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

/**
 * Custom search attributes on export runs and backfills, so an operator can filter them in the Temporal Web UI
 * (`TeamId=42 AND ExecutionStatus="Failed"`). The names are the query's; the types are fixed once registered.
 */
export const SEARCH_ATTRIBUTES = {
  batchExportId: defineSearchAttributeKey('BatchExportId', SearchAttributeType.KEYWORD),
  teamId: defineSearchAttributeKey('TeamId', SearchAttributeType.INT),
  destinationType: defineSearchAttributeKey('DestinationType', SearchAttributeType.KEYWORD),
  model: defineSearchAttributeKey('BatchExportModel', SearchAttributeType.KEYWORD),
  backfillId: defineSearchAttributeKey('BackfillId', SearchAttributeType.KEYWORD),
};

const ALL = Object.values(SEARCH_ATTRIBUTES);

/** `--search-attribute Name=Type` flags for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  const cliType = { KEYWORD: 'Keyword', INT: 'Int' } as const;
  return ALL.flatMap((key) => ['--search-attribute', `${key.name}=${cliType[key.type as keyof typeof cliType]}`]);
}

/** The attributes the namespace lacks, by name. */
export async function missingSearchAttributes(connection: ConnectionLike, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  return ALL.map((key) => key.name).filter((name) => !(customAttributes && name in customAttributes));
}

/**
 * Registers the attributes the namespace lacks (what `temporal operator search-attribute create` does), through
 * the operator service. Returns the names it registered; none when all were there.
 */
export async function registerSearchAttributes(connection: ConnectionLike, namespace: string): Promise<string[]> {
  const missing = new Set(await missingSearchAttributes(connection, namespace));
  const toAdd = ALL.filter((key) => missing.has(key.name));
  if (toAdd.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      toAdd.map((key) => [
        key.name,
        key.type === 'INT' ? IndexedValueType.INDEXED_VALUE_TYPE_INT : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  return toAdd.map((key) => key.name);
}

/**
 * Whether this process sets the attributes: only once `detectSearchAttributes` found them all, since a workflow
 * started with an attribute the cluster does not know is refused.
 */
let enabled = false;

/** How often a process that could not reach Temporal at start-up checks for the attributes again. */
const RETRY_MS = 30_000;

/**
 * Checks once, at start-up, that the namespace has the attributes; without them the process runs without setting any
 * and says so once (`warn`) with the command that registers them. When Temporal does not answer, it checks again
 * every 30 s (without saying so again) until it does.
 */
export async function detectSearchAttributes(
  connection: ConnectionLike,
  namespace: string,
  warn: (message: string) => void,
  /** Stops the later looks (aborted when the process shuts down, before the connection closes). */
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    const missing = await missingSearchAttributes(connection, namespace);
    enabled = missing.length === 0;
    if (!enabled) {
      warn(
        `Temporal namespace ${namespace} lacks the search attributes ${missing.join(', ')}: runs are started without ` +
          'any (register them with `npm run temporal:search-attributes`)',
      );
    }
  } catch (error) {
    enabled = false;
    warn(
      `Could not list the search attributes of namespace ${namespace}; runs are started without any until Temporal ` +
        `answers: ${String(error)}`,
    );
    // Temporal down at start-up: look again later, quietly, so that the attributes come on once it is back.
    if (!signal?.aborted) {
      const retry = setTimeout(
        () => void detectSearchAttributes(connection, namespace, () => undefined, signal),
        RETRY_MS,
      ).unref();
      signal?.addEventListener('abort', () => clearTimeout(retry), { once: true });
    }
  }
  return enabled;
}

interface ExportLike {
  id: string;
  team_id: number;
  name: string;
  model: string;
  destination: { type: string };
}

/** A run's search attributes, or none while they are not enabled. */
export function runSearchAttributes(batchExport: ExportLike, backfillId?: string): SearchAttributePair[] | undefined {
  if (!enabled) return undefined;
  const pairs: SearchAttributePair[] = [
    { key: SEARCH_ATTRIBUTES.batchExportId, value: batchExport.id },
    { key: SEARCH_ATTRIBUTES.teamId, value: batchExport.team_id },
    { key: SEARCH_ATTRIBUTES.destinationType, value: batchExport.destination.type },
    { key: SEARCH_ATTRIBUTES.model, value: batchExport.model },
  ];
  if (backfillId) pairs.push({ key: SEARCH_ATTRIBUTES.backfillId, value: backfillId });
  return pairs;
}

/** Search attributes and the static summary the Web UI shows for a scheduled run of the export. */
export function scheduledRunUiOptions(batchExport: ExportLike) {
  return {
    staticSummary: `Export "${batchExport.name}" (${batchExport.model} to ${batchExport.destination.type})`,
    typedSearchAttributes: runSearchAttributes(batchExport),
  };
}

/** The same for a backfill's workflow. */
export function backfillUiOptions(
  batchExport: ExportLike,
  backfill: { id: string; start_at: Date | null; end_at: Date | null },
) {
  const from = backfill.start_at?.toISOString() ?? 'the earliest data';
  return {
    staticSummary: `Backfill of "${batchExport.name}" from ${from} to ${backfill.end_at?.toISOString() ?? ''}`,
    typedSearchAttributes: runSearchAttributes(batchExport, backfill.id),
  };
}
