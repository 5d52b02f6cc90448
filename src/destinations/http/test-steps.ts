import { randomUUID } from 'node:crypto';
import type { DestinationTestStep } from '../contract';
import { encodeBatch } from './batches';
import { PROBE_HEADER, type HttpDestinationConfig } from './config';
import { deliverBatch } from './deliver';
import { HttpEndpoint } from './endpoint';

export const HTTP_TEST_STEPS: readonly DestinationTestStep<HttpDestinationConfig>[] = [
  {
    name: 'Reach the endpoint',
    description:
      `POSTs an empty batch, with the configured format, compression, headers and token, and the header ` +
      `${PROBE_HEADER}: true so that the receiver can tell it from data. Passes on any 2xx answer.`,
    async run(config, { signal, access }) {
      const probe = await encodeBatch(config, [], `test:${randomUUID()}`);
      const endpoint = new HttpEndpoint(config, access);
      try {
        // One try: a step reports what the endpoint says now; 429 and 5xx are reported, not waited out.
        await deliverBatch(
          endpoint,
          probe.body,
          { ...probe.headers, [PROBE_HEADER]: 'true' },
          { signal, secrets: config.token ? [config.token] : [], tries: 1 },
        );
      } finally {
        endpoint.close();
      }
    },
  },
];
