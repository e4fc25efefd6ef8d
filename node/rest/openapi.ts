/** Builds the OpenAPI 3.1 document from the route declarations (zod 4 emits JSON Schema natively). */
import { z } from 'zod';
import { registry } from '../../primitives/errors/index.js';
import type { RouteSpec } from './route.js';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): unknown {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' });
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required ?? []).includes(name),
    schema: s,
    ...((s as { description?: string }).description
      ? { description: (s as { description?: string }).description }
      : {}),
  }));
}

const errorBody = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', enum: Object.keys(registry) },
        message: { type: 'string' },
        hint: { type: 'string' },
        params: { type: 'object' },
      },
      required: ['code', 'message', 'hint'],
    },
  },
};

export function buildOpenApi(
  routes: readonly RouteSpec[],
  info: { title: string; version: string },
): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const requestBody =
      r.bodyKind === 'csv'
        ? {
            required: true,
            content: { 'text/csv': { schema: { type: 'string', description: 'CSV with a header line' } } },
          }
        : r.body
          ? { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } }
          : undefined;
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      summary: r.summary,
      tags: r.tags,
      ...(r.roles === 'public' ? { security: [] } : { 'x-roles': r.roles }),
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      ...(requestBody ? { requestBody } : {}),
      responses: {
        [String(r.status ?? 200)]: {
          description: 'success',
          content: r.produces
            ? { [r.produces]: { schema: { type: 'string', format: 'binary' } } }
            : { 'application/json': { schema: jsonSchema(r.response, 'output') } },
        },
        default: { description: 'a coded error', content: { 'application/json': { schema: errorBody } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
