import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import { ValidationError } from '../errors';
import { parseOrThrow } from '../service/validation';

/**
 * Schemas whose bodies the services validate themselves (so that every caller of a service gets the same checks): on
 * a route they only document the body, and the handler gets it as sent.
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

/** No field of the API nests deeper than a few levels (filters, config): anything far deeper is a mistake or an attack. */
export const MAX_JSON_DEPTH = 32;

/**
 * preValidation hook, before anything walks the input recursively: refuses bodies nested deeper than
 * MAX_JSON_DEPTH, and the NUL character, which Postgres text and jsonb cannot hold, so it would fail deep in a
 * query. Each names the field.
 */
export async function rejectUnstorableInput(request: FastifyRequest): Promise<void> {
  for (const part of [request.query, request.body]) {
    const problem = findUnstorable(part);
    if (problem) throw new ValidationError(problem.message, problem.attr || null, problem.code);
  }
}

interface Problem {
  message: string;
  attr: string;
  code: string;
}

/**
 * The first string (or key) holding a NUL, or value nested too deep, with its dotted path. Iterative: a value
 * nested thousands of levels deep must not overflow the stack.
 */
function findUnstorable(root: unknown): Problem | undefined {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value: root, path: [] }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path } = next;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return nulProblem(path);
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (path.length >= MAX_JSON_DEPTH) {
      return {
        message: `Nested too deeply: at most ${MAX_JSON_DEPTH} levels of objects and arrays`,
        attr: path.slice(0, 3).join('.'),
        code: 'too_deep',
      };
    }
    // Reversed, so that the stack visits fields in order and the first problem found is the first in the input.
    for (const [key, item] of Object.entries(value).reverse()) {
      if (key.includes('\u0000')) return nulProblem([...path, key]);
      pending.push({ value: item, path: [...path, key] });
    }
  }
  return undefined;
}

function nulProblem(path: string[]): Problem {
  return { message: 'Text cannot contain the NUL character (\\u0000)', attr: path.join('.'), code: 'invalid_input' };
}
