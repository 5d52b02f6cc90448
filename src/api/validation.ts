import type { FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
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
