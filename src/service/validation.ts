import { DatabaseError, type Pool } from 'pg';
import type { z } from 'zod';
import { ValidationError, type ValidationProblem } from '../errors';
import type { PropertyFilter } from '../models/filters';

/**
 * Parses with a zod schema. On failure, a ValidationError: its message, attr and code are the first problem (what
 * clients have always read), and `problems` lists every one, unknown fields included, each naming its field
 * (`destination.config.x`).
 */
export function parseOrThrow<T extends z.ZodType>(schema: T, data: unknown): z.output<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => describeIssue(issue, data));
  const first = problems[0]!;
  throw new ValidationError(first.detail, first.attr, first.code, problems);
}

function describeIssue(issue: z.core.$ZodIssue, data: unknown): ValidationProblem[] {
  const attr = issue.path.length ? issue.path.map(String).join('.') : null;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      attr: attr ? `${attr}.${key}` : key,
      code: 'unknown_field',
      detail: `Unknown field: ${key}`,
    }));
  }
  if (issue.code === 'invalid_type' && issue.path.length === 0) {
    return [{ attr: null, code: data == null ? 'required' : 'invalid_input', detail: 'A JSON object is required' }];
  }
  // zod leaves `issue.input` out by default, so whether the field was sent is read from the data itself.
  const missing = issue.code === 'invalid_type' && valueAt(data, issue.path) === undefined;
  if (missing) return [{ attr, code: 'required', detail: 'This field is required' }];
  return [{ attr, code: 'invalid_input', detail: issue.message }];
}

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let value = data;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Postgres' SQLSTATE for a malformed regular expression. */
const INVALID_REGULAR_EXPRESSION = '2201B';

/**
 * Regex filters run in Postgres, whose regular expressions are not JavaScript's (no `(?<name>...)`, no `\p{L}`):
 * each is compiled by Postgres itself at save, so one it rejects is a 400 naming the filter, not a failed run later.
 */
export async function checkRegexFilters(
  pool: Pool,
  filters: readonly PropertyFilter[] | null | undefined,
): Promise<void> {
  const problems: ValidationProblem[] = [];
  for (const [index, filter] of (filters ?? []).entries()) {
    if (filter.operator !== 'regex' && filter.operator !== 'not_regex') continue;
    try {
      await pool.query("SELECT '' ~ $1::text", [String(filter.value)]);
    } catch (error) {
      if (!(error instanceof DatabaseError && error.code === INVALID_REGULAR_EXPRESSION)) throw error;
      problems.push({
        attr: `filters.${index}.value`,
        code: 'invalid_input',
        detail: `"${String(filter.value)}" is not a regular expression Postgres accepts (${error.message}): see the Postgres manual, 9.7.3 POSIX Regular Expressions`,
      });
    }
  }
  const first = problems[0];
  if (first) throw new ValidationError(first.detail, first.attr, first.code, problems);
}
