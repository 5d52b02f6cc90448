/**
 * What went wrong, as far as retrying is concerned. Every error an export can hit is mapped to one of these
 * (destinations map their client errors in their own folder); `isRetryable` is the single place that decides.
 */
export type ErrorKind =
  /** The export's configuration cannot work: bad credentials, missing bucket or schema, incompatible table. */
  | 'configuration'
  /** The credentials work but lack a permission. */
  | 'permission'
  /** Network trouble, throttling, a 5xx: worth another attempt. */
  | 'transient'
  /** Anything we have not classified: retried, since giving up on a passing fault loses an interval. */
  | 'unknown'
  /** The destination does not hold what the export wrote (its own count after commit differs): not retried. */
  | 'verification';

export function isRetryable(kind: ErrorKind): boolean {
  switch (kind) {
    case 'configuration':
    case 'permission':
    case 'verification':
      return false;
    case 'transient':
    case 'unknown':
      return true;
    default:
      return assertNever(kind);
  }
}

/** What an error of this kind means for the user: appended to `latest_error` while a run retries. */
export function errorKindHint(kind: ErrorKind): string {
  switch (kind) {
    case 'configuration':
      return "fix the export's destination settings";
    case 'permission':
      return 'grant the credentials the missing permission';
    case 'transient':
      return 'network or service trouble, which may pass';
    case 'unknown':
      return 'an unexpected error, which may pass';
    case 'verification':
      return 'the destination does not hold what was written: check triggers, rules or other writers on it';
    default:
      return assertNever(kind);
  }
}

/** An error with a message meant for the user (it ends up in the run's `latest_error`). */
export class BatchExportError extends Error {
  override name = 'BatchExportError';
  readonly kind: ErrorKind;
  readonly context: Record<string, unknown>;

  constructor(message: string, options: { kind: ErrorKind; cause?: unknown; context?: Record<string, unknown> }) {
    super(message, { cause: options.cause });
    this.kind = options.kind;
    this.context = options.context ?? {};
  }
}

/**
 * A destination the service will not connect to: a host on the service's own network, or S3 without keys when the
 * worker's credentials are not lent. Never retried; the API answers 400 naming `destination.config.<field>`.
 */
export class DestinationRefusedError extends BatchExportError {
  override name = 'DestinationRefusedError';
  constructor(
    message: string,
    /** The destination config field at fault. */
    readonly field: string,
  ) {
    super(message, { kind: 'configuration', context: { field } });
  }
}

/** A stored batch export (or run, backfill, ...) that does not exist, or belongs to another team. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** One thing wrong with an input: the field (dotted path, null for the whole input), a code and what to fix. */
export interface ValidationProblem {
  attr: string | null;
  code: string;
  detail: string;
}

/** Input that fails validation; `attr` names the offending field, `problems` lists every one (this one first). */
export class ValidationError extends Error {
  override name = 'ValidationError';
  readonly problems: ValidationProblem[];
  constructor(
    message: string,
    readonly attr: string | null,
    readonly code = 'invalid_input',
    problems?: ValidationProblem[],
  ) {
    super(message);
    this.problems = problems ?? [{ attr, code, detail: message }];
  }
}

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** True for socket-level failures that a later attempt may not see. */
export function isTransientNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function assertNever(value: never): never {
  throw new Error(`Unexpected value: ${JSON.stringify(value)}`);
}
