import { describe, expect, it } from 'vitest';
import { Snowflake } from '../../src/destinations/snowflake';
import { SnowflakeDestinationConfig } from '../../src/destinations/snowflake/config';
import { connectToSnowflake } from '../../src/destinations/snowflake/connect';
import { classifySnowflakeError, errorContext } from '../../src/destinations/snowflake/errors';
import { createTableStatement, mergeStatement } from '../../src/destinations/snowflake/table';
import { tableSpec } from '../../src/destinations/postgres/table';
import { DestinationRefusedError, isRetryable } from '../../src/errors';
import { EVENT_FIELDS } from '../../src/models/events';
import { MODELS } from '../../src/models/registry';

const BASE = {
  account: 'myorg-myaccount',
  user: 'EXPORTER',
  password: 's3cr3t-pw',
  warehouse: 'COMPUTE_WH',
  database: 'ANALYTICS',
  schema: 'EXPORTS',
  table_name: 'events',
};
const config = SnowflakeDestinationConfig.parse(BASE);
const context = errorContext(config);

/** An error as the driver reports Snowflake's answer: a six-digit code, the SQLSTATE, Snowflake's message. */
function snowflakeError(code: string, sqlState: string, message: string): Error {
  return Object.assign(new Error(message), { code, sqlState });
}

describe('Snowflake config', () => {
  it('takes a password or a key pair, not both and not neither', () => {
    expect(config).toMatchObject({ protocol: 'https' });
    const key = '-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----';
    expect(
      SnowflakeDestinationConfig.safeParse({
        ...BASE,
        password: undefined,
        private_key: key,
        private_key_passphrase: 'p',
      }).success,
    ).toBe(true);
    const both = SnowflakeDestinationConfig.safeParse({ ...BASE, private_key: key });
    expect(both.error?.issues[0]).toMatchObject({
      path: ['private_key'],
      message: expect.stringContaining('not both'),
    });
    const neither = SnowflakeDestinationConfig.safeParse({ ...BASE, password: undefined });
    expect(neither.error?.issues[0]).toMatchObject({ path: ['password'] });
    const notPem = SnowflakeDestinationConfig.safeParse({ ...BASE, password: undefined, private_key: 'abc' });
    expect(notPem.error?.issues[0]?.path).toEqual(['private_key']);
    const passphraseAlone = SnowflakeDestinationConfig.safeParse({ ...BASE, private_key_passphrase: 'p' });
    expect(passphraseAlone.error?.issues[0]?.path).toEqual(['private_key_passphrase']);
  });

  it('names the field of a bad account or host', () => {
    const account = SnowflakeDestinationConfig.safeParse({ ...BASE, account: 'https://x.snowflakecomputing.com' });
    expect(account.error?.issues[0]?.path).toEqual(['account']);
    const host = SnowflakeDestinationConfig.safeParse({ ...BASE, host: 'http://localhost' });
    expect(host.error?.issues[0]?.path).toEqual(['host']);
    const unknown = SnowflakeDestinationConfig.safeParse({ ...BASE, passwd: 'x' });
    expect(unknown.success).toBe(false);
  });

  it('keeps the password and key pair write-only, bound to the account, host and user', () => {
    expect(Snowflake.secretFields).toEqual(['password', 'private_key', 'private_key_passphrase']);
    expect(Snowflake.endpointFields).toEqual(expect.arrayContaining(['account', 'host', 'port', 'protocol', 'user']));
    expect(Snowflake.describe(config)).toBe(
      'to snowflake://myorg-myaccount.snowflakecomputing.com table "ANALYTICS"."EXPORTS"."events"',
    );
  });
});

describe('Snowflake network policy', () => {
  it('refuses a host outside the policy on save and before dialling, naming the field', async () => {
    const local = SnowflakeDestinationConfig.parse({ ...BASE, host: '127.0.0.1', port: 1, protocol: 'http' });
    await expect(
      Snowflake.checkAccess(local, { allowedNetworks: [], s3WorkerCredentials: false }),
    ).rejects.toMatchObject({
      field: 'host',
    });
    await expect(connectToSnowflake(local, { allowedNetworks: [] })).rejects.toBeInstanceOf(DestinationRefusedError);
  });

  it('is a retryable error when the host does not answer (the real driver, a closed local port)', async () => {
    const local = SnowflakeDestinationConfig.parse({ ...BASE, host: '127.0.0.1', port: 1, protocol: 'http' });
    const error = await connectToSnowflake(local, { allowedNetworks: ['127.0.0.0/8'] }).then(
      () => null,
      (caught: unknown) => classifySnowflakeError(caught, errorContext(local)),
    );
    expect(error?.kind).toBe('transient');
    expect(error?.message).toContain('Could not reach Snowflake at 127.0.0.1');
  }, 60_000);
});

