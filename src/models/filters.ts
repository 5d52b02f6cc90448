import { z } from 'zod';

/** The operators a property filter may use. */
export const FilterOperator = z.enum([
  'exact',
  'is_not',
  'icontains',
  'not_icontains',
  'regex',
  'not_regex',
  'gt',
  'lt',
  'is_set',
  'is_not_set',
]);
export type FilterOperator = z.infer<typeof FilterOperator>;

// Postgres text cannot hold NUL: such a value could never match, and would fail the query.
const Text = z.string().refine((value) => !value.includes('\u0000'), 'must not contain NUL characters');
const Scalar = z.union([Text, z.number(), z.boolean()]);

/** One property filter of a batch export's `filters`: on the event's properties, or the person's. */
export const PropertyFilter = z
  .strictObject({
    key: Text.min(1).max(400),
    operator: FilterOperator.default('exact'),
    value: z.union([Scalar, z.array(Scalar).min(1)]).nullish(),
    type: z.enum(['event', 'person']).default('event'),
  })
  .superRefine((filter, ctx) => {
    const needsValue = filter.operator !== 'is_set' && filter.operator !== 'is_not_set';
    if (needsValue && (filter.value === undefined || filter.value === null)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `Operator "${filter.operator}" needs a value` });
      return;
    }
    const single = ['icontains', 'not_icontains', 'regex', 'not_regex', 'gt', 'lt'];
    if (single.includes(filter.operator) && Array.isArray(filter.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `Operator "${filter.operator}" takes one value` });
    }
    if ((filter.operator === 'gt' || filter.operator === 'lt') && !Number.isFinite(Number(filter.value))) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `Operator "${filter.operator}" compares numbers` });
    }
    // Regular expressions are checked by Postgres, which runs them, when an export is saved (src/service/validation.ts).
  });
export type PropertyFilter = z.infer<typeof PropertyFilter>;

export const PropertyFilters = z.array(PropertyFilter).max(100);
export type PropertyFilters = z.infer<typeof PropertyFilters>;

/**
 * Matches a number as Postgres' numeric input accepts it, so that a cast never fails on other text. Exponents have at
 * most four digits and the text is bounded (MAX_NUMBER_TEXT): numeric holds at most 131,072 digits before the point.
 */
const NUMERIC_TEXT = `'^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]{1,4})?\\s*$'`;
const MAX_NUMBER_TEXT = 1000;

/** The SQL text expression `text` as numeric, or NULL when it is not a number numeric can hold. */
export function numericOrNull(text: string): string {
  return `(CASE WHEN char_length(${text}) <= ${MAX_NUMBER_TEXT} AND ${text} ~ ${NUMERIC_TEXT} THEN (${text})::numeric END)`;
}

/**
 * SQL conditions for property filters. `column(type)` gives the JSON expression holding the properties; keys and
 * values travel as parameters appended to `values` (never in the text). A missing property is "not equal" to any
 * value and contains nothing, as users expect from `is_not` / `not_icontains`.
 */
export function filterConditions(
  filters: readonly PropertyFilter[],
  column: (type: PropertyFilter['type']) => string,
  values: unknown[],
): string[] {
  const param = (value: unknown, cast: string) => {
    values.push(value);
    return `$${values.length}::${cast}`;
  };
  return filters.map((filter) => {
    const text = `(${column(filter.type)} ->> ${param(filter.key, 'text')})`;
    const values = Array.isArray(filter.value) ? filter.value : [filter.value];
    // Numbers compare as numbers, so that 5 matches a property stored as 5.0 or 5e0.
    const numbers = values.every((value) => typeof value === 'number');
    const equals = () =>
      numbers
        ? `${numericOrNull(text)} = ANY(${param(values, 'numeric[]')})`
        : `${text} = ANY(${param(values.map(String), 'text[]')})`;
    const one = String(filter.value);
    switch (filter.operator) {
      case 'exact':
        return `coalesce(${equals()}, false)`;
      case 'is_not':
        return `NOT coalesce(${equals()}, false)`;
      case 'icontains':
        return `coalesce(strpos(lower(${text}), lower(${param(one, 'text')})) > 0, false)`;
      case 'not_icontains':
        return `NOT coalesce(strpos(lower(${text}), lower(${param(one, 'text')})) > 0, false)`;
      case 'regex':
        return `coalesce(${text} ~ ${param(one, 'text')}, false)`;
      case 'not_regex':
        return `NOT coalesce(${text} ~ ${param(one, 'text')}, false)`;
      case 'gt':
      case 'lt':
        return `coalesce(${numericOrNull(text)} ${filter.operator === 'gt' ? '>' : '<'} ${param(Number(filter.value), 'numeric')}, false)`;
      case 'is_set':
        return `${text} IS NOT NULL`;
      case 'is_not_set':
        return `${text} IS NULL`;
    }
  });
}
