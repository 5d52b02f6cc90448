import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryable, type BatchExportError } from '../../errors';
import type { HttpEndpoint } from './endpoint';
import { answerError, isRetryableStatus, requestError, retryDelayMs } from './errors';

/** Tries of one batch within an attempt; after them the attempt fails and the activity's retry resumes the batch. */
export const TRIES_PER_BATCH = 6;

export interface DeliveryOptions {
  signal?: AbortSignal;
  /** Values masked in error messages (the token). */
  secrets: readonly string[];
  tries?: number;
  /** Told before each wait, with why and for how long: a line in the run's log. */
  onRetry?: (reason: string, delayMs: number) => Promise<void> | void;
}

/**
 * POSTs one batch until the endpoint acknowledges it (2xx). 408, 429, 5xx and network trouble are tried again after
 * the receiver's Retry-After (bounded) or an exponential backoff; any other answer fails at once, classified by
 * answerError. Every try carries the same headers, the idempotency key with them, so a receiver that did take a
 * try whose answer was lost drops the next.
 */
export async function deliverBatch(
  endpoint: HttpEndpoint,
  body: Buffer,
  headers: Record<string, string>,
  options: DeliveryOptions,
): Promise<void> {
  const tries = options.tries ?? TRIES_PER_BATCH;
  for (let attempt = 1; ; attempt++) {
    let failure: BatchExportError;
    let retryable: boolean;
    let retryAfter: string | null = null;
    try {
      const answer = await endpoint.post(body, headers, options.signal);
      if (answer.status >= 200 && answer.status < 300) return;
      failure = answerError(answer, endpoint.url, options.secrets, attempt);
      retryable = isRetryableStatus(answer.status);
      retryAfter = answer.retryAfter;
    } catch (error) {
      // A cancelled run stops here, with the abort as its reason.
      options.signal?.throwIfAborted();
      failure = requestError(error, endpoint.url);
      retryable = isRetryable(failure.kind);
    }
    if (!retryable || attempt >= tries) throw failure;
    const delay = retryDelayMs(attempt, retryAfter);
    await options.onRetry?.(failure.message, delay);
    await sleep(delay, undefined, { signal: options.signal });
  }
}
