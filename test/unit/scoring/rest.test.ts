/**
 * The scoring REST routes through fastify `inject()` over real SQLite stores: a horizontal model scored locally in
 * batches (exactly models/score.ts's scores, progress, fingerprint, listing) and in real time; the model and
 * population checks, each a coded error naming the field with nothing stored; roles; a job left running by a crash
 * failed at start with its scores gone; and no audit entry naming a customer.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreRows } from '../../../models/score.js';
import { buildRestApp } from '../../../node/rest/app.js';
import { hashToken, TokenAuthenticator } from '../../../node/rest/auth.js';
import { scoringRoutes } from '../../../node/rest/routes/scoring.js';
import type { ScoringService } from '../../../node/scoring/scoring-service.js';
import type { NodeStore } from '../../../platform/store/types.js';
import type { AuditDraft } from '../../../primitives/audit/chain.js';
import { silentLog } from '../../helpers/log.js';
import {
  donePsi,
  type HorizontalFixture,
  horizontalFixture,
  importRows,
  openStore,
  rawOf,
  type VerticalFixture,
  verticalFixture,
  X,
} from './fixtures.js';
import { MemoryRelay, serviceFor } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'accord-scoring-rest-'));
let a: NodeStore;
let b: NodeStore;
let h: HorizontalFixture;
let v: VerticalFixture;
let bankA: ScoringService;
const apps: FastifyInstance[] = [];
const audits: AuditDraft[] = [];

function app(service: ScoringService): FastifyInstance {
  const built = buildRestApp({
    routes: scoringRoutes({ scoring: service }),
    auth: new TokenAuthenticator([
      { role: 'admin', sha256: hashToken('admin'), label: 'ops' },
      { role: 'risk', sha256: hashToken('risk'), label: 'ana' },
      { role: 'marketing', sha256: hashToken('marketing'), label: 'bo' },
    ]),
    audit: async (draft) => void audits.push(draft),
    log: silentLog,
    version: 'test',
  });
  apps.push(built);
  return built;
}

async function call(
  target: FastifyInstance,
  role: string,
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
) {
  const res = await target.inject({
    method,
    url,
    headers: { authorization: `Bearer ${role}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return { status: res.statusCode, body: res.json() };
}

let restA: FastifyInstance;
let restB: FastifyInstance;

beforeAll(async () => {
  a = openStore(dir, 'a');
  b = openStore(dir, 'b');
  h = await horizontalFixture(a);
  v = await verticalFixture(a, b);
  const relay = new MemoryRelay();
  bankA = serviceFor(relay, 'bank-a', a);
  restA = app(bankA);
  restB = app(serviceFor(relay, 'bank-b', b));
});
afterAll(async () => {
  for (const x of apps) await x.close();
  await a?.close();
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function done(job: string) {
  for (;;) {
    const res = await call(restA, 'admin', 'GET', `/v1/scoring/${job}`);
    expect(res.status).toBe(200);
    if (res.body.state !== 'running') return res.body;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('scoring over REST', () => {
  it('scores a horizontal model’s dataset locally in batches, exactly as the plain TypeScript scorer', async () => {
    const start = await call(restA, 'marketing', 'POST', '/v1/scoring', { model: h.model.id });
    expect(start.status, JSON.stringify(start.body)).toBe(202);
    const view = await done(start.body.job);
    expect(view).toMatchObject({
      id: start.body.job,
      model: h.model.id,
      purpose: 'propensity',
      population: { kind: 'dataset', dataset: 'breast' },
      state: 'done',
      progress: { scored: h.rows.length, total: h.rows.length, fraction: 1 },
      requestedBy: 'marketing:bo',
      error: null,
    });
    expect(view.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(view.timings.seconds).toBeGreaterThanOrEqual(0);
    const expected = scoreRows(h.model, rawOf(h.columns, h.rows, [...X, 'band']), h.rows.length);
    const got: number[] = [];
    for await (const batch of a.scores.iterate(view.id, 7)) got.push(...batch.scores);
    expect(got).toHaveLength(h.rows.length);
    got.forEach((s, i) => {
      expect(s).toBeCloseTo(expected[i]!, 9);
    });
    // The same population named explicitly reads the same cells: the same fingerprint.
    const named = await call(restA, 'risk', 'POST', '/v1/scoring', {
      model: h.model.id,
      population: { dataset: 'breast' },
    });
    expect((await done(named.body.job)).fingerprint).toBe(view.fingerprint);
    const list = await call(restA, 'admin', 'GET', '/v1/scoring?limit=10');
    expect(list.body.jobs.map((j: { id: string }) => j.id).slice(0, 2)).toEqual([named.body.job, view.id]);
  });

  it('scores one customer of a horizontal model in real time, and never audits the customer', async () => {
    const row = h.rows[17]!;
    const res = await call(restA, 'risk', 'POST', `/v1/models/${h.model.id}/score`, { customer: row.id });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const expected = scoreRows(h.model, rawOf(h.columns, [row], [...X, 'band']), 1)[0]!;
    expect(res.body).toMatchObject({ model: h.model.id, customer: row.id, partials: [], degraded: false });
    expect(res.body.score).toBeCloseTo(expected, 9);
    const missing = await call(restA, 'risk', 'POST', `/v1/models/${h.model.id}/score`, {
      customer: 'nobody-here',
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('ACCORD_SCORING_CUSTOMER_NOT_FOUND');
    expect(JSON.stringify(missing.body)).not.toContain('nobody-here');
    const entries = JSON.stringify(audits);
    expect(entries).toContain(`model:${h.model.id}`);
    // Ids here are short numbers: look for them as a JSON value.
    expect(entries).not.toContain(`"${row.id}"`);
    expect(entries).not.toContain('nobody-here');
  });

  it('refuses a bad model or population with a coded error naming the field, storing nothing', async () => {
    const before = (await a.scores.listJobs(100)).length;
    const post = (body: unknown, target = restA) => call(target, 'risk', 'POST', '/v1/scoring', body);
    const unknown = await post({ model: randomUUID() });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ACCORD_SCORING_MODEL_UNKNOWN');
    expect(unknown.body.error.message).toMatch(/^model: /);

    const part = await post({ model: v.partner.model.id }, restB);
    expect(part.status).toBe(409);
    expect(part.body.error).toMatchObject({ code: 'ACCORD_SCORING_MODEL_NOT_DECIDING' });
    expect(part.body.error.message).toContain('bank-a');
    const realtimePart = await call(restB, 'risk', 'POST', `/v1/models/${v.partner.model.id}/score`, {
      customer: v.shared[0],
    });
    expect(realtimePart.body.error.code).toBe('ACCORD_SCORING_MODEL_NOT_DECIDING');

    await importRows(
      a,
      'thin',
      'id',
      h.columns.filter((c) => c.name !== 'band'),
      h.rows.slice(0, 5).map((r) => ({ id: r.id, cells: r.cells.slice(0, -1) })),
    );
    const cases: Array<[unknown, string, RegExp]> = [
      [{ model: h.model.id, population: { dataset: 'thin' } }, 'dataset', /lacks column band/],
      [{ model: h.model.id, population: { dataset: 'nope' } }, 'dataset', /no dataset nope/],
      [
        { model: v.labelHolder.model.id, population: { dataset: 'clients' } },
        'dataset',
        /population\.alignment/,
      ],
      [
        { model: v.labelHolder.model.id, population: { alignment: randomUUID() } },
        'alignment',
        /no such PSI job/,
      ],
    ];
    const otherParties = randomUUID();
    await donePsi(a, otherParties, ['bank-a', 'bank-c'], 'clients', [2, 3, 4]);
    cases.push([
      { model: v.labelHolder.model.id, population: { alignment: otherParties } },
      'alignment',
      /not the model's parties bank-a, bank-b/,
    ]);
    const counted = randomUUID();
    await donePsi(a, counted, ['bank-a', 'bank-b'], 'clients', [2, 3, 4], 'cardinality');
    cases.push([
      { model: v.labelHolder.model.id, population: { alignment: counted } },
      'alignment',
      /cardinality/,
    ]);
    for (const [body, field, problem] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('ACCORD_SCORING_POPULATION_INVALID');
      expect(res.body.error.message).toMatch(new RegExp(`^population\\.${field}: `));
      expect(res.body.error.message).toMatch(problem);
    }
    expect((await a.scores.listJobs(100)).length).toBe(before);
  });

  it('lets risk and marketing score, admin only read, and bounds the real-time deadline', async () => {
    expect((await call(restA, 'admin', 'POST', '/v1/scoring', { model: h.model.id })).status).toBe(403);
    expect(
      (await call(restA, 'admin', 'POST', `/v1/models/${h.model.id}/score`, { customer: h.rows[0]!.id }))
        .status,
    ).toBe(403);
    expect((await call(restA, 'reviewer-less', 'GET', '/v1/scoring')).status).toBe(401);
    const slow = await call(restA, 'risk', 'POST', `/v1/models/${h.model.id}/score`, {
      customer: h.rows[0]!.id,
      deadlineMs: 2001,
    });
    expect(slow.status).toBe(400);
    expect(slow.body.error.code).toBe('ACCORD_REQUEST_INVALID');
    expect((await call(restA, 'admin', 'GET', `/v1/scoring/${randomUUID()}`)).body.error.code).toBe(
      'ACCORD_SCORING_JOB_NOT_FOUND',
    );
  });

  it('fails a job a crash left running, at the next start, with its scores deleted', async () => {
    const id = randomUUID();
    await a.scores.createJob({
      id,
      model: h.model.id,
      purpose: 'propensity',
      population: { kind: 'dataset', dataset: 'breast' },
      state: 'running',
      total: 3,
      scored: 0,
      fingerprint: null,
      requestedBy: 'risk:ana',
      errorCode: null,
      errorMessage: null,
      createdAt: new Date().toISOString(),
      finishedAt: null,
    });
    await a.scores.appendScores(id, { rowKeys: Int32Array.of(2), scores: Float64Array.of(0.5) }, [
      'crash-test-id',
    ]);
    expect(await bankA.recover()).toBe(1);
    const view = await call(restA, 'risk', 'GET', `/v1/scoring/${id}`);
    expect(view.body).toMatchObject({ state: 'failed', error: { code: 'ACCORD_SCORING_INTERRUPTED' } });
    expect(await a.scores.eraseCustomer('crash-test-id')).toBe(0);
  });
});
