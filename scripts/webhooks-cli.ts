import { runWebhookCommand, WEBHOOK_USAGE, WebhookUsageError } from '../src/cli/webhook-commands';

// npm run cli:webhooks -- <command>: the same as npm run cli -- webhooks <command>.
runWebhookCommand(process.argv.slice(2)).then(
  (result) => console.log(JSON.stringify(result, null, 2)),
  (error: unknown) => {
    console.error(error instanceof WebhookUsageError ? `${error.message}\n\n${WEBHOOK_USAGE}` : String(error));
    process.exit(error instanceof WebhookUsageError ? 2 : 1);
  },
);
