import { describe, expect, it } from 'vitest';
import { compileHogQL, HogQLError, validateHogQL } from '../../src/models/hogql';

function problem(query: string): string {
  try {
    validateHogQL(query);
  } catch (error) {
    if (error instanceof HogQLError) return error.message;
    throw error;
  }
  throw new Error(`expected "${query}" to be refused`);
}

describe('hogql_query compilation', () => {
  it('turns selected expressions into fields named by their aliases, with types', () => {
    const values: unknown[] = [];
    const compiled = compileHogQL(
      "SELECT event, properties.$browser AS browser, toInt(properties.amount) * 2 AS doubled, upper(distinct_id) AS who, timestamp FROM events WHERE event = 'purchase'",
      values,
    );
    expect(compiled.fields.map((field) => [field.name, field.type])).toEqual([
      ['event', 'string'],
      ['browser', 'string'],
      ['doubled', 'integer'],
      ['who', 'string'],
      ['timestamp', 'timestamp'],
    ]);
    expect(values).toEqual(['$browser', 'amount', 2, 'purchase']);
    expect(compiled.where).toBe('(r.event = $4::text)');
  });

  it('numbers parameters after the ones already in the query', () => {
    const values: unknown[] = [1, 'a', 'b'];
    const compiled = compileHogQL("SELECT event FROM events WHERE distinct_id IN ('x', 'y')", values);
    expect(values).toEqual([1, 'a', 'b', 'x', 'y']);
    expect(compiled.where).toBe('(r.distinct_id IN ($4::text, $5::text))');
  });

  it('keeps string literals out of the SQL text, whatever they contain', () => {
    const values: unknown[] = [];
    const attack = "x'; DROP TABLE events; --";
    const compiled = compileHogQL(`SELECT event FROM events WHERE event = 'x''; DROP TABLE events; --'`, values);
    expect(values).toEqual([attack]);
    expect(compiled.where).not.toContain('DROP');
    expect(compiled.where).not.toContain("'");
  });

  it('reads any word after a dot as a property name, keywords included', () => {
    const values: unknown[] = [];
    const compiled = compileHogQL('SELECT properties.order AS o, properties.from AS f FROM events', values);
    expect(compiled.fields.map((field) => field.name)).toEqual(['o', 'f']);
    expect(values).toEqual(['order', 'from']);
  });

  it('keeps property keys out of the SQL text, even quoted ones with quotes inside', () => {
    const values: unknown[] = [];
    const compiled = compileHogQL("SELECT properties.`a'); DROP TABLE events; --` AS a FROM events", values);
    expect(values).toEqual(["a'); DROP TABLE events; --"]);
    expect(compiled.fields[0]!.expression).not.toContain('DROP');
  });

  it('casts a string compared with a timestamp or uuid, after checking it is one', () => {
    const values: unknown[] = [];
    const compiled = compileHogQL(
      "SELECT uuid FROM events WHERE timestamp >= '2024-05-01T10:00:00Z' AND person_id = '0b1c2a4e-7f4b-4a39-9b7c-6f3f2a7d1e10'",
      values,
    );
    expect(compiled.where).toBe('((r.timestamp >= $1::timestamptz) AND (r.person_id = $2::uuid))');
    expect(problem("SELECT uuid FROM events WHERE timestamp > 'yesterday'")).toContain('is not a timestamp');
    expect(problem("SELECT uuid FROM events WHERE uuid = 'not-a-uuid'")).toContain('is not a uuid');
  });
});

