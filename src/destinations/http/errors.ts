import { BatchExportError, errorMessage, isTransientNetworkError } from '../../errors';
import { HttpTimeoutError, type HttpAnswer } from './endpoint';

/** Statuses worth sending the same batch again for: the receiver is busy, throttling, or failed in passing. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The longest Retry-After the service waits for in an attempt; a longer one is cut to this. */
export const MAX_RETRY_AFTER_MS = 60_000;
/** Backoff between tries of a batch without Retry-After: 1 s, 2 s, 4 s, ... up to this. */
const BACKOFF_BASE_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/**
 * How long to wait before try `tries + 1` of a batch: the receiver's Retry-After (seconds or an HTTP date) when it
 * sent one, bounded by MAX_RETRY_AFTER_MS; else exponential backoff with jitter, so that intervals of a backfill
 * throttled together do not come back together.
 */
export function retryDelayMs(tries: number, retryAfter: string | null, now = Date.now()): number {
  const asked = parseRetryAfter(retryAfter, now);
  if (asked !== null) return Math.min(asked, MAX_RETRY_AFTER_MS);
  const backoff = Math.min(BACKOFF_BASE_MS * 2 ** (tries - 1), MAX_BACKOFF_MS);
  return Math.round(backoff * (0.5 + Math.random() / 2));
}

/** Retry-After in milliseconds from now; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * The start of a response body for an error message: one line, at most 200 characters, the token masked (a
 * receiver may echo what it was sent).
 */
export function bodyExcerpt(body: string, secrets: readonly string[]): string {
  let text = body;
  for (const secret of secrets) if (secret) text = text.split(secret).join('***');
  text = text.replace(/\p{Cc}+/gu, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/**
 * The error for an answer that is not a success. Redirects are refused (the token would follow them to a host
 * nobody checked), 401/403 name the token, 413 the batch size; other 4xx (but 408, 429) are the config's fault and
 * not retried; 408/429/5xx are transient (`tries` of them were made).
 */
export function answerError(answer: HttpAnswer, url: URL, secrets: readonly string[], tries = 1): BatchExportError {
  const { status } = answer;
  const excerpt = bodyExcerpt(answer.body, secrets);
  const said = `${url.origin}${url.pathname} answered ${status}${excerpt ? `: "${excerpt}"` : ''}`;
  if (status >= 300 && status < 400) {
    const location = answer.location ? redirectTarget(answer.location, url) : 'another address';
    return new BatchExportError(
      `${url.origin}${url.pathname} redirects (${status}) to ${location}: redirects are not followed, set url to ` +
        'the address that accepts the batches',
      { kind: 'configuration', context: { status } },
    );
  }
  if (isRetryableStatus(status)) {
    return new BatchExportError(`${said} (${tries} ${tries === 1 ? 'try' : 'tries'})`, {
      kind: 'transient',
      context: { status },
    });
  }
  const advice =
    status === 401
      ? 'the endpoint refused the token: check token'
      : status === 403
        ? 'the token may not send to this endpoint: check token and its permissions'
        : status === 404
          ? 'check url'
          : status === 413
            ? 'the batch is too large for the endpoint: lower max_batch_bytes or max_batch_rows'
            : 'the endpoint refused the batch: check url, format and headers';
  return new BatchExportError(`${said}; ${advice}`, {
    kind: status === 403 ? 'permission' : 'configuration',
    context: { status },
  });
}

/** Where a redirect points, without its query string (which could carry anything). */
function redirectTarget(location: string, base: URL): string {
  try {
    const target = new URL(location, base);
    return `${target.origin}${target.pathname}`;
  } catch {
    return 'an unreadable Location';
  }
}

/** A failure to get any answer: refusals by the network policy as they are, network trouble as transient. */
export function requestError(error: unknown, url: URL): BatchExportError {
  if (error instanceof BatchExportError) return error;
  const where = `${url.origin}${url.pathname}`;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /CERT|SIGNATURE|ERR_TLS/.test(code)) {
    return new BatchExportError(`${where} has a certificate this service does not trust: ${errorMessage(error)}`, {
      kind: 'configuration',
      cause: error,
    });
  }
  if (error instanceof HttpTimeoutError || isTransientNetworkError(error)) {
    return new BatchExportError(`Could not reach ${where}: ${errorMessage(error)}`, {
      kind: 'transient',
      cause: error,
    });
  }
  return new BatchExportError(`Sending to ${where} failed: ${errorMessage(error)}`, { kind: 'unknown', cause: error });
}
