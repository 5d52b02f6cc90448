import { Command } from 'commander';
import { UsageError } from './context';
import { runWebhookCommand, WEBHOOK_USAGE, WebhookUsageError } from './webhook-commands';

/** `webhooks <command> [options]`: webhook subscriptions and lateness alerts (src/cli/webhook-commands.ts). */
export function webhooksCommand(): Command {
  return new Command('webhooks')
    .description('Webhook subscriptions (create, list, delete, test, deliveries) and lateness alerts')
    .argument(
      '<command>',
      'webhook-create, webhook-list, webhook-delete, webhook-test, webhook-deliveries, freshness-alert',
    )
    .argument('[options...]', "the command's options (see below)")
    .allowUnknownOption()
    .helpOption('-h, --help', 'show the webhook commands')
    .addHelpText('after', `\n${WEBHOOK_USAGE}`)
    .action(async (command: string, options: string[]) => {
      try {
        console.log(JSON.stringify(await runWebhookCommand([command, ...options]), null, 2));
      } catch (error) {
        if (error instanceof WebhookUsageError) throw new UsageError(`${error.message}\n\n${WEBHOOK_USAGE}`);
        throw error;
      }
    });
}
