import { z } from 'zod';

/**
 * A destination that reads the interval's rows and discards them: for testing and benchmarking the source side
 * (model queries, streaming) without a store in the way.
 */
export const NoOpDestinationConfig = z.strictObject({
  include_events: z.array(z.string().min(1)).nullish(),
  exclude_events: z.array(z.string().min(1)).nullish(),
});
export type NoOpDestinationConfig = z.infer<typeof NoOpDestinationConfig>;

export const NOOP_SECRET_FIELDS = [] as const;
