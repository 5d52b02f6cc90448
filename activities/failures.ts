import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { BatchExportError, errorMessage, isRetryable, isTransientNetworkError, type ErrorKind } from '../src/errors';

/** An attempt's failure as the user sees it: the message (secrets redacted), its kind, whether it is retried. */
export interface AttemptFailure {
  message: string;
  kind: ErrorKind;
  retryable: boolean;
}

/** What went wrong, classified once: `toActivityFailure` and the run's record of a failed attempt agree. */
export function describeFailure(error: unknown, secrets: readonly string[] = []): AttemptFailure {
  if (error instanceof BatchExportError) {
    return { message: redact(error.message, secrets), kind: error.kind, retryable: isRetryable(error.kind) };
  }
  const kind = isTransientNetworkError(error) ? 'transient' : 'unknown';
  return { message: redact(errorMessage(error), secrets), kind, retryable: true };
}

/**
 * Turns whatever an insert activity threw into the failure Temporal should see: non-retryable for errors the user
 * must fix (the run fails at once with their message), retryable for the rest. The message becomes the run's
 * `latest_error`, so the destination's secret values are masked in it.
 */
export function toActivityFailure(error: unknown, secrets: readonly string[] = []): Error {
  if (error instanceof CancelledFailure || error instanceof ApplicationFailure) return error;
  const failure = describeFailure(error, secrets);
  return failure.retryable
    ? ApplicationFailure.retryable(failure.message, failure.kind)
    : ApplicationFailure.nonRetryable(failure.message, failure.kind);
}

/** Secrets shorter than this are not masked: a 1-3 character value would mask ordinary words. */
const MIN_SECRET_LENGTH = 4;

/** The message with every occurrence of a secret value replaced by `***`. */
export function redact(message: string, secrets: readonly string[]): string {
  let redacted = message;
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH) redacted = redacted.split(secret).join('***');
  }
  return redacted;
}
