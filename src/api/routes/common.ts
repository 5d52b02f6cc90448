import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceDependencies } from '../../service/batch-exports';
import { ApiErrorResponse } from '../schemas';

/** What every route module gets: the services' dependencies and the path parameters of its scope. */
export interface RouteContext {
  deps: ServiceDependencies;
  /** `{organization_id}` or `{project_id}`: the routes are mounted under both. */
  scopeParams: z.ZodObject;
  /** The tag the routes get in the OpenAPI document. */
  tag: string;
}

/** The app with zod schemas typing request and reply. */
export function zodApp(app: FastifyInstance) {
  return app.withTypeProvider<ZodTypeProvider>();
}

/**
 * The scope's path parameters plus `shape`, typed by `shape` alone: handlers read only those, the scope's were
 * resolved by authentication. The scope's are in the schema so that the OpenAPI document lists them.
 */
export function scopedParams<T extends z.ZodRawShape>(scope: z.ZodObject, shape: T): z.ZodObject<T> {
  return scope.extend(shape) as unknown as z.ZodObject<T>;
}

/** The error responses every authenticated route may give, for the OpenAPI document. */
export function withErrors<R extends Record<number, z.ZodType>>(responses: R) {
  return {
    400: ApiErrorResponse.describe('Invalid input: `attr` names the field, `errors` lists every problem.'),
    401: ApiErrorResponse.describe('No valid personal API key.'),
    403: ApiErrorResponse.describe('The key lacks the scope or access to the organization or project.'),
    404: ApiErrorResponse.describe('No such object in this organization or project.'),
    413: ApiErrorResponse.describe('The body is larger than the API accepts.'),
    415: ApiErrorResponse.describe('The body is not JSON.'),
    429: ApiErrorResponse.describe('Too many requests with this API key: Retry-After says when to try again.'),
    503: ApiErrorResponse.describe('Temporal is unavailable; nothing was changed.'),
    ...responses,
  };
}

/** No body at all (a 204): documented without content (src/api/openapi.ts). */
export const NoContent = z.null().describe('No response body');
