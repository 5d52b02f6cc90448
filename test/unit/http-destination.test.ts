import { describe, expect, it } from 'vitest';
import { idempotencyKey, renderBody } from '../../src/destinations/http/batches';
import { HttpDestinationConfig } from '../../src/destinations/http/config';
import {
  answerError,
  bodyExcerpt,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  requestError,
  retryDelayMs,
} from '../../src/destinations/http/errors';
import { isRetryable } from '../../src/errors';

const URL_ = new URL('https://receiver.example.com/batch/?key=1');
const answer = (status: number, extra: Partial<{ body: string; location: string; retryAfter: string }> = {}) => ({
  status,
  body: extra.body ?? '',
  location: extra.location ?? null,
  retryAfter: extra.retryAfter ?? null,
});

describe('HTTP destination config', () => {
  it('fills in the defaults', () => {
    expect(HttpDestinationConfig.parse({ url: 'https://example.com/batch/' })).toEqual({
      url: 'https://example.com/batch/',
      format: 'capture',
      max_batch_rows: 1000,
      max_batch_bytes: 5 * 1024 * 1024,
      compression: null,
      headers: {},
      timeout_seconds: 30,
    });
  });

  it('refuses headers the service sets, credentials outside token, and header injection', () => {
    const issues = (config: Record<string, unknown>) =>
      HttpDestinationConfig.safeParse({ url: 'https://example.com/', ...config }).error?.issues.map((issue) => [
        issue.path.join('.'),
        issue.message,
      ]);
    expect(issues({ headers: { authorization: 'x' } })).toEqual([
      ['headers.authorization', expect.stringContaining('put credentials in token')],
    ]);
    expect(issues({ headers: { 'Content-Encoding': 'br' } })).toEqual([
      ['headers.Content-Encoding', 'Content-Encoding is set by the service and cannot be overridden'],
    ]);
    expect(issues({ headers: { 'X-A': 'a\nB: c' } })?.[0]?.[0]).toBe('headers.X-A');
    expect(issues({ headers: { 'bad name': 'x' } })?.[0]?.[0]).toBe('headers.bad name');
    expect(issues({ url: 'https://me:pw@example.com/' })).toEqual([['url', 'must not carry credentials: use token']]);
    expect(issues({ headers: { 'X-Tenant': 'acme', 'User-Agent': 'ours/1' } })).toBeUndefined();
  });
});

describe('HTTP retries', () => {
  it('reads Retry-After as seconds or an HTTP date, and ignores anything else', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it('waits what Retry-After asks up to a bound, else backs off exponentially', () => {
    expect(retryDelayMs(1, '2')).toBe(2000);
    expect(retryDelayMs(1, '86400')).toBe(MAX_RETRY_AFTER_MS);
    for (const [tries, max] of [
      [1, 1000],
      [3, 4000],
      [20, 30_000],
    ] as const) {
      const delay = retryDelayMs(tries, null);
      expect(delay).toBeGreaterThanOrEqual(max / 2);
      expect(delay).toBeLessThanOrEqual(max);
    }
  });
});

describe('HTTP answers as errors', () => {
  it('classifies statuses: 408/429/5xx retried, other 4xx and redirects not', () => {
    const kinds = [301, 307, 400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503].map((status) => [
      status,
      answerError(answer(status), URL_, []).kind,
    ]);
    expect(Object.fromEntries(kinds)).toEqual({
      301: 'configuration',
      307: 'configuration',
      400: 'configuration',
      401: 'configuration',
      403: 'permission',
      404: 'configuration',
      408: 'transient',
      413: 'configuration',
      422: 'configuration',
      429: 'transient',
      500: 'transient',
      502: 'transient',
      503: 'transient',
    });
  });

  it('says what to fix, with a short excerpt of the body, the token masked and the query string left out', () => {
    const error = answerError(answer(401, { body: `bad key "tok-123"\n${'x'.repeat(500)}` }), URL_, ['tok-123']);
    expect(error.message).toMatch(
      /^https:\/\/receiver\.example\.com\/batch\/ answered 401: "bad key "\*\*\*" x+\.\.\."; the endpoint refused the token: check token$/,
    );
    expect(error.message).not.toContain('key=1');
    expect(answerError(answer(413), URL_, []).message).toContain('lower max_batch_bytes or max_batch_rows');
    expect(answerError(answer(302, { location: 'https://elsewhere.example/x?sig=abc' }), URL_, []).message).toBe(
      'https://receiver.example.com/batch/ redirects (302) to https://elsewhere.example/x: redirects are not ' +
        'followed, set url to the address that accepts the batches',
    );
    expect(answerError(answer(503), URL_, [], 6).message).toBe(
      'https://receiver.example.com/batch/ answered 503 (6 tries)',
    );
    expect(bodyExcerpt('  \u0000a\r\nb  ', [])).toBe('a b');
  });

  it('takes network trouble as transient and untrusted certificates as configuration', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(isRetryable(requestError(refused, URL_).kind)).toBe(true);
    const selfSigned = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(requestError(selfSigned, URL_)).toMatchObject({ kind: 'configuration' });
  });
});

describe('HTTP bodies', () => {
  const rows = [Buffer.from('{"uuid":"a"}'), Buffer.from('{"uuid":"b"}')];

  it('renders the capture envelope and JSON lines', () => {
    expect(JSON.parse(renderBody('capture', rows, 'tok').toString())).toEqual({
      api_key: 'tok',
      historical_migration: true,
      batch: [{ uuid: 'a' }, { uuid: 'b' }],
    });
    expect(JSON.parse(renderBody('capture', [], undefined).toString())).toEqual({
      historical_migration: true,
      batch: [],
    });
    expect(renderBody('JSONLines', rows, 'tok').toString()).toBe('{"uuid":"a"}\n{"uuid":"b"}\n');
  });

  it('keys a batch by export, interval and number', () => {
    expect(idempotencyKey('e1', '2024-01-01T00:00:00.000Z', '2024-01-01T01:00:00.000Z', 3)).toBe(
      'e1:2024-01-01T00:00:00.000Z-2024-01-01T01:00:00.000Z:3',
    );
  });
});
