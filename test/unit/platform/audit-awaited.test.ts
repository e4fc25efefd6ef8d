/**
 * An action whose audit record cannot be written fails with ACCORD_AUDIT_UNAVAILABLE instead of succeeding
 * unrecorded: over REST (the answer is withheld), over gRPC (the handler's result is withheld), with a real SQLite
 * store whose database is gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { auditTo } from '../../../platform/audit/audit-log.js';
import { runHandler } from '../../../platform/grpc/server.js';
import { openSqliteNodeStore } from '../../../platform/store/sqlite/index.js';
import { AccordError } from '../../../primitives/errors/index.js';
import { buildRestApp } from '../../../node/rest/app.js';
import { hashToken, TokenAuthenticator } from '../../../node/rest/auth.js';
import { route } from '../../../node/rest/route.js';
import { silentLog } from '../../helpers/log.js';

const log = silentLog;
const dir = mkdtempSync(join(tmpdir(), 'accord-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real store whose database was closed under it: every append throws. */
async function brokenAudit() {
  const store = openSqliteNodeStore(join(dir, `node-${Math.random()}.db`));
  await store.close();
  return auditTo(store.audit, log);
}

describe('audit appends are awaited where the action is', () => {
  it('a working store seals the entry before the promise settles', async () => {
    const store = openSqliteNodeStore(join(dir, 'ok.db'));
    const audit = auditTo(store.audit, log);
    await audit({ actor: 'a', action: 'x', target: '', outcome: 'ok', details: {} });
    expect((await store.audit.head())?.seq).toBe(1);
    await store.close();
  });

  it('REST: the handler ran, but its answer is withheld with ACCORD_AUDIT_UNAVAILABLE', async () => {
    let ran = 0;
    const app = buildRestApp({
      routes: [
        route({
          method: 'GET',
          url: '/v1/thing',
          summary: 'test',
          tags: [],
          roles: ['admin'],
          response: z.object({ secret: z.string() }),
          handler: async () => {
            ran++;
            return { secret: 'the answer' };
          },
        }),
      ],
      auth: new TokenAuthenticator([{ role: 'admin', sha256: hashToken('t'), label: 'a' }]),
      audit: await brokenAudit(),
      log,
      version: 'test',
    });
    const res = await app.inject({ method: 'GET', url: '/v1/thing', headers: { authorization: 'Bearer t' } });
    expect(ran).toBe(1);
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('ACCORD_AUDIT_UNAVAILABLE');
    expect(res.body).not.toContain('the answer');
    await app.close();
  });

  it('gRPC: a successful handler still fails the call when its record cannot be written', async () => {
    const audit = await brokenAudit();
    const call = runHandler(
      {
        name: 'Test.Call',
        decode: (w) => w as { n: number },
        encode: (r: { n: number }) => r,
        handle: async (r) => ({ n: r.n + 1 }),
      },
      'bank-a',
      { n: 1 },
      new AbortController().signal,
      audit,
      log,
    );
    await expect(call).rejects.toMatchObject({ code: 'ACCORD_AUDIT_UNAVAILABLE' });
  });

  it('gRPC: a failed handler whose failure cannot be recorded reports the audit problem', async () => {
    const audit = await brokenAudit();
    const call = runHandler(
      {
        name: 'Test.Call',
        decode: (w) => w,
        encode: (r) => r,
        handle: async () => {
          throw new AccordError('ACCORD_RATE_LIMITED', { what: 'x', limit: 1 });
        },
      },
      'bank-a',
      {},
      new AbortController().signal,
      audit,
      log,
    );
    await expect(call).rejects.toMatchObject({ code: 'ACCORD_AUDIT_UNAVAILABLE' });
  });
});
