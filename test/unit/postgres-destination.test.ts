import { DatabaseError } from 'pg';
import { describe, expect, it } from 'vitest';
import { classifyPostgresError } from '../../src/destinations/postgres/errors';
import { isRetryable } from '../../src/errors';

const context = {
  host: 'db.example.com',
  port: 5432,
  database: 'warehouse',
  schema: 'analytics',
  table: 'events',
  secrets: ['exporter', 's3cr3t-pw'],
};

function serverError(code: string, message: string): DatabaseError {
  const error = new DatabaseError(message, message.length, 'error');
  error.code = code;
  return error;
}

describe('Postgres error classification', () => {
  it.each([
    ['28P01', 'password authentication failed for user "exporter"', 'check user and password'],
    ['3D000', 'database "warehouse" does not exist', 'Database "warehouse" does not exist'],
    ['3F000', 'schema "analytics" does not exist', 'Schema "analytics" does not exist'],
    ['42501', 'permission denied for table events', 'grant it USAGE and CREATE on schema "analytics"'],
    ['42804', 'column "team_id" is of type integer but expression is of type text', 'check its column types'],
    ['22P02', 'invalid input syntax for type integer: "abc"', 'Exported values do not fit'],
    ['42P10', 'there is no unique or exclusion constraint matching the ON CONFLICT specification', 'primary key'],
  ])('does not retry SQLSTATE %s and says what to fix', (code, message, hint) => {
    const error = classifyPostgresError(serverError(code, message), context);
    expect(isRetryable(error.kind)).toBe(false);
    expect(error.message).toContain(hint);
    expect(error.message).toContain(`SQLSTATE ${code} on db.example.com:5432/warehouse`);
  });

  it.each(['57P01', '53300', '40001', '40P01', '08006'])('retries SQLSTATE %s', (code) => {
    const error = classifyPostgresError(serverError(code, 'try again later'), context);
    expect(error.kind).toBe('transient');
  });

  it('retries refused and reset connections', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET']) {
      const error = classifyPostgresError(Object.assign(new Error(`connect ${code}`), { code }), context);
      expect(error.kind).toBe('transient');
      expect(error.message).toContain('Could not reach the destination database at db.example.com:5432');
    }
  });

  it('never repeats the user or password, even when the server names them', () => {
    const error = classifyPostgresError(
      serverError('28P01', 'password authentication failed for user "exporter"'),
      context,
    );
    expect(error.message).not.toContain('exporter');
    expect(error.message).toContain('user "***"');
  });
});
