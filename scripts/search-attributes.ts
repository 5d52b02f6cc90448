import { loadTemporalConfig } from '../src/config';
import { connectClient } from '../src/temporal/connection';
import { registerSearchAttributes, SEARCH_ATTRIBUTES } from '../src/temporal-ui/search-attributes';

/**
 * `npm run temporal:search-attributes`: registers the search attributes runs and backfills carry (BatchExportId,
 * TeamId, DestinationType, BatchExportModel, BackfillId) in TEMPORAL_NAMESPACE through the operator service, like
 * `temporal operator search-attribute create`. Attributes already there are left alone. Restart the API afterwards:
 * it checks for them once at start-up.
 */
async function main(): Promise<void> {
  const config = loadTemporalConfig();
  const client = await connectClient(config);
  try {
    const added = await registerSearchAttributes(client.connection, config.namespace);
    const names = Object.values(SEARCH_ATTRIBUTES).map((key) => key.name);
    console.log(
      added.length
        ? `Registered ${added.join(', ')} in namespace ${config.namespace}`
        : `Namespace ${config.namespace} already has ${names.join(', ')}`,
    );
  } finally {
    await client.connection.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
