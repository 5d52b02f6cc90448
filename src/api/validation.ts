import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import { ValidationError } from '../errors';
import { parseOrThrow } from '../service/validation';

/**
 * Schemas whose bodies the services validate themselves (the CLI goes through the same services): on a route they
 * only document the body, and the handler gets it as sent.
 */
const documentedOnly = new WeakSet<object>();

export function validatedByService<T extends z.ZodType>(schema: T): T {
  documentedOnly.add(schema);
  return schema;
}

/**
 * Validates params, query strings and bodies with their zod schemas. A failure is a ValidationError naming the field,
 * the same error the services raise, so one error handler shapes both.
 */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data) => {
    if (documentedOnly.has(schema)) return { value: data };
    try {
      return { value: parseOrThrow(schema, data) };
    } catch (error) {
      return { error: error as Error };
    }
  };

/**
 * preValidation hook: Postgres text and jsonb cannot hold the NUL character, so a body or query string carrying one
 * would fail deep in a query. It is refused up front, naming the field.
 */
export async function rejectNulCharacters(request: FastifyRequest): Promise<void> {
  for (const part of [request.query, request.body]) {
    const attr = findNul(part, []);
    if (attr !== undefined) {
      throw new ValidationError('Text cannot contain the NUL character (\\u0000)', attr || null, 'invalid_input');
    }
  }
}

/** The dotted path of the first string (or key) holding a NUL, or undefined. */
function findNul(value: unknown, path: string[]): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path.join('.') : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const itemPath = [...path, key];
    if (key.includes('\u0000')) return itemPath.join('.');
    const found = findNul(item, itemPath);
    if (found !== undefined) return found;
  }
  return undefined;
}
