/**
 * The node's REST API, built apart from listening (`buildRestApp` returns the fastify instance; tests use
 * `inject()`). Every route is declared in `routes/`; this file applies the same pipeline to each:
 * authenticate -> authorize -> validate params/query/body with zod -> handle -> validate response -> audit.
 * Authentication and authorization run in the route's `onRequest` hook, before fastify reads or parses the body: a
 * request without a valid token of an allowed role never has its JSON parsed nor its CSV stream handed to anyone.
 */
import type { Audit } from '../../platform/audit/audit-log.js';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { AuditOutcome } from '../../primitives/audit/chain.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import { formatZodIssues } from '../../platform/config/load.js';
import type { Logger } from '../../platform/log/logger.js';
import type { TokenAuthenticator } from './auth.js';
import { buildOpenApi } from './openapi.js';
import type { Caller, RouteSpec } from './route.js';

export interface RestDeps {
  readonly routes: readonly RouteSpec[];
  readonly auth: TokenAuthenticator;
  readonly audit: Audit;
  readonly log: Logger;
  readonly version: string;
  /** Largest JSON body (bytes); CSV uploads stream and are not limited by it. */
  readonly bodyLimit?: number;
  /** Serve HTTPS with these PEM buffers; with `ca`, clients must also present a certificate it issued. */
  readonly https?: RestHttpsOptions;
}

export interface RestHttpsOptions {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    accordCaller: Caller | null;
    accordTarget: string;
    accordCode: string | null;
  }
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    throw new AccordError('ACCORD_REQUEST_INVALID', {
      problems: `${where}: ${formatZodIssues(result.error)}`,
    });
  }
  return result.data;
}

function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'ok';
  return status === 401 || status === 403 ? 'denied' : 'failed';
}

/** Fastify's own errors (bad JSON, wrong content type, body too large) carry no data values we want to echo. */
function fromFastifyError(err: { code?: string; statusCode?: number }): AccordError | null {
  if (!err.code?.startsWith('FST_') || (err.statusCode ?? 500) >= 500) return null;
  const problems: Record<string, string> = {
    FST_ERR_CTP_INVALID_MEDIA_TYPE:
      'unsupported Content-Type (use application/json, or text/csv for uploads)',
    FST_ERR_CTP_BODY_TOO_LARGE: 'request body too large',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'empty JSON body',
    FST_ERR_CTP_INVALID_JSON_BODY: 'body is not valid JSON',
  };
  return new AccordError('ACCORD_REQUEST_INVALID', { problems: problems[err.code] ?? 'malformed request' });
}

/** Creates the fastify instance over plain HTTP, or over HTTPS (mutual TLS when a client CA is given). */
function createServer(deps: RestDeps): FastifyInstance {
  const options = {
    logger: false,
    bodyLimit: deps.bodyLimit ?? 32 * 1024 * 1024,
    routerOptions: { maxParamLength: 200 },
  };
  if (!deps.https) return Fastify(options);
  const { cert, key, ca } = deps.https;
  // A client without a certificate from `ca` fails the handshake, before any route or token check runs.
  const https = { cert, key, ...(ca ? { ca, requestCert: true, rejectUnauthorized: true } : {}) };
  // Typed as FastifyInstance<https.Server>; Node's https.Server extends http.Server, so it is also the plain
  // FastifyInstance the node and tests use (routes, hooks, inject(), listen(), server.address()): no cast needed.
  return Fastify({ ...options, https });
}

export function buildRestApp(deps: RestDeps): FastifyInstance {
  const app = createServer(deps);
  const openApi = buildOpenApi(deps.routes, { title: 'Accord node API', version: deps.version });

  // CSV uploads reach the handler as the raw stream: parsed and stored row by row, never buffered whole.
  app.addContentTypeParser(['text/csv', 'application/csv'], (_req, payload, done) => done(null, payload));
  app.decorateRequest('accordCaller', null);
  app.decorateRequest('accordTarget', '');
  app.decorateRequest('accordCode', null);

  app.setErrorHandler((err, request, reply) => {
    const accord =
      err instanceof AccordError
        ? err
        : (fromFastifyError(err as { code?: string; statusCode?: number }) ?? toAccordError(err));
    if (accord.code === 'ACCORD_INTERNAL')
      // The route pattern, not the URL: a URL may name a customer (/v1/customers/:customer).
      deps.log.error('unhandled error in REST handler', {
        route: `${request.method} ${request.routeOptions.url ?? '(unmatched)'}`,
        err,
      });
    request.accordCode = accord.code;
    void reply.status(accord.httpStatus).send({ error: accord.toJSON() });
  });
  const notFound = (request: FastifyRequest) =>
    new AccordError('ACCORD_NOT_FOUND', { method: request.method, url: request.url.split('?')[0] ?? '' });
  // An unknown route (or method) is answered before its body is read or parsed, like a refused token.
  app.addHook('onRequest', async (request) => {
    if (request.is404) throw notFound(request);
  });
  app.setNotFoundHandler((request, reply) => {
    const accord = notFound(request);
    request.accordCode = accord.code;
    void reply.status(404).send({ error: accord.toJSON() });
  });
  // Every answer is audited before it leaves: if its record cannot be written, the answer is withheld and the
  // caller gets ACCORD_AUDIT_UNAVAILABLE instead (the status and body are still ours to change in onSend).
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    const caller = request.accordCaller;
    const action = `rest:${request.method} ${request.routeOptions.url ?? '(unmatched)'}`;
    try {
      await deps.audit({
        actor: caller ? `role:${caller.role}/${caller.label}` : 'anonymous',
        action,
        target: request.accordTarget,
        outcome: outcomeOf(reply.statusCode),
        details: { status: reply.statusCode, ...(request.accordCode ? { code: request.accordCode } : {}) },
      });
      return payload;
    } catch (err) {
      const accord = toAccordError(err);
      void reply.status(accord.httpStatus).header('content-type', 'application/json; charset=utf-8');
      return JSON.stringify({ error: accord.toJSON() });
    }
  });

  app.get('/v1/openapi.json', async () => openApi);

  for (const spec of deps.routes) {
    app.route({
      method: spec.method,
      url: spec.url,
      // First in fastify's lifecycle, before content parsing: refused here (401/403), the body is never parsed.
      onRequest: async (request) => {
        request.accordCaller = deps.auth.identify(request.headers.authorization);
        deps.auth.authorize(request.accordCaller, spec.roles, `${spec.method} ${spec.url}`);
      },
      handler: async (request, reply) => {
        const params = parse(spec.params, request.params, 'path');
        const query = parse(spec.query, request.query, 'query');
        request.accordTarget = spec.auditTarget?.({ params, query }) ?? '';
        const isCsv = spec.bodyKind === 'csv';
        if (isCsv && !/^(text|application)\/csv\b/.test(request.headers['content-type'] ?? '')) {
          throw new AccordError('ACCORD_REQUEST_INVALID', { problems: 'Content-Type must be text/csv' });
        }
        const body = isCsv ? undefined : parse(spec.body, request.body, 'body');
        const result = await spec.handler({
          params,
          query,
          body,
          caller: request.accordCaller,
          stream: isCsv ? (request.body as Readable) : null,
        });
        const response = spec.response.parse(result);
        if (spec.produces)
          return reply
            .status(spec.status ?? 200)
            .header('content-type', spec.contentType?.(query) ?? spec.produces)
            .send(response instanceof Readable ? response : Buffer.from(response as Uint8Array));
        return reply.status(spec.status ?? 200).send(response);
      },
    });
  }
  return app;
}
