import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

/**
 * Checks every response the API sends in a test against the OpenAPI document it serves at /api/schema: the status is
 * documented for the operation, and the body matches the documented schema (no body where none is documented).
 */
export interface Conformance {
  /** Mismatches found so far, oldest first; `takeMismatches` empties the list. */
  takeMismatches(): string[];
}

interface OpenApiResponse {
  content?: Record<string, { schema?: object }>;
}
type Operations = Record<string, { responses: Record<string, OpenApiResponse> }>;

/** Adds an onSend hook to `app` (before it is ready) that checks each response. */
export function checkResponsesAgainstSchema(app: FastifyInstance): Conformance {
  const mismatches: string[] = [];
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validators = new Map<object, ValidateFunction>();
  let paths: Record<string, Operations> | undefined;

  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions;
    if (route.schema?.hide) return payload;
    paths ??= (app.swagger() as unknown as { paths: Record<string, Operations> }).paths;
    const what = `${request.method} ${request.url} -> ${reply.statusCode}`;
    if (!route.url) {
      // No route: only "not found" and "method not allowed" are expected.
      if (reply.statusCode !== 404 && reply.statusCode !== 405) mismatches.push(`${what}: no route answered`);
      return payload;
    }
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/(.)\/$/, '$1');
    const operation = paths[path]?.[request.method.toLowerCase()];
    if (!operation) {
      if (request.method !== 'HEAD') mismatches.push(`${what}: ${request.method} ${path} is not in the document`);
      return payload;
    }
    const documented = operation.responses[String(reply.statusCode)] ?? operation.responses.default;
    if (!documented) {
      mismatches.push(`${what}: status ${reply.statusCode} is not documented`);
      return payload;
    }
    // Fastify sends no body with a 204 or 304, whatever the handler passed.
    const bodiless = reply.statusCode === 204 || reply.statusCode === 304;
    const text = bodiless
      ? ''
      : typeof payload === 'string'
        ? payload
        : Buffer.isBuffer(payload)
          ? payload.toString()
          : '';
    const schema = documented.content?.['application/json']?.schema;
    if (!schema) {
      if (text !== '') mismatches.push(`${what}: a body where the document says there is none: ${text.slice(0, 200)}`);
      return payload;
    }
    let validate = validators.get(schema);
    if (!validate) {
      validate = ajv.compile(schema);
      validators.set(schema, validate);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      mismatches.push(`${what}: the body is not JSON: ${text.slice(0, 200)}`);
      return payload;
    }
    if (!validate(body)) {
      mismatches.push(`${what}: ${ajv.errorsText(validate.errors)}; body ${text.slice(0, 300)}`);
    }
    return payload;
  });

  return { takeMismatches: () => mismatches.splice(0) };
}
