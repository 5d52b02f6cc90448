import { createHash } from 'node:crypto';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors';

/**
 * What keeps one client from holding or flooding the API, and responses from being cached or sniffed: rate limits,
 * security headers, `Cache-Control: no-store`, and request lines that never log a key.
 */

const BEARER = /^Bearer\s+(\S+)/i;

/**
 * Per API key: requests are counted by a hash of the bearer token (so one tenant cannot use up another's allowance),
 * and by address when there is none. Checked before authentication, so a flood of bad keys costs no database query.
 */
export async function registerRateLimit(app: FastifyInstance, perMinute: number): Promise<void> {
  await app.register(fastifyRateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    hook: 'onRequest',
    keyGenerator: (request) => {
      const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
      return token ? `key:${createHash('sha256').update(token).digest('hex')}` : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        429,
        'throttled',
        'rate_limited',
        `Too many requests: at most ${context.max} per minute for this API key. Try again in ${context.after}.`,
      ),
  });
}

/**
 * Security headers on every response (nosniff, frame denial, no referrer, HSTS, ...). The content security policy
 * admits what the OpenAPI UI at /api/docs loads from itself.
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        // The API is often served over plain HTTP (development, behind a proxy): upgrading would break the docs page.
        upgradeInsecureRequests: null,
      },
    },
  });
}

/** onSend hook: what an authenticated route answers is one tenant's data: no shared or browser cache may keep it. */
export async function noStoreWhenAuthenticated(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.routeOptions.config?.scope) reply.header('cache-control', 'no-store');
}

const SECRET_PARAMETER = /key|token|secret|password|signature|credential/i;

/** The request as logged: its URL with the values of secret-looking query parameters (?personal_api_key=) hidden. */
export function loggedRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
  };
}

export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  for (const name of new Set(params.keys())) {
    if (SECRET_PARAMETER.test(name)) params.set(name, '[REDACTED]');
  }
  return `${url.slice(0, query)}?${params.toString()}`;
}
