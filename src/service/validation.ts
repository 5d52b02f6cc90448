import type { z } from 'zod';
import { ValidationError } from '../errors';

/** Parses with a zod schema; the first issue becomes a ValidationError naming the field (`destination.config.x`). */
export function parseOrThrow<T extends z.ZodType>(schema: T, data: unknown): z.output<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const attr = issue.path.length ? issue.path.map(String).join('.') : null;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    message = `Unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
    return throwValidation(message, attr ? `${attr}.${issue.keys[0]}` : (issue.keys[0] ?? null), 'unknown_field');
  }
  if (issue.code === 'invalid_type' && issue.path.length === 0) {
    return throwValidation('A JSON object is required', null, data == null ? 'required' : 'invalid_input');
  }
  // zod leaves `issue.input` out by default, so whether the field was sent is read from the data itself.
  const missing = issue.code === 'invalid_type' && valueAt(data, issue.path) === undefined;
  if (missing) message = 'This field is required';
  return throwValidation(message, attr, missing ? 'required' : 'invalid_input');
}

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let value = data;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function throwValidation(message: string, attr: string | null, code: string): never {
  throw new ValidationError(message, attr, code);
}
