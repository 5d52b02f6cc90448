import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Headers every notification carries. */
export const SIGNATURE_HEADER = 'x-batch-exports-signature';
export const TIMESTAMP_HEADER = 'x-batch-exports-timestamp';
export const EVENT_ID_HEADER = 'x-batch-exports-event-id';

/** A new signing secret: shown once, when the subscription is created. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/**
 * `sha256=<hex>`: HMAC-SHA256 with the secret over `<timestamp>.<body>`. The timestamp (Unix seconds) is signed so
 * that a receiver can refuse an old request replayed at it.
 */
export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** A receiver's check (the README shows the same in a few lines): right signature, timestamp within the tolerance. */
export function verifySignature(
  secret: string,
  headers: { signature: string; timestamp: string },
  body: string,
  options: { now?: Date; toleranceSeconds?: number } = {},
): boolean {
  const timestamp = Number(headers.timestamp);
  const now = (options.now ?? new Date()).getTime() / 1000;
  if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signature(secret, timestamp, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