describe('Snowflake error classification', () => {
  it.each([
    ['390100', '08004', 'Incorrect username or password was specified.', 'check user and password'],
    ['390144', '08004', 'JWT token is invalid.', 'RSA_PUBLIC_KEY'],
    [
      '390189',
      '08004',
      "Role 'ANALYST' specified in the connect string does not exist or not authorized.",
      'check role',
    ],
    [
      '000606',
      '57P03',
      'No active warehouse selected in the current session.',
      'Warehouse "COMPUTE_WH" cannot be used',
    ],
    [
      '002003',
      '02000',
      "SQL compilation error:\nDatabase 'ANALYTICS' does not exist or not authorized.",
      'does not exist',
    ],
    [
      '003001',
      '42501',
      "SQL access control error:\nInsufficient privileges to operate on schema 'EXPORTS'",
      'grant it USAGE',
    ],
  ])('does not retry Snowflake error %s and says what to fix', (code, sqlState, message, hint) => {
    const error = classifySnowflakeError(snowflakeError(code, sqlState, message), context);
    expect(isRetryable(error.kind)).toBe(false);
    expect(error.message).toContain(hint);
    expect(error.message).toContain(`Snowflake error ${code} on Snowflake account myorg-myaccount`);
  });

  it('retries an expired session, a lost connection and what it does not know', () => {
    expect(
      classifySnowflakeError(snowflakeError('390114', '08001', 'Authentication token has expired.'), context).kind,
    ).toBe('transient');
    const reset = Object.assign(new Error('socket hang up'), { code: 401001, cause: { code: 'ECONNRESET' } });
    expect(classifySnowflakeError(reset, context).kind).toBe('transient');
    expect(classifySnowflakeError(snowflakeError('100999', 'XX000', 'odd'), context).kind).toBe('unknown');
  });

  it('keeps secrets out of the message', () => {
    const error = classifySnowflakeError(snowflakeError('390100', '08004', 'bad password s3cr3t-pw'), context);
    expect(error.message).not.toContain('s3cr3t-pw');
  });
});

describe('Snowflake SQL', () => {
  const events = tableSpec({ model: 'events', fields: EVENT_FIELDS, source: { text: '', values: [] }, orderBy: [] });

  it('creates the events table with VARIANT properties and a UTC timestamp, names quoted as given', () => {
    expect(createTableStatement(events, 'events')).toBe(
      'CREATE TABLE IF NOT EXISTS "events" ("uuid" VARCHAR, "event" VARCHAR, "properties" VARIANT, "elements" VARIANT, ' +
        '"set" VARIANT, "set_once" VARIANT, "distinct_id" VARCHAR, "team_id" NUMBER(38,0), "ip" VARCHAR, ' +
        '"site_url" VARCHAR, "timestamp" TIMESTAMP_NTZ(6), PRIMARY KEY ("uuid"))',
    );
  });

  it('merges events on uuid, inserting only unknown ones unless replacing', () => {
    const columns = events.columns.filter((column) => ['uuid', 'properties', 'timestamp'].includes(column.name));
    const merge = mergeStatement(events, columns, 'events', false);
    expect(merge).toContain('ON t."uuid" = s."uuid" WHEN NOT MATCHED THEN INSERT');
    expect(merge).toContain('PARSE_JSON(s."properties") AS "properties"');
    expect(merge).toContain('s."timestamp"::TIMESTAMP_NTZ(6) AS "timestamp"');
    expect(merge).not.toContain('WHEN MATCHED');
    expect(mergeStatement(events, columns, 'events', true)).toContain(
      'WHEN MATCHED THEN UPDATE SET "properties" = s."properties", "timestamp" = s."timestamp"',
    );
  });

  it("merges persons on the model's key when the model's version is newer", () => {
    const query = MODELS.persons.query({
      teamId: 1,
      dataIntervalStart: new Date('2024-01-01T00:00:00Z'),
      dataIntervalEnd: new Date('2024-01-01T01:00:00Z'),
    });
    const persons = tableSpec(query);
    const merge = mergeStatement(persons, persons.columns, 'persons', false);
    expect(merge).toContain('ON t."team_id" = s."team_id" AND t."distinct_id" = s."distinct_id"');
    expect(merge).toContain(
      'WHEN MATCHED AND (s."person_version" > t."person_version" OR s."person_distinct_id_version" > t."person_distinct_id_version") THEN UPDATE',
    );
  });
});
