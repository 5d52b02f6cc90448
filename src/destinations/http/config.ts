import { z } from 'zod';

/**
 * The two bodies a batch can be POSTed as: the platform's capture `/batch` shape (`{"api_key": token,
 * "historical_migration": true, "batch": [event, ...]}`, events only) or plain JSON lines (one row per line, any
 * model), whose token travels as `Authorization: Bearer`.
 */
export const HttpBodyFormat = z.enum(['capture', 'JSONLines']);
export type HttpBodyFormat = z.infer<typeof HttpBodyFormat>;

/** Config fields that are write-only: encrypted at rest, never returned or logged. */
export const HTTP_SECRET_FIELDS = ['token'] as const;

/** Where the token is sent: changing the URL (its origin, or anything else in it) requires the token again. */
export const HTTP_ENDPOINT_FIELDS = ['url'] as const;

/** The header a receiver can recognise a test step's probe by (an empty batch), documented in the README. */
export const PROBE_HEADER = 'x-batch-export-test';
/** The header carrying `<export id>:<interval>:<batch number>`, the same on every retry of a batch. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/**
 * Headers the service sets itself (body framing, the token, the idempotency key): a custom header may not replace
 * them. Credentials go in `token`, which is write-only; `headers` are returned by the API like any other setting.
 */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'authorization',
  'proxy-authorization',
  IDEMPOTENCY_HEADER,
  PROBE_HEADER,
]);

/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const Headers = z
  .record(
    z.string().regex(HEADER_NAME, "must be a header name (letters, digits and !#$%&'*+.^_`|~-)").max(256),
    // No CR/LF/NUL: a value may not start another header.
    z
      .string()
      .max(8192)
      .regex(/^[^\r\n\0]*$/, 'must not contain line breaks or NUL'),
  )
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > 50) ctx.addIssue({ code: 'custom', message: 'at most 50 headers' });
    for (const name of names) {
      const lower = name.toLowerCase();
      if (!RESERVED_HEADERS.has(lower)) continue;
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message:
          lower === 'authorization'
            ? 'put credentials in token (write-only): headers are returned by the API'
            : `${name} is set by the service and cannot be overridden`,
      });
    }
  });

export const HttpDestinationConfig = z.strictObject({
  /** Where batches are POSTed, e.g. https://eu.example.com/batch/. */
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .refine((value) => !new URL(value).username && !new URL(value).password, 'must not carry credentials: use token'),
  /** Write-only: `api_key` of the capture body, or `Authorization: Bearer <token>` with JSON lines. */
  token: z.string().min(1).max(4096).optional(),
  format: HttpBodyFormat.default('capture'),
  /** A batch holds at most this many rows... */
  max_batch_rows: z.number().int().min(1).max(100_000).default(1000),
  /** ...and at most this many bytes of rows before compression (a single larger row is sent alone). */
  max_batch_bytes: z
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(5 * 1024 * 1024),
  compression: z
    .enum(['gzip'])
    .nullish()
    .transform((value) => value ?? null),
  headers: Headers.default({}),
  /** A request without a response in this long is abandoned and retried. */
  timeout_seconds: z.number().int().min(1).max(600).default(30),
  include_events: z.array(z.string().min(1)).nullish(),
  exclude_events: z.array(z.string().min(1)).nullish(),
});
export type HttpDestinationConfig = z.infer<typeof HttpDestinationConfig>;
