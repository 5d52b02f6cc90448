import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError, ValidationError, type ValidationProblem } from '../errors';
import { TooManyBackfillsError } from '../service/backfills';
import { TemporalUnavailableError } from '../service/batch-exports';

/** An error that is the response: status and body as the client sees them. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly type: string,
    readonly code: string,
    detail: string,
    readonly attr: string | null = null,
  ) {
    super(detail);
  }

  /** The response body. */
  toJSON(): ErrorPayload {
    return payload(this.type, this.code, this.message, this.attr);
  }
}

export const unauthorized = (detail: string) => new ApiError(401, 'authentication_error', 'not_authenticated', detail);
export const forbidden = (detail: string) => new ApiError(403, 'authentication_error', 'permission_denied', detail);
export const notFound = () => new ApiError(404, 'invalid_request', 'not_found', 'Not found.');

/** Fastify's own request errors (body parsing, content type, size), named for the client. */
const REQUEST_ERROR_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'parse_error',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'parse_error',
  FST_ERR_CTP_BODY_TOO_LARGE: 'request_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
};

/**
 * The one place errors become responses: bad input is a 4xx naming the field, Temporal trouble a 503 saying so, and
 * anything else a 500 whose details stay in the log.
 */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  const body = toResponse(error);
  if (body.status === 503) {
    request.log.warn({ err: error.message }, 'Temporal unavailable');
  } else if (body.status >= 500) {
    request.log.error({ err: error }, 'Request failed');
  }
  return reply.status(body.status).send(body.payload);
}

function toResponse(error: FastifyError | Error): { status: number; payload: ErrorPayload } {
  if (error instanceof ApiError) return { status: error.statusCode, payload: error.toJSON() };
  if (error instanceof ValidationError) {
    // A path parameter that cannot be an id names nothing that exists.
    if ((error as { validationContext?: string }).validationContext === 'params') return toResponse(notFound());
    const body = payload('validation_error', error.code, error.message, error.attr);
    return { status: 400, payload: { ...body, errors: error.problems } };
  }
  if (error instanceof NotFoundError) return toResponse(notFound());
  // The team's limit of concurrent backfills is a 429, not bad input: the same request works later.
  if (error instanceof TooManyBackfillsError) {
    return { status: 429, payload: payload('throttled', 'too_many_backfills', error.message, null) };
  }
  if (error instanceof TemporalUnavailableError) {
    const detail = `Temporal is unavailable, so nothing was changed; try again later. ${error.message}`;
    return { status: 503, payload: payload('server_error', 'temporal_unavailable', detail, null) };
  }
  const fastifyError = error as FastifyError;
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code = REQUEST_ERROR_CODES[fastifyError.code] ?? 'invalid_request';
    return { status, payload: payload('invalid_request', code, error.message, null) };
  }
  return { status: 500, payload: payload('server_error', 'error', 'A server error occurred.', null) };
}

interface ErrorPayload {
  type: string;
  code: string;
  detail: string;
  attr: string | null;
  /** Validation errors: every problem found, the one above first. */
  errors?: ValidationProblem[];
}

function payload(type: string, code: string, detail: string, attr: string | null): ErrorPayload {
  return { type, code, detail, attr };
}
