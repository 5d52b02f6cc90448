import type { InsertRetryPolicy } from './contracts';

/**
 * The retry policy of attempts `made + 1`, `made + 2`, ... of `policy`: what the insert activity gets after a failed
 * local insert, so that the run's attempts keep the backoffs and the number the policy gives them
 * (`maximumAttempts` 0: unlimited). Pure: workflow code uses it.
 */
export function shiftedRetryPolicy(policy: InsertRetryPolicy, made: number): InsertRetryPolicy {
  if (made === 0) return policy;
  return {
    ...policy,
    initialIntervalMs: Math.min(policy.initialIntervalMs * policy.backoffCoefficient ** made, policy.maximumIntervalMs),
    maximumAttempts: policy.maximumAttempts === 0 ? 0 : Math.max(1, policy.maximumAttempts - made),
  };
}