describe('hogql_query validation', () => {
  it.each([
    ['SELECT event FROM persons', 'Unknown table "persons": a hogql_query can only select FROM events'],
    ['SELECT event FROM events JOIN persons ON true', 'Joins are not supported'],
    ['SELECT event FROM events LEFT JOIN persons ON true', 'Table aliases and joins are not supported'],
    ['SELECT event FROM events, persons', 'Joins are not supported'],
    ['SELECT event FROM events UNION SELECT event FROM events', 'UNION is not supported'],
    ['SELECT event FROM (SELECT * FROM events)', 'Subqueries are not supported'],
    ['SELECT event FROM events WHERE uuid IN (SELECT uuid FROM events)', 'Subqueries are not supported'],
    ['SELECT (SELECT 1) AS one FROM events', 'Subqueries are not supported'],
    ['SELECT * FROM events', 'SELECT * is not supported'],
    ['SELECT password FROM events', 'Unknown field "password"'],
    ['SELECT pg_sleep(10) AS nap FROM events', 'Unknown function "pg_sleep"'],
    ['SELECT event FROM pg_catalog.pg_user', 'Unknown table "pg_catalog"'],
    ['SELECT event FROM events; DROP TABLE events', 'Unexpected "DROP" after the query'],
    ["SELECT event FROM events WHERE event = 'a\u0000'", 'NUL characters are not allowed'],
    ['SELECT event FROM events -- comment', 'Comments are not allowed'],
    ['SELECT event FROM events /* comment */', 'Comments are not allowed'],
    ['SELECT event FROM events ORDER BY timestamp', 'ORDER BY is not supported'],
    ['SELECT event FROM events LIMIT 10', 'LIMIT is not supported'],
    ['SELECT event FROM events GROUP BY event', 'GROUP BY is not supported'],
    ['SELECT count(uuid) AS n FROM events', 'Unknown function "count"'],
    ['DELETE FROM events', 'A hogql_query starts with SELECT'],
    ['SELECT event', 'Expected FROM events after the selected fields'],
    ["SELECT event FROM events WHERE event = 'unterminated", 'Unterminated string'],
    ['SELECT event AS "x""; DROP TABLE events; --" FROM events', 'must be letters, digits and underscores'],
    ['SELECT event, event FROM events', '"event" is selected twice'],
    ['SELECT lower(event) FROM events', 'Give this expression a name with AS <alias>'],
    ['SELECT properties.$browser FROM events', 'Give this expression a name with AS <alias>'],
    ['SELECT event FROM events WHERE event', 'The WHERE condition must be true or false'],
    ['SELECT event FROM events WHERE properties.amount > 10', 'Cannot compare text with a whole number'],
    ['SELECT event FROM events WHERE event = NULL', 'use IS NULL'],
    ['SELECT properties = 1 AS x FROM events', 'Cannot compare JSON'],
    ['SELECT lower(team_id) AS x FROM events', 'lower takes text'],
    ['SELECT toDate(event) AS x FROM events', 'toDate takes a timestamp'],
    ["SELECT JSONExtractString(event, 'a') AS x FROM events", 'JSONExtractString reads properties'],
    ['SELECT properties.a.b AS x FROM events', 'Nested properties are not supported'],
    ['SELECT other.a AS x FROM events', 'Unknown table or object "other"'],
    ["SELECT event FROM events WHERE event = 'a' \\", 'Unexpected character "\\"'],
  ])('refuses %s', (query, message) => {
    expect(problem(query)).toContain(message);
  });

  it('refuses expressions nested too deeply instead of overflowing the stack', () => {
    const parentheses = `SELECT ${'('.repeat(3000)}1${')'.repeat(3000)} AS x FROM events`;
    expect(problem(parentheses)).toContain('Expressions are nested more than 64 levels deep');
    expect(problem(`SELECT ${'lower('.repeat(100)}event${')'.repeat(100)} AS x FROM events`)).toContain('nested');
    expect(problem(`SELECT event FROM events WHERE ${'NOT '.repeat(100)}true`)).toContain('nested');
    expect(() => validateHogQL(`SELECT ${'('.repeat(60)}1${')'.repeat(60)} AS x FROM events`)).not.toThrow();
    expect(problem(`SELECT ${'1 + '.repeat(2000)}1 AS x FROM events`)).toContain('too deeply nested');
    expect(() => validateHogQL(`SELECT ${'1 + '.repeat(200)}1 AS x FROM events`)).not.toThrow();
  });

  it('says where the problem is', () => {
    expect(problem('SELECT event, nope FROM events')).toBe(
      'Unknown field "nope": use one of uuid, event, properties, distinct_id, team_id, timestamp, created_at, inserted_at, elements_chain, person_id, person_properties, set, set_once, properties.<key> (at character 15)',
    );
  });

  it('accepts the supported functions and operators', () => {
    expect(() =>
      validateHogQL(
        `select uuid, event AS name, JSONExtractString(properties, 'utm', 'source') AS utm_source,
          coalesce(person_properties.email, distinct_id) AS who, concat(event, '-', team_id) AS label,
          toFloat(properties.price) / 100 AS price, length(trim(lower(event))) AS l, -toInt('7') % 3 AS m,
          events.timestamp AS ts, toString(properties) AS raw, event || '!' AS shout
         FROM events
         WHERE (event LIKE '$%' OR event NOT ILIKE '%test%') AND NOT properties.$browser IS NULL
           AND team_id NOT IN (1, 2) AND toFloat(properties.price) >= 9.5;`,
      ),
    ).not.toThrow();
  });
});
