import { z } from 'zod';

/** Config fields that are write-only: encrypted at rest, never returned or logged (the first is named first). */
export const POSTGRES_SECRET_FIELDS = ['password', 'user'] as const;

/** Where the secrets are sent: changing one of these requires sending the secrets again. */
export const POSTGRES_ENDPOINT_FIELDS = ['host', 'port', 'database', 'user'] as const;

// Postgres identifiers are at most 63 bytes; longer names are silently truncated, which would write elsewhere.
const Identifier = z
  .string()
  .min(1)
  .refine((value) => Buffer.byteLength(value, 'utf8') <= 63, 'must be at most 63 bytes long')
  .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters');

export const PostgresDestinationConfig = z.strictObject({
  host: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^\s/]+$/, 'must be a host name or IP address, without scheme or path'),
  port: z.number().int().min(1).max(65535).default(5432),
  user: z.string().min(1).max(63),
  password: z.string().max(1024).default(''),
  database: Identifier,
  schema: Identifier.default('public'),
  table_name: Identifier,
  /** Accept the server's certificate without verifying it (self-signed); TLS is still used when the server has it. */
  has_self_signed_cert: z.boolean().default(false),
  include_events: z.array(z.string().min(1)).nullish(),
  exclude_events: z.array(z.string().min(1)).nullish(),
});
export type PostgresDestinationConfig = z.infer<typeof PostgresDestinationConfig>;
