import { z } from 'zod';
import { errorBody } from './errors.js';
import { defaultMaxBodyBytes } from './middleware/body-limit.js';
import type { AnyRoute } from './route.js';

type Json = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Json;
  delete json.$schema;
  return json;
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const json = schemaOf(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: s,
  }));
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** The OpenAPI 3.0 document of the REST API, built from the same route table that serves it. */
export function openApiDocument(routes: readonly AnyRoute[], info: { version: string }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const responses: Record<string, Json> = {
      [String(r.status ?? 200)]: {
        description: 'success',
        content: { 'application/json': { schema: schemaOf(r.response, 'output') } },
      },
      '400': errorResponse('malformed request (body, query or path parameters)'),
    };
    if (r.access !== 'public') {
      responses['401'] = errorResponse('missing, expired or invalid credentials');
      responses['403'] = errorResponse('the caller’s role may not do this');
    }
    for (const [status, description] of Object.entries(r.errors ?? {})) {
      responses[status] = errorResponse(description);
    }
    const operation: Json = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${path.replace(/[^A-Za-z0-9]+/g, '_')}`,
      parameters: [...parametersOf(r.params, 'path'), ...parametersOf(r.query, 'query')],
      responses,
      'x-bitv-access': r.access === 'public' || r.access === 'gateway' ? r.access : [...r.access],
    };
    if (r.access === 'gateway') operation.security = [{ deviceCredential: [] }];
    else if (r.access !== 'public') operation.security = [{ bearer: [] }, { apiKey: [] }];
    else operation.security = [];
    if (r.body) {
      const maxBytes = r.maxBodyBytes ?? defaultMaxBodyBytes;
      operation.requestBody = {
        required: true,
        description: `JSON, at most ${maxBytes} bytes`,
        content: { 'application/json': { schema: schemaOf(r.body, 'input') } },
      };
      operation['x-bitv-max-body-bytes'] = maxBytes;
    }
    // Every route refuses a body over its limit, whether or not it reads one.
    responses['413'] = errorResponse(
      `request body over ${r.maxBodyBytes ?? defaultMaxBodyBytes} bytes (code payload_too_large)`,
    );
    paths[path] ??= {};
    (paths[path] as Record<string, Json>)[r.method] = operation;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'BitVelocity cloud API',
      version: info.version,
      description:
        'Registry and provisioning, inventory from shelf weight, device commands. Live updates: WebSocket at /api/v1/live. Errors are always `{ "error": { "code", "message" } }`.',
    },
    paths,
    components: {
      schemas: { Error: schemaOf(errorBody, 'output') },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'User access token (or a partner API key)',
        },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        deviceCredential: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Gateway device credential',
        },
      },
    },
  };
}
