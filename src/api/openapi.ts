import type { OpenAPIV3 } from 'openapi-types';

/**
 * Corrections to the generated OpenAPI document, where the generator cannot say what the API does: a 204 has no body
 * (the generator documents `null` as JSON), and a body whose schema accepts null may be left out (the generator
 * marks every body required).
 */
export function correctDocument(document: OpenAPIV3.Document): OpenAPIV3.Document {
  for (const pathItem of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = pathItem?.[method];
      if (!operation) continue;
      const noContent = operation.responses['204'];
      if (noContent && 'content' in noContent) delete noContent.content;
      const body = operation.requestBody;
      if (body && 'content' in body) {
        const schema = body.content['application/json']?.schema;
        if (schema && 'nullable' in schema && schema.nullable) body.required = false;
      }
    }
  }
  return document;
}
