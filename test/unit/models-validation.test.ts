import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors';
import { BatchExportInput } from '../../src/service/schemas';
import { parseOrThrow } from '../../src/service/validation';

const base = {
  name: 'export',
  destination: { type: 'S3', config: { bucket_name: 'my-bucket', region: 'us-east-1' } },
};

function refusal(input: Record<string, unknown>): { attr: string | null; message: string } {
  try {
    parseOrThrow(BatchExportInput, { ...base, ...input });
  } catch (error) {
    if (error instanceof ValidationError) return { attr: error.attr, message: error.message };
    throw error;
  }
  throw new Error('expected the input to be refused');
}

describe('saving an export with a model, hogql_query or filters', () => {
  it('accepts persons and sessions exports', () => {
    expect(parseOrThrow(BatchExportInput, { ...base, model: 'persons' }).model).toBe('persons');
    expect(parseOrThrow(BatchExportInput, { ...base, model: 'sessions' }).model).toBe('sessions');
  });

  it('accepts a valid hogql_query', () => {
    const query = "SELECT event, properties.$browser AS browser FROM events WHERE event = 'purchase'";
    expect(parseOrThrow(BatchExportInput, { ...base, hogql_query: query }).hogql_query).toBe(query);
  });

  it('refuses a hogql_query that joins another table, naming the field and the problem', () => {
    expect(refusal({ hogql_query: 'SELECT event FROM events JOIN persons ON true' })).toEqual({
      attr: 'hogql_query',
      message: 'Joins are not supported: select from events only (at character 26)',
    });
  });

  it('refuses a hogql_query on the persons model', () => {
    expect(refusal({ model: 'persons', hogql_query: 'SELECT event FROM events' })).toEqual({
      attr: 'hogql_query',
      message: 'hogql_query selects from events: it cannot be used with the persons model',
    });
  });

  it('accepts property filters and fills in their defaults', () => {
    const parsed = parseOrThrow(BatchExportInput, { ...base, filters: [{ key: '$browser', value: 'Chrome' }] });
    expect(parsed.filters).toEqual([{ key: '$browser', operator: 'exact', value: 'Chrome', type: 'event' }]);
  });

  it.each([
    [[{ key: '$browser', operator: 'startswith', value: 'C' }], 'filters.0.operator'],
    [[{ key: '$browser', operator: 'exact' }], 'filters.0.value'],
    [[{ key: 'amount', operator: 'gt', value: 'many' }], 'filters.0.value'],
    [[{ key: '', operator: 'is_set' }], 'filters.0.key'],
    [[{ key: 'a', operator: 'is_set', sql: '1=1' }], 'filters.0.sql'],
    [[{ key: 'a\u0000b', operator: 'is_set' }], 'filters.0.key'],
    [[{ key: 'a', operator: 'exact', value: ['x', 'y\u0000'] }], 'filters.0.value.1'],
    [{ key: 'a' }, 'filters'],
  ])('refuses the filters %j at %s', (filters, attr) => {
    expect(refusal({ filters }).attr).toBe(attr);
  });
});
