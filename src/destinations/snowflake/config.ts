import { z } from 'zod';

/** Write-only config fields: encrypted at rest, never returned or logged (the first is named first). */
export const SNOWFLAKE_SECRET_FIELDS = ['password', 'private_key', 'private_key_passphrase'] as const;

/**
 * Where the secrets are sent: changing one requires the secrets again. The account names the host
 * (`<account>.snowflakecomputing.com`) unless `host` overrides it; the user is who they log in as.
 */
export const SNOWFLAKE_ENDPOINT_FIELDS = ['account', 'host', 'port', 'protocol', 'user'] as const;

/**
 * A Snowflake identifier as the user types it in Snowflake: we quote it, so it is taken exactly (case included);
 * at most 255 characters (Snowflake's limit). Snowflake stores unquoted names in upper case: a table created with
 * `create table events` is `EVENTS`.
 */
const Identifier = z
  .string()
  .min(1)
  .max(255)
  .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters');

export const SnowflakeDestinationConfig = z
  .strictObject({
    /** The account identifier (`orgname-account_name` or the locator `xy12345.eu-west-1`), as in the account URL. */
    account: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be an account identifier such as myorg-myaccount'),
    user: z.string().min(1).max(255),
    password: z.string().max(1024).nullish(),
    /** A PEM private key (PKCS#8) for key-pair authentication, instead of a password. */
    private_key: z
      .string()
      .max(16_384)
      .regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'must be a PEM private key (-----BEGIN PRIVATE KEY-----)')
      .nullish(),
    private_key_passphrase: z.string().max(1024).nullish(),
    warehouse: Identifier,
    database: Identifier,
    schema: Identifier,
    table_name: Identifier,
    role: Identifier.nullish(),
    /**
     * Instead of `<account>.snowflakecomputing.com`: a private link host, or a local Snowflake emulator. Goes
     * through the network policy like every tenant host.
     */
    host: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[^\s/:]+$/, 'must be a host name or IP address, without scheme, port or path')
      .nullish(),
    port: z.number().int().min(1).max(65535).nullish(),
    protocol: z.enum(['https', 'http']).default('https'),
    include_events: z.array(z.string().min(1)).nullish(),
    exclude_events: z.array(z.string().min(1)).nullish(),
  })
  .superRefine((config, context) => {
    const password = Boolean(config.password);
    const key = Boolean(config.private_key);
    if (password === key) {
      context.addIssue({
        code: 'custom',
        path: [password ? 'private_key' : 'password'],
        message: password
          ? 'give either password or private_key, not both'
          : 'is required (or private_key for key-pair authentication)',
      });
    }
    if (config.private_key_passphrase && !key) {
      context.addIssue({ code: 'custom', path: ['private_key_passphrase'], message: 'needs private_key' });
    }
  });
export type SnowflakeDestinationConfig = z.infer<typeof SnowflakeDestinationConfig>;

/** The host the driver talks to: the override, else the account's own URL. */
export function snowflakeHost(config: Pick<SnowflakeDestinationConfig, 'account' | 'host'>): string {
  return config.host ?? `${config.account}.snowflakecomputing.com`;
}

/** Which field the host came from, for refusals that name it. */
export function snowflakeHostField(config: Pick<SnowflakeDestinationConfig, 'host'>): 'host' | 'account' {
  return config.host ? 'host' : 'account';
}
