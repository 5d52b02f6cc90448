import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { OpenAPIV3 } from 'openapi-types';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createJsonSchemaTransform, serializerCompiler } from 'fastify-type-provider-zod';
import type { Config } from '../config';
import type { ServiceDependencies } from '../service/batch-exports';
import { authenticate, type Access } from './auth';
import { registerConsole } from './console-assets';
import { handleError } from './errors';
import { loggedRequest, noStoreWhenAuthenticated, registerRateLimit, registerSecurityHeaders } from './hardening';
import { answerUnsupportedMethods } from './methods';
import { correctDocument } from './openapi';
import { OrganizationParams, ProjectParams } from './schemas';
import { backfillRoutes } from './routes/backfills';
import { batchExportActionRoutes } from './routes/batch-export-actions';
import { batchExportRoutes } from './routes/batch-exports';
import { consoleRoutes, consoleSessionRoute } from './routes/console';
import type { RouteContext } from './routes/common';
import { healthRoutes } from './routes/health';
import { metricsRoutes } from '../metrics/api-metrics';
import { notificationRoutes } from '../notifications/routes';
import { runRoutes } from './routes/runs';
import { rejectUnstorableInput, zodValidatorCompiler } from './validation';

export interface ServerOptions {
  deps: ServiceDependencies;
  /** A pino logger; none in tests. */
  logger?: FastifyBaseLogger;
  /** Larger bodies get a 413. A batch export is a few KiB; 1 MiB leaves room for long event lists. */
  bodyLimitBytes?: number;
  /** Rate limit, request timeout and the public URL of links (see Config). Unset: no rate limit, relative links. */
  http?: Partial<Pick<Config['api'], 'publicUrl' | 'rateLimitPerMinute' | 'requestTimeoutMs'>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The API's public base URL for links, or null for relative links: never taken from the Host header. */
    publicUrl: string | null;
  }
}

/** Node's default; a request slower than this to send its headers and body gets a 408. */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const DOCS_PREFIX = '/api/docs';

/** The HTTP API: every route of the batch-exports reference, under organizations and under projects. */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const requestTimeout = options.http?.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const app = Fastify({
    // Request lines are logged without the values of key-like query parameters.
    loggerInstance: options.logger?.child({}, { serializers: { req: loggedRequest } }),
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    // A body (or headers) that never arrives is cut off with a 408. Node checks open requests at this interval.
    requestTimeout,
    http: { headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(requestTimeout, 1000) },
  });
  app.decorate('publicUrl', options.http?.publicUrl ?? null);
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  answerUnsupportedMethods(app);
  // JSON only: a text/plain body would reach the services as a string.
  app.removeContentTypeParser('text/plain');
  acceptEmptyJsonBodies(app);
  app.decorateRequest('access', null as unknown as Access);
  if (options.http?.rateLimitPerMinute) await registerRateLimit(app, options.http.rateLimitPerMinute);
  await registerSecurityHeaders(app);
  app.addHook('onRequest', authenticate(options.deps.pool));
  app.addHook('preValidation', rejectUnstorableInput);
  app.addHook('onSend', noStoreWhenAuthenticated);

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Batch exports API',
        version: '1.0.0',
        description: 'Export events, persons and sessions to S3 or Postgres every interval, and backfill history.',
      },
      components: { securitySchemes: { PersonalApiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ PersonalApiKey: [] }],
    },
    transform: createJsonSchemaTransform({ skipList: [] }),
    // The document is OpenAPI 3 (the openapi option above), never Swagger 2.
    transformObject: (document) => correctDocument((document as { openapiObject: OpenAPIV3.Document }).openapiObject),
  });
  await app.register(fastifySwaggerUi, { routePrefix: DOCS_PREFIX });
  app.get('/api/schema', { schema: { hide: true } }, async () => app.swagger());

  await app.register(metricsRoutes(options.deps.pool));
  await app.register(healthRoutes(options.deps));
  const scopes: Array<{ prefix: string } & Omit<RouteContext, 'deps'>> = [
    {
      prefix: '/api/organizations/:organization_id',
      scopeParams: OrganizationParams,
      tag: 'organization batch exports',
    },
    { prefix: '/api/projects/:project_id', scopeParams: ProjectParams, tag: 'project batch exports' },
  ];
  for (const { prefix, ...scope } of scopes) {
    const context = { deps: options.deps, ...scope };
    await app.register(batchExportRoutes(context), { prefix });
    await app.register(batchExportActionRoutes(context), { prefix });
    await app.register(runRoutes(context), { prefix });
    await app.register(backfillRoutes(context), { prefix });
    await app.register(consoleRoutes(context), { prefix });
  }
  await app.register(consoleSessionRoute(options.deps));
  await registerConsole(app);
  await app.register(notificationRoutes(options.deps), { prefix: '/api/projects/:project_id' });
  return app;
}

/**
 * Clients often send `Content-Type: application/json` with no body on action routes (pause, cancel): that is no
 * body, not a parse error. Anything else goes to Fastify's own parser (prototype-poisoning checks included).
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '') return done(null, undefined);
    void parseJson(request, text, done);
  });
}
