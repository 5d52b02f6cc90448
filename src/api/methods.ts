import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, notFound } from './errors';

/**
 * 405 instead of 404 for a path that exists under other methods, with `Allow` listing them (RFC 9110 15.5.6).
 * Fastify's router only knows "no route", so the routes are collected as they are added and matched by path.
 */
export function answerUnsupportedMethods(app: FastifyInstance): void {
  const routes: Array<{ pattern: RegExp; methods: string[] }> = [];
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    routes.push({ pattern: pathPattern(route.url ?? route.path), methods });
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!.replace(/(.)\/$/, '$1');
    const allowed = new Set(routes.filter((route) => route.pattern.test(path)).flatMap((route) => route.methods));
    if (allowed.size === 0) return reply.status(404).send(notFound().toJSON());
    const allow = [...allowed].sort().join(', ');
    const error = new ApiError(
      405,
      'invalid_request',
      'method_not_allowed',
      `Method ${request.method} is not allowed here: use ${allow}`,
    );
    return reply.status(405).header('allow', allow).send(error.toJSON());
  });
}

/** `/a/:id/b` as a regular expression matching concrete paths; `*` matches the rest. */
function pathPattern(url: string): RegExp {
  const source = url
    .replace(/(.)\/$/, '$1')
    .split('/')
    .map((part) => {
      if (part.startsWith(':')) return '[^/]+';
      if (part === '*') return '.*';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}
