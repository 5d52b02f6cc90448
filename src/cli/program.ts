import { Command } from 'commander';
import { adminCommands } from './admin';
import { ApiRequestError } from './api-client';
import { backfillCommand } from './backfill';
import { UsageError } from './context';
import { exportsCommand } from './exports';
import { filesCommand } from './files';
import { logsCommand, runsCommand } from './runs';
import { webhooksCommand } from './webhooks';

/** The CLI: commands that talk to the HTTP API, and the setup commands that write to the metadata database. */
export function buildProgram(): Command {
  const program = new Command('npm run cli --')
    .description('Batch exports from the command line. Every command takes --help.')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nAPI commands use --api-url/--api-key/--project, else BATCH_EXPORTS_API_URL, BATCH_EXPORTS_API_KEY and\n' +
        "BATCH_EXPORTS_PROJECT_ID, else (in a checkout where npm run dev ran) the dev stack's. setup and the create-*\n" +
        'commands write to the database at DATABASE_URL.',
    );
  program.addCommand(exportsCommand());
  program.addCommand(backfillCommand());
  program.addCommand(runsCommand());
  program.addCommand(logsCommand());
  program.addCommand(filesCommand());
  program.addCommand(webhooksCommand());
  for (const command of adminCommands()) program.addCommand(command);
  return program;
}

/** Runs the CLI: a refusal or a usage mistake is one line on stderr and exit code 1, never a stack trace. */
export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ApiRequestError) console.error(error.message);
    else console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  }
}
