/**
 * The node's REST API authenticates and authorizes before it reads a request body (node/rest/app.ts, `onRequest`):
 * a missing or wrong token is refused with 401, a role the route does not allow with 403, whatever the body holds
 * (malformed JSON is never parsed: 401, not 400), and a CSV upload without a token never reaches the content parser
 * or the handler, nor is its stream read. Unmatched routes still answer 404, and valid tokens still work.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { buildRestApp } from '../../../node/rest/app.js';
import { hashToken, TokenAuthenticator } from '../../../node/rest/auth.js';
import { route } from '../../../node/rest/route.js';
import type { AuditDraft } from '../../../primitives/audit/chain.js';
import { silentLog } from '../../helpers/log.js';

const log = silentLog;
const ADMIN = { authorization: 'Bearer admin-token' };
const RISK = { authorization: 'Bearer risk-token' };

describe('REST authentication runs before the body is read', () => {
  const ran = { json: 0, csv: 0, csvParser: 0 };
  const audits: AuditDraft[] = [];
  let app: FastifyInstance;

  beforeAll(async () => {
    app = buildRestApp({
      routes: [
        route({
          method: 'POST',
          url: '/v1/things',
          summary: 'test',
          tags: [],
          roles: ['admin'],
          body: z.object({ n: z.number() }),
          response: z.object({ n: z.number() }),
          handler: async ({ body }) => {
            ran.json++;
            return { n: body.n + 1 };
          },
        }),
        route({
          method: 'POST',
          url: '/v1/uploads/:name',
          summary: 'test',
          tags: [],
          roles: ['admin'],
          bodyKind: 'csv',
          params: z.object({ name: z.string() }),
          response: z.object({ bytes: z.number() }),
          handler: async ({ stream }) => {
            ran.csv++;
            let bytes = 0;
            for await (const chunk of stream!) bytes += (chunk as Buffer).length;
            return { bytes };
          },
        }),
      ],
      auth: new TokenAuthenticator([
        { role: 'admin', sha256: hashToken('admin-token'), label: 'ops' },
        { role: 'risk', sha256: hashToken('risk-token'), label: 'risk-team' },
      ]),
      audit: async (draft) => void audits.push(draft),
      log,
      version: 'test',
    });
    // The same CSV parser as the app's (the raw stream), counting its runs.
    app.removeContentTypeParser(['text/csv', 'application/csv']);
    app.addContentTypeParser(['text/csv', 'application/csv'], (_req, payload, done) => {
      ran.csvParser++;
      done(null, payload);
    });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
  });

  /** A CSV body that records whether anyone read it. */
  function csvBody(): { stream: Readable; reads: () => number } {
    let reads = 0;
    const stream = new Readable({
      read() {
        reads++;
        this.push('id,y\nc-1,1\n');
        this.push(null);
      },
    });
    return { stream, reads: () => reads };
  }

  it('refuses a request with no token and a malformed JSON body with 401, not 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: { 'content-type': 'application/json' },
      payload: '{"n": 1,,, not json',
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('ACCORD_AUTH_MISSING');
    expect(ran.json).toBe(0);
  });

  it('refuses an unknown token with 401 whatever the body', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: { authorization: 'Bearer forged', 'content-type': 'application/json' },
      payload: '{{{',
    });
    expect(res.statusCode).toBe(401);
  });

  it('refuses a token of the wrong role with 403 and a malformed body', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: { ...RISK, 'content-type': 'application/json' },
      payload: '{"n": 1,,, not json',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('ACCORD_AUTH_FORBIDDEN');
    expect(ran.json).toBe(0);
    expect(audits.at(-1)).toMatchObject({ actor: 'role:risk/risk-team', outcome: 'denied' });
  });

  it('refuses a CSV upload without a token before the parser or the handler runs, and never reads it', async () => {
    const body = csvBody();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/uploads/customers',
      headers: { 'content-type': 'text/csv' },
      payload: body.stream,
    });
    expect(res.statusCode).toBe(401);
    expect(ran).toMatchObject({ csv: 0, csvParser: 0 });
    expect(body.reads()).toBe(0);
  });

  it('refuses a CSV upload with the wrong role the same way (403)', async () => {
    const body = csvBody();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/uploads/customers',
      headers: { ...RISK, 'content-type': 'text/csv' },
      payload: body.stream,
    });
    expect(res.statusCode).toBe(403);
    expect(ran).toMatchObject({ csv: 0, csvParser: 0 });
    expect(body.reads()).toBe(0);
  });

  it('still answers 404 for unmatched routes, token or not, and never parses their bodies', async () => {
    const anonymous = await app.inject({ method: 'POST', url: '/v1/nowhere', payload: 'x' });
    expect(anonymous.statusCode).toBe(404);
    expect(anonymous.json().error.code).toBe('ACCORD_NOT_FOUND');
    const admin = await app.inject({ method: 'GET', url: '/v1/nowhere', headers: ADMIN });
    expect(admin.statusCode).toBe(404);
    // Malformed JSON to an unknown URL, or with a method the route lacks: 404, not 400 (the body is not parsed).
    for (const [method, url] of [
      ['POST', '/v1/nowhere'],
      ['PUT', '/v1/things'],
    ] as const) {
      const res = await app.inject({
        method,
        url,
        headers: { 'content-type': 'application/json' },
        payload: '{"n": 1,,,',
      });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().error.code).toBe('ACCORD_NOT_FOUND');
    }
    // A CSV stream to an unknown URL is not read either.
    const body = csvBody();
    const csv = await app.inject({
      method: 'POST',
      url: '/v1/nowhere',
      headers: { 'content-type': 'text/csv' },
      payload: body.stream,
    });
    expect(csv.statusCode).toBe(404);
    expect(ran).toMatchObject({ csvParser: 0 });
  });

  it('serves a valid token: JSON parsed and validated, CSV streamed to the handler', async () => {
    const json = await app.inject({ method: 'POST', url: '/v1/things', headers: ADMIN, payload: { n: 41 } });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toEqual({ n: 42 });
    const malformed = await app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      payload: '{"n": 1,,,',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('ACCORD_REQUEST_INVALID');

    const body = csvBody();
    const csv = await app.inject({
      method: 'POST',
      url: '/v1/uploads/customers',
      headers: { ...ADMIN, 'content-type': 'text/csv' },
      payload: body.stream,
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.json()).toEqual({ bytes: 'id,y\nc-1,1\n'.length });
    expect(ran).toMatchObject({ json: 1, csv: 1, csvParser: 1 });
  });
});
