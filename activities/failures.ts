import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { BatchExportError, errorMessage, isRetryable, isTransientNetworkError } from '../src/errors';

/**
 * Turns whatever an insert activity threw into the failure Temporal should see: non-retryable for errors the user
 * must fix (the run fails at once with their message), retryable for the rest.
 */
export function toActivityFailure(error: unknown): Error {
  if (error instanceof CancelledFailure || error instanceof ApplicationFailure) return error;
  if (error instanceof BatchExportError) {
    return isRetryable(error.kind)
      ? ApplicationFailure.retryable(error.message, error.kind)
      : ApplicationFailure.nonRetryable(error.message, error.kind);
  }
  const kind = isTransientNetworkError(error) ? 'transient' : 'unknown';
  return ApplicationFailure.retryable(errorMessage(error), kind);
}
