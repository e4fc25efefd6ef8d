/**
 * Campaigns end to end over the node's REST API (fastify `inject()`, no process), on a real SQLite store holding
 * 1 200 real bank-marketing customers, two registered models whose scores are written to the scoring store (test
 * setup, as a finished scoring job leaves them), consent, a do-not-contact list and a finished fraud screening job.
 *
 * What it shows:
 *  - the workflow draft -> submitted -> approved by a reviewer other than the author, every version and review kept;
 *  - a run's decisions equal an independent recomputation in this file for every customer (rules in order, tier,
 *    price, channel), its funnel the counts of that recomputation, and the run records what it used;
 *  - one excluded customer per rule, with the reason the decision route gives;
 *  - a withdrawal takes effect at the next run; contact caps hold across three runs;
 *  - the list exports as CSV and NDJSON; a crash mid-run leaves the run failed with nothing of it kept;
 *  - erasure removes the customer's scores, decisions, consent and contacts, and no audit entry holds any customer
 *    id named in a URL, in any form (test/helpers/identifier-forms.ts);
 *  - every bad input of the issue is a coded error naming the field, with nothing changed.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCampaigns, type NodeCampaigns } from '../../node/campaigns/index.js';
import { buildRestApp } from '../../node/rest/app.js';
import { hashToken, TokenAuthenticator } from '../../node/rest/auth.js';
import { datasetRoutes } from '../../node/rest/routes/datasets.js';
import { auditTo } from '../../platform/audit/audit-log.js';
import { importCsv } from '../../platform/csv/import-csv.js';
import { openSqliteNodeStore } from '../../platform/store/sqlite/index.js';
import type { ModelRecord, TrainingJobRecord } from '../../platform/store/training-types.js';
import type { NodeStore } from '../../platform/store/types.js';
import { identifierForms } from '../helpers/identifier-forms.js';
import { silentLog } from '../helpers/log.js';
import { accord } from '../helpers/run-cli.js';
import { rejected } from '../helpers/thrown.js';

const N = 1_200;
const DAY = 86_400_000;
const RUN_AT = Date.UTC(2025, 5, 30, 9);
const TOKENS = {
  alice: 'marketing-alice',
  bob: 'marketing-bob',
  carol: 'reviewer-carol',
  aliceReviewer: 'reviewer-alice',
  rita: 'risk-rita',
  ops: 'admin-ops',
} as const;
const auth = (who: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[who]}` });

const PROPENSITY = '0d6f9f3e-1c2a-4e55-8a1b-5f2e0c7a9b01';
const RISK = '0d6f9f3e-1c2a-4e55-8a1b-5f2e0c7a9b02';
const FEATURE_PART = '0d6f9f3e-1c2a-4e55-8a1b-5f2e0c7a9b03';
const SCREENING = '7a1e2b3c-4d5e-4f60-8a71-92b3c4d5e6f7';
const PURPOSE = 'marketing.deposits';

interface Customer {
  readonly row: number;
  readonly id: string;
  readonly balance: number;
  readonly default: string;
}

/** Distinctive pseudo-random values in [0, 1) per customer and model (many digits: searchable forms). */
function unit(id: string, salt: string): number {
  const h = createHash('sha256').update(`${salt}:${id}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}
const propensityOf = (c: Customer) => unit(c.id, 'p');
const riskOf = (c: Customer) => unit(c.id, 'r') * 0.2;
const riskScored = (c: Customer) => c.row % 41 !== 3;
const consentOf = (c: Customer): 'granted' | 'expired' | 'withdrawn' | 'none' =>
  (
    [
      'granted',
      'granted',
      'granted',
      'granted',
      'granted',
      'granted',
      'granted',
      'expired',
      'withdrawn',
      'none',
    ] as const
  )[c.row % 10]!;
const onDoNotContact = (c: Customer) => c.row % 37 === 5;
const fraudFlagged = (c: Customer) => c.row % 53 === 7;
/** Rows 11 and 12 become minors (born 2010), row 13 a malformed id (no birth date). */
const MINORS = new Set([11, 12]);
const UNKNOWN_AGE = 13;

const TIERS = [
  { tier: 'V0', when: { default: { in: ['yes'] } } },
  { tier: 'V1', when: { default: { notIn: ['yes'] }, balance: { max: 0 } } },
  { tier: 'V2', when: { default: { notIn: ['yes'] }, balance: { min: 0, max: 1000 } } },
  { tier: 'V3', when: { default: { notIn: ['yes'] }, balance: { min: 1000, max: 5000 } } },
  { tier: 'V4', when: { default: { notIn: ['yes'] }, balance: { min: 5000, max: 20000 } } },
  { tier: 'V5', when: { default: { notIn: ['yes'] }, balance: { min: 20000 } } },
];
const TIER_DISCOUNT: Record<string, number> = { V2: 0.1, V3: 0.25, V4: 0.5, V5: 0.75 };

function campaignSpec(overrides: Record<string, unknown> = {}) {
  return {
    name: 'term-deposit-q3',
    product: 'term-deposit',
    channels: ['email', 'sms'],
    population: { dataset: 'bank' },
    propensity: { model: PROPENSITY, minScore: 0.3 },
    risk: { model: RISK, maxProbabilityOfDefault: 0.1 },
    consentPurpose: PURPOSE,
    caps: [
      { scope: 'customer', max: 2, days: 30 },
      { scope: 'channel', channel: 'email', max: 1, days: 7 },
    ],
    exclusions: {
      fraudScreening: SCREENING,
      overdue: { column: 'default', values: ['yes'] },
      doNotContact: true,
      minors: { minimumAge: 18 },
    },
    tiers: TIERS,
    pricing: {
      guidanceRate: 4,
      tierDiscount: TIER_DISCOUNT,
      contribution: {
        column: 'balance',
        bands: [
          { from: 2000, discount: 0.05 },
          { from: 10000, discount: 0.15 },
        ],
      },
      priceBand: 0.25,
    },
    ...overrides,
  };
}

/** The reference decision, computed here from the raw rows and this file's own rules. */
function expected(c: Customer, runAt: number, history: { channel: string; at: number }[]) {
  const failures: string[] = [];
  const consent = consentOf(c);
  if (consent !== 'granted') failures.push(consent === 'none' ? 'consent-none' : `consent-${consent}`);
  if (MINORS.has(c.row)) failures.push('minor');
  if (c.row === UNKNOWN_AGE) failures.push('age-unknown');
  if (onDoNotContact(c)) failures.push('do-not-contact');
  if (fraudFlagged(c)) failures.push('fraud-flag');
  if (c.default === 'yes') failures.push('overdue');
  if (!riskScored(c)) failures.push('no-risk-score');
  if (propensityOf(c) < 0.3) failures.push('propensity-low');
  if (riskScored(c) && riskOf(c) > 0.1) failures.push('risk-high');
  const recent30 = history.filter((h) => h.at > runAt - 30 * DAY).length;
  const email7 = history.filter((h) => h.channel === 'email' && h.at > runAt - 7 * DAY).length;
  const channel = recent30 >= 2 ? null : email7 >= 1 ? 'sms' : 'email';
  if (recent30 >= 2) failures.push('cap-customer');
  const tier =
    c.default === 'yes'
      ? 'V0'
      : c.balance < 0
        ? 'V1'
        : c.balance < 1000
          ? 'V2'
          : c.balance < 5000
            ? 'V3'
            : c.balance < 20000
              ? 'V4'
              : 'V5';
  const contribution = c.balance >= 10000 ? 0.15 : c.balance >= 2000 ? 0.05 : 0;
  const raw = 4 - (TIER_DISCOUNT[tier] ?? 0) - contribution;
  const price = Math.round(Math.min(3.9, Math.max(3, raw)) * 10_000) / 10_000;
  const eligible = failures.length === 0;
  return {
    eligible,
    reason: failures[0] ?? 'eligible',
    tier,
    price: eligible ? price : null,
    channel: eligible ? channel : null,
  };
}

function bankRows(): { csv: string; customers: Customer[] } {
  const lines = readFileSync(new URL('../../examples/data/bank_marketing_bank.csv', import.meta.url), 'utf8')
    .trim()
    .split('\n');
  const header = lines[0]!;
  const cols = header.split(',');
  const customers: Customer[] = [];
  const out = [header];
  for (let i = 0; i < N; i++) {
    const cells = lines[i + 1]!.split(',');
    const row = i + 2; // the CSV line: the dataset's row key
    if (MINORS.has(row)) cells[0] = `${cells[0]!.slice(0, 6)}20100315${cells[0]!.slice(14)}`;
    if (row === UNKNOWN_AGE) cells[0] = `ZZ${cells[0]!.slice(2, 12)}`;
    out.push(cells.join(','));
    customers.push({
      row,
      id: cells[0]!,
      balance: Number(cells[cols.indexOf('balance')]),
      default: cells[cols.indexOf('default')]!,
    });
  }
  return { csv: `${out.join('\n')}\n`, customers };
}

async function registerModel(
  store: NodeStore,
  id: string,
  purpose: 'risk' | 'propensity',
  featureHolder = false,
) {
  const job = `job-${id}`;
  await store.trainingJobs.create({
    id: job,
    state: 'running',
    createdAt: new Date().toISOString(),
  } as unknown as TrainingJobRecord);
  const model = {
    id,
    createdAt: new Date().toISOString(),
    purpose,
    label: 'y',
    model: { type: 'logistic' },
    preprocessing: { columns: [] },
    parameters: new Float64Array([0.5]),
    history: [],
    lineage: { job },
    ...(featureHolder ? { vertical: { role: 'feature-holder', labelHolder: 'bank-b', partners: [] } } : {}),
  } as unknown as ModelRecord;
  await store.trainingJobs.complete(job, model, new Uint8Array([1, 2, 3]));
}

/** Leaves what a finished scoring job of `model` over `dataset` leaves: its scores of `rows`, by row key. */
async function scoreRows(
  store: NodeStore,
  dataset: string,
  model: string,
  job: string,
  rows: readonly { readonly row: number; readonly id: string; readonly score: number }[],
) {
  await store.scores.createJob({
    id: job,
    model,
    purpose: model === RISK ? 'risk' : 'propensity',
    population: { kind: 'dataset', dataset },
    state: 'running',
    total: rows.length,
    scored: 0,
    fingerprint: null,
    requestedBy: 'test',
    errorCode: null,
    errorMessage: null,
    createdAt: new Date().toISOString(),
    finishedAt: null,
  });
  for (let at = 0; at < rows.length; at += 500) {
    const part = rows.slice(at, at + 500);
    await store.scores.appendScores(
      job,
      {
        rowKeys: Int32Array.from(part.map((r) => r.row)),
        scores: Float64Array.from(part.map((r) => r.score)),
      },
      part.map((r) => r.id),
    );
  }
  return store.scores.complete(job, 'f'.repeat(64));
}

async function writeScores(
  store: NodeStore,
  model: string,
  customers: Customer[],
  score: (c: Customer) => number,
) {
  const scored = customers.filter((c) => model !== RISK || riskScored(c));
  await scoreRows(
    store,
    'bank',
    model,
    `scoring-${model}`,
    scored.map((c) => ({ row: c.row, id: c.id, score: score(c) })),
  );
}

describe('campaigns over REST', () => {
  let dir: string;
  let store: NodeStore;
  let campaigns: NodeCampaigns;
  let app: FastifyInstance;
  let clock = RUN_AT;
  let customers: Customer[];
  /** Every customer id a URL named: none may appear in the audit log. */
  const named = new Set<string>();

  const call = (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    who: keyof typeof TOKENS,
    payload?: unknown,
  ) =>
    app.inject({
      method,
      url,
      headers: auth(who),
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
  const csv = (url: string, who: keyof typeof TOKENS, body: string) =>
    app.inject({ method: 'POST', url, headers: { ...auth(who), 'content-type': 'text/csv' }, payload: body });
  const customerUrl = (c: Customer) => {
    named.add(c.id);
    return encodeURIComponent(c.id);
  };

  /** Create (alice), submit (alice), approve (carol): returns the campaign id. */
  async function approvedCampaign(spec = campaignSpec()): Promise<string> {
    const created = await call('POST', '/v1/campaigns', 'alice', spec);
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    expect((await call('POST', `/v1/campaigns/${id}/submit`, 'alice')).statusCode).toBe(200);
    const approved = await call('POST', `/v1/campaigns/${id}/approve`, 'carol', {});
    expect(approved.statusCode, approved.body).toBe(200);
    return id;
  }

  async function run(id: string) {
    const started = await call('POST', `/v1/campaigns/${id}/runs`, 'alice');
    expect(started.statusCode, started.body).toBe(202);
    await campaigns.runs.wait(started.json().id);
    const res = await call('GET', `/v1/campaigns/${id}/runs/${started.json().id}`, 'alice');
    expect(res.json().state, res.body).toBe('done');
    return res.json();
  }

  async function decisions(id: string, runId: string) {
    const res = await call('GET', `/v1/campaigns/${id}/runs/${runId}/export?format=ndjson`, 'alice');
    expect(res.statusCode).toBe(200);
    return res.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'accord-campaigns-'));
    store = openSqliteNodeStore(join(dir, 'node.db'));
    const audit = auditTo(store.audit, silentLog);
    campaigns = buildCampaigns({ store, audit, log: silentLog, now: () => clock });
    await campaigns.start();
    app = buildRestApp({
      routes: [...datasetRoutes({ datasets: store.datasets, inUse: async () => false }), ...campaigns.routes],
      auth: new TokenAuthenticator([
        { role: 'marketing', sha256: hashToken(TOKENS.alice), label: 'alice' },
        { role: 'marketing', sha256: hashToken(TOKENS.bob), label: 'bob' },
        { role: 'reviewer', sha256: hashToken(TOKENS.carol), label: 'carol' },
        { role: 'reviewer', sha256: hashToken(TOKENS.aliceReviewer), label: 'alice' },
        { role: 'risk', sha256: hashToken(TOKENS.rita), label: 'rita' },
        { role: 'admin', sha256: hashToken(TOKENS.ops), label: 'ops' },
      ]),
      audit,
      log: silentLog,
      version: 'test',
    });
    await app.ready();

    const rows = bankRows();
    customers = rows.customers;
    const imported = await csv(
      '/v1/datasets/bank?idColumn=national_id&idKind=national_id&defaultType=string&columns=age:integer,balance:integer,y:integer',
      'ops',
      rows.csv,
    );
    expect(imported.statusCode, imported.body).toBe(201);
    await registerModel(store, PROPENSITY, 'propensity');
    await registerModel(store, RISK, 'risk');
    await registerModel(store, FEATURE_PART, 'propensity', true);
    await writeScores(store, PROPENSITY, customers, propensityOf);
    await writeScores(store, RISK, customers, riskOf);
    await store.screeningJobs.create({
      jobId: SCREENING,
      idKind: 'national_id',
      total: N,
      startedMs: Date.now(),
    });
    await store.screeningJobs.complete(
      SCREENING,
      customers.filter(fraudFlagged).map((c, index) => ({
        index,
        id: c.id,
        aggregates: { applications: { d1: 0, d7: 0, d30: 0 }, flags: [] },
      })),
    );
    const consentCsv = [
      'customer_id,purpose,status,expires_at',
      ...customers.flatMap((c) => {
        const state = consentOf(c);
        if (state === 'none') return [];
        return [
          `${c.id},${PURPOSE},${state === 'withdrawn' ? 'withdrawn' : 'granted'},${state === 'expired' ? '2025-01-01' : ''}`,
        ];
      }),
    ].join('\n');
    const consent = await csv('/v1/consent', 'ops', consentCsv);
    expect(consent.statusCode, consent.body).toBe(200);
    const dnc = await csv(
      '/v1/do-not-contact',
      'alice',
      `customer_id\n${customers
        .filter(onDoNotContact)
        .map((c) => c.id)
        .join('\n')}\n`,
    );
    expect(dnc.json()).toMatchObject({ added: customers.filter(onDoNotContact).length });
    const limits = await call('PUT', '/v1/pricing-limits/term-deposit', 'rita', {
      floor: 3,
      ceiling: 3.9,
      maxProbabilityOfDefault: 0.15,
    });
    expect(limits.statusCode, limits.body).toBe(200);
  });

  afterAll(async () => {
    await campaigns.stop();
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let campaignId: string;
  let firstRun: { id: string; funnel: Record<string, unknown> } & Record<string, unknown>;

  it('runs an approved campaign: every decision matches an independent recomputation, and so does the funnel', async () => {
    campaignId = await approvedCampaign();
    firstRun = await run(campaignId);
    const got = await decisions(campaignId, firstRun.id);
    expect(got).toHaveLength(N);
    const want = customers.map((c) => expected(c, RUN_AT, []));
    expect(
      got.map((d) => ({
        eligible: d.eligible,
        reason: d.reason,
        tier: d.tier,
        price: d.price,
        channel: d.channel,
      })),
    ).toEqual(want);
    expect(got.map((d) => d.customerId)).toEqual(customers.map((c) => c.id));
    // Every exclusion happens, and some customers are eligible.
    const reasons = new Set(want.map((w) => w.reason));
    for (const r of [
      'consent-none',
      'consent-expired',
      'consent-withdrawn',
      'minor',
      'age-unknown',
      'do-not-contact',
      'fraud-flag',
      'overdue',
      'no-risk-score',
      'propensity-low',
      'risk-high',
      'eligible',
    ])
      expect(reasons, r).toContain(r);
    const funnel = firstRun.funnel as {
      population: number;
      eligible: number;
      steps: { rule: string; excluded: number; remaining: number }[];
      tiers: { tier: string; eligible: number }[];
      priceBands: { from: number; eligible: number }[];
    };
    const eligible = want.filter((w) => w.eligible);
    expect(funnel.population).toBe(N);
    expect(funnel.eligible).toBe(eligible.length);
    expect(funnel.steps.find((s) => s.rule === 'consent')!.excluded).toBe(
      want.filter((w) => w.reason.startsWith('consent')).length,
    );
    expect(funnel.steps.at(-1)!.remaining).toBe(eligible.length);
    for (const t of funnel.tiers)
      expect(t.eligible, t.tier).toBe(eligible.filter((w) => w.tier === t.tier).length);
    for (const b of funnel.priceBands)
      expect(b.eligible).toBe(eligible.filter((w) => w.price! >= b.from && w.price! < b.from + 0.25).length);
    // The run records the exact version, models, scoring jobs and fingerprints it used.
    expect(firstRun).toMatchObject({
      version: 1,
      phase: 'done',
      progress: { processed: N, total: N, fraction: 1 },
    });
    expect(firstRun.inputs).toMatchObject({
      runAt: new Date(RUN_AT).toISOString(),
      population: { dataset: 'bank', rows: N, fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) },
      models: {
        propensity: { model: PROPENSITY, scoringJob: `scoring-${PROPENSITY}`, fingerprint: 'f'.repeat(64) },
        risk: { model: RISK, scoringJob: `scoring-${RISK}` },
      },
      screeningJob: SCREENING,
      limits: { floor: 3, ceiling: 3.9, maxProbabilityOfDefault: 0.15 },
    });
  });

  it('explains one excluded customer per rule, and an eligible one', async () => {
    const want = customers.map((c) => expected(c, RUN_AT, []));
    const firstWith = (reason: string) => customers[want.findIndex((w) => w.reason === reason)]!;
    const cases: [string, string, RegExp][] = [
      ['consent-none', 'consent', /no consent is recorded for purpose marketing\.deposits/],
      ['consent-withdrawn', 'consent', /was withdrawn/],
      ['consent-expired', 'consent', /had expired at the run/],
      ['minor', 'adult', /younger than 18/],
      ['age-unknown', 'adult', /resident identity number/],
      ['do-not-contact', 'do-not-contact', /do-not-contact list/],
      ['fraud-flag', 'fraud', /fraud signals/],
      ['overdue', 'overdue', /default is one of \["yes"\]/],
      ['no-risk-score', 'scores', /no risk score/],
      ['propensity-low', 'propensity', /below the campaign's minimum 0\.3/],
      ['risk-high', 'risk', /above the campaign's maximum 0\.1/],
    ];
    for (const [reason, rule, text] of cases) {
      const c = firstWith(reason);
      const res = await call(
        'GET',
        `/v1/campaigns/${campaignId}/runs/${firstRun.id}/decisions/${customerUrl(c)}`,
        'alice',
      );
      expect(res.statusCode, res.body).toBe(200);
      const d = res.json();
      expect(d.eligible).toBe(false);
      expect(d.firstFailed).toMatchObject({ rule, reason });
      expect(d.firstFailed.text).toMatch(text);
      expect(d.reasons[0]).toBe(d.firstFailed.text);
      expect(d.passed).not.toContain(rule);
    }
    const ok = firstWith('eligible');
    const d = (
      await call(
        'GET',
        `/v1/campaigns/${campaignId}/runs/${firstRun.id}/decisions/${customerUrl(ok)}`,
        'carol',
      )
    ).json();
    expect(d).toMatchObject({
      eligible: true,
      firstFailed: null,
      reasons: [],
      channel: 'email',
      tier: expected(ok, RUN_AT, []).tier,
    });
    expect(d.scores.propensity).toBe(propensityOf(ok));
    expect(d.passed).toHaveLength(9);
  });

  it('takes a withdrawal into account at the next run, and holds contact caps across runs', async () => {
    const want1 = customers.map((c) => expected(c, RUN_AT, []));
    const eligible1 = customers.filter((_, i) => want1[i]!.eligible);
    const withdrawn = eligible1[0]!;
    const put = await call('PUT', `/v1/customers/${customerUrl(withdrawn)}/consent/${PURPOSE}`, 'ops', {
      status: 'withdrawn',
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ status: 'withdrawn', grantedAt: expect.any(String) });
    clock = RUN_AT + DAY;
    const second = await run(campaignId);
    const got2 = await decisions(campaignId, second.id);
    const history1 = (c: Customer) => (want1[c.row - 2]!.eligible ? [{ channel: 'email', at: RUN_AT }] : []);
    const want2 = customers.map((c) => {
      const e = expected(c, RUN_AT + DAY, history1(c));
      return c === withdrawn
        ? { eligible: false, reason: 'consent-withdrawn', tier: e.tier, price: null, channel: null }
        : e;
    });
    expect(
      got2.map((d) => ({
        eligible: d.eligible,
        reason: d.reason,
        tier: d.tier,
        price: d.price,
        channel: d.channel,
      })),
    ).toEqual(want2);
    // Those contacted by email yesterday get sms now (email capped for 7 days).
    expect(got2.find((d) => d.customerId === eligible1[1]!.id)).toMatchObject({
      eligible: true,
      channel: 'sms',
    });
    // A third run: two contacts in 30 days reach the customer cap.
    clock = RUN_AT + 2 * DAY;
    const third = await run(campaignId);
    const got3 = await decisions(campaignId, third.id);
    const d = got3.find((x) => x.customerId === eligible1[1]!.id);
    expect(d).toMatchObject({ eligible: false, reason: 'cap-customer' });
    expect(d.reasons[0]).toMatch(/already contacted 2 times or more in the last 30 days/);
    expect(
      third.funnel.steps.find((s: { rule: string }) => s.rule === 'contact-cap').excluded,
    ).toBeGreaterThan(0);
  });

  it('exports the list as CSV or NDJSON, all customers or the eligible only', async () => {
    const res = await call(
      'GET',
      `/v1/campaigns/${campaignId}/runs/${firstRun.id}/export?format=csv&eligible=true`,
      'alice',
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.body.trim().split('\n');
    expect(lines[0]).toBe('customer_id,eligible,tier,propensity,risk,price,channel,reason,reasons');
    // Less the one customer who withdrew consent since the run (re-checked when the list is read).
    expect(lines.length - 1).toBe((firstRun.funnel.eligible as number) - 1);
    const nd = await call(
      'GET',
      `/v1/campaigns/${campaignId}/runs/${firstRun.id}/export?format=ndjson`,
      'alice',
    );
    expect(nd.headers['content-type']).toMatch(/^application\/x-ndjson/);
    // Reviewers read decisions but do not pull lists.
    expect(
      (await call('GET', `/v1/campaigns/${campaignId}/runs/${firstRun.id}/export`, 'carol')).statusCode,
    ).toBe(403);
  });

  it("re-checks a done run's list against consent and do-not-contact when it is read", async () => {
    const want1 = customers.map((c) => expected(c, RUN_AT, []));
    const eligible1 = customers.filter((_, i) => want1[i]!.eligible);
    // [0] withdrew before the second run (above); [1] is erased below; these three change now.
    const [withdraws, listed, expires] = eligible1.slice(2, 5) as [Customer, Customer, Customer];
    const put = (c: Customer, body: unknown) =>
      call('PUT', `/v1/customers/${customerUrl(c)}/consent/${PURPOSE}`, 'ops', body);
    expect((await put(withdraws, { status: 'withdrawn' })).statusCode).toBe(200);
    expect(
      (await put(expires, { status: 'granted', expiresAt: new Date(clock - 1000).toISOString() })).statusCode,
    ).toBe(200);
    expect(
      (await call('PUT', `/v1/customers/${customerUrl(listed)}/do-not-contact`, 'alice')).statusCode,
    ).toBe(200);
    const changed = new Map([
      [eligible1[0]!.id, 'consent-withdrawn-since-run'],
      [withdraws.id, 'consent-withdrawn-since-run'],
      [listed.id, 'do-not-contact-since-run'],
      [expires.id, 'consent-expired-since-run'],
    ]);
    const got = await decisions(campaignId, firstRun.id);
    for (const [i, d] of got.entries()) {
      const reason = changed.get(d.customerId);
      const w = want1[i]!;
      expect(d, d.customerId).toMatchObject(
        reason
          ? { eligible: false, reason, tier: w.tier, price: null, channel: null }
          : { eligible: w.eligible, reason: w.reason, price: w.price, channel: w.channel },
      );
    }
    const texts = Object.fromEntries(
      got.filter((d) => changed.has(d.customerId)).map((d) => [d.reason, d.reasons[0]]),
    );
    expect(texts['consent-withdrawn-since-run']).toMatch(/withdrawn since the run/);
    expect(texts['consent-expired-since-run']).toMatch(/expired since the run/);
    expect(texts['do-not-contact-since-run']).toMatch(/do-not-contact list since the run/);
    // The eligible-only list leaves them out; the "why?" route says the same.
    const csvList = await call(
      'GET',
      `/v1/campaigns/${campaignId}/runs/${firstRun.id}/export?format=csv&eligible=true`,
      'alice',
    );
    const listedIds = csvList.body
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',')[0]);
    expect(listedIds).toHaveLength((firstRun.funnel.eligible as number) - changed.size);
    for (const id of changed.keys()) expect(listedIds).not.toContain(id);
    const why = (
      await call(
        'GET',
        `/v1/campaigns/${campaignId}/runs/${firstRun.id}/decisions/${customerUrl(listed)}`,
        'carol',
      )
    ).json();
    expect(why).toMatchObject({
      eligible: false,
      firstFailed: { rule: 'do-not-contact', reason: 'do-not-contact-since-run' },
      price: null,
      channel: null,
    });
    expect(why.passed).not.toContain('do-not-contact');
    expect(why.passed).toContain('consent');
  });

  it('fails a run a crash interrupted at the next start, removing its decisions and contacts', async () => {
    const runs = store.campaignRuns;
    const id = '3b9d2f4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
    await runs.create({
      id,
      campaign: campaignId,
      version: 1,
      digest: 'd',
      state: 'running',
      phase: 'deciding',
      processed: 0,
      total: 2,
      inputs: null,
      funnel: null,
      startedBy: 'alice',
      errorCode: null,
      errorMessage: null,
      createdAt: new Date().toISOString(),
      finishedAt: null,
    });
    const c = customers[0]!;
    await runs.append(
      id,
      {
        rowKeys: [c.row],
        customerIds: [c.id],
        passed: Int32Array.of(511),
        reason: Int32Array.of(0),
        cap: Int32Array.of(-1),
        tier: Int32Array.of(2),
        propensity: Float64Array.of(0.5),
        risk: Float64Array.of(0.01),
        price: Float64Array.of(3.5),
        channel: Int32Array.of(0),
      },
      { atMs: clock, customerIds: [c.id], channels: ['email'] },
    );
    const before = await runs.contactsOf([c.id], 0);
    // The node restarts: a fresh campaigns part over the same store.
    const restarted = buildCampaigns({ store, audit: async () => {}, log: silentLog });
    expect(await restarted.start()).toBe(1);
    const failed = await runs.get(id);
    expect(failed).toMatchObject({ state: 'failed', errorCode: 'ACCORD_CAMPAIGN_RUN_INTERRUPTED' });
    expect(await runs.decision(id, c.id)).toBeNull();
    // Erasing the customer deletes every contact row they have, counted or not: only the finished runs' remain.
    expect((await runs.eraseCustomer(c.id)).contacts).toBe(before.length);
  });

  it('erases a customer: scores, decisions, consent, contacts; the audit log never holds a named id', async () => {
    const want1 = customers.map((c) => expected(c, RUN_AT, []));
    // Eligible in the first run (email) and the second (sms), capped in the third; consent never withdrawn.
    const c = customers.filter((_, i) => want1[i]!.eligible)[1]!;
    const res = await call('DELETE', `/v1/customers/${customerUrl(c)}`, 'ops');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ scores: 2, decisions: 3, consent: 1, contacts: 2, doNotContactKept: false });
    const why = await call(
      'GET',
      `/v1/campaigns/${campaignId}/runs/${firstRun.id}/decisions/${customerUrl(c)}`,
      'alice',
    );
    expect(why.json().error.code).toBe('ACCORD_CAMPAIGN_DECISION_NOT_FOUND');
    expect((await call('GET', `/v1/customers/${customerUrl(c)}/consent`, 'alice')).json()).toEqual({
      consent: [],
      doNotContact: false,
    });
    const again = await call('DELETE', `/v1/customers/${customerUrl(c)}`, 'ops');
    expect(again.json()).toEqual({
      scores: 0,
      decisions: 0,
      consent: 0,
      contacts: 0,
      doNotContactKept: false,
    });
    // Only an admin erases.
    expect((await call('DELETE', `/v1/customers/${customerUrl(c)}`, 'alice')).statusCode).toBe(403);
  });

  describe('bad input: a coded error naming the field, and nothing changed', () => {
    const count = async () => (await call('GET', '/v1/campaigns', 'alice')).json().campaigns.length;

    it('refuses an unknown model and a model of the wrong purpose, in either slot', async () => {
      const before = await count();
      const unknown = await call(
        'POST',
        '/v1/campaigns',
        'alice',
        campaignSpec({ propensity: { model: '0d6f9f3e-1c2a-4e55-8a1b-5f2e0c7a9bff', minScore: 0.3 } }),
      );
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json().error).toMatchObject({
        code: 'ACCORD_CAMPAIGN_MODEL_NOT_FOUND',
        params: { field: 'propensity.model' },
      });
      const swapped = await call(
        'POST',
        '/v1/campaigns',
        'alice',
        campaignSpec({
          propensity: { model: RISK, minScore: 0.3 },
          risk: { model: PROPENSITY, maxProbabilityOfDefault: 0.1 },
        }),
      );
      expect(swapped.json().error).toMatchObject({
        code: 'ACCORD_CAMPAIGN_MODEL_PURPOSE',
        params: { field: 'propensity.model' },
      });
      expect(swapped.json().error.message).toContain('"risk", not "propensity"');
      const riskSlot = await call(
        'POST',
        '/v1/campaigns',
        'alice',
        campaignSpec({ risk: { model: FEATURE_PART, maxProbabilityOfDefault: 0.1 } }),
      );
      expect(riskSlot.json().error).toMatchObject({
        code: 'ACCORD_CAMPAIGN_MODEL_PURPOSE',
        params: { field: 'risk.model' },
      });
      const part = await call(
        'POST',
        '/v1/campaigns',
        'alice',
        campaignSpec({ propensity: { model: FEATURE_PART, minScore: 0.3 } }),
      );
      expect(part.json().error.message).toContain("feature holder's part");
      expect(await count()).toBe(before);
    });

    it('refuses thresholds outside [0, 1] and a risk threshold above the product limit', async () => {
      const before = await count();
      const high = await call(
        'POST',
        '/v1/campaigns',
        'alice',
        campaignSpec({ propensity: { model: PROPENSITY, minScore: 1.2 } }),
      );
      expect(high.statusCode).toBe(400);
      expect(high.json().error.code).toBe('ACCORD_REQUEST_INVALID');
      expect(high.json().error.message).toContain('propensity.minScore');
      const negative = await campaigns.service
        .create(campaignSpec({ risk: { model: RISK, maxProbabilityOfDefault: -0.01 } }), {
          role: 'marketing',
          label: 'alice',
        })
        .catch((e) => e);
      expect(negative).toMatchObject({
        code: 'ACCORD_CAMPAIGN_SPEC_INVALID',
        params: { field: 'risk.maxProbabilityOfDefault' },
      });
      const aboveLimit = await call(
        'POST',
        '/v1/campaigns',
        'alice',
        campaignSpec({ risk: { model: RISK, maxProbabilityOfDefault: 0.2 } }),
      );
      expect(aboveLimit.json().error).toMatchObject({
        code: 'ACCORD_CAMPAIGN_RISK_LIMIT_EXCEEDED',
        params: { limit: 0.15 },
      });
      expect(await count()).toBe(before);
    });

    it('refuses overlapping or gapped tiers, naming the rules or the uncovered point', async () => {
      const overlap = TIERS.map((t) =>
        t.tier === 'V4' ? { ...t, when: { ...t.when, balance: { min: 4000, max: 20000 } } } : t,
      );
      const o = await call('POST', '/v1/campaigns', 'alice', campaignSpec({ tiers: overlap }));
      expect(o.json().error).toMatchObject({
        code: 'ACCORD_CAMPAIGN_TIERS_OVERLAP',
        params: { first: 'V3 (tiers[3])', second: 'V4 (tiers[4])' },
      });
      const gap = TIERS.filter((t) => t.tier !== 'V0');
      const g = await call('POST', '/v1/campaigns', 'alice', campaignSpec({ tiers: gap }));
      expect(g.json().error).toMatchObject({
        code: 'ACCORD_CAMPAIGN_TIERS_GAP',
        params: { point: 'default = "yes" (any balance)' },
      });
      const column = await call(
        'POST',
        '/v1/campaigns',
        'alice',
        campaignSpec({
          tiers: TIERS.map((t) => (t.tier === 'V0' ? { ...t, when: { ...t.when, tenure: { min: 0 } } } : t)),
        }),
      );
      expect(column.json().error).toMatchObject({
        code: 'ACCORD_CAMPAIGN_COLUMN_INVALID',
        params: { field: 'tiers.0.when.tenure' },
      });
    });

    it('refuses a pricing floor above the ceiling, keeping the limits', async () => {
      const res = await call('PUT', '/v1/pricing-limits/term-deposit', 'rita', { floor: 5, ceiling: 4 });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'ACCORD_CAMPAIGN_PRICING_LIMITS_INVALID',
        params: { field: 'floor' },
      });
      expect((await call('GET', '/v1/pricing-limits', 'alice')).json().limits[0]).toMatchObject({
        floor: 3,
        ceiling: 3.9,
      });
      expect(
        (await call('PUT', '/v1/pricing-limits/term-deposit', 'alice', { floor: 1, ceiling: 2 })).statusCode,
      ).toBe(403);
    });

    it('refuses approval by the author and by a non-reviewer, and a rejection without a comment', async () => {
      const created = await call('POST', '/v1/campaigns', 'alice', campaignSpec({ name: 'self-review' }));
      const id = created.json().id;
      await call('POST', `/v1/campaigns/${id}/submit`, 'alice');
      const self = await call('POST', `/v1/campaigns/${id}/approve`, 'aliceReviewer', {});
      expect(self.statusCode).toBe(403);
      expect(self.json().error).toMatchObject({
        code: 'ACCORD_CAMPAIGN_SELF_REVIEW',
        params: { label: 'alice' },
      });
      const marketing = await call('POST', `/v1/campaigns/${id}/approve`, 'bob', {});
      expect(marketing.statusCode).toBe(403);
      expect(marketing.json().error.code).toBe('ACCORD_AUTH_FORBIDDEN');
      const noComment = await call('POST', `/v1/campaigns/${id}/reject`, 'carol', { comment: '  ' });
      expect(noComment.statusCode).toBe(400);
      expect(noComment.json().error.message).toContain('comment');
      expect((await call('GET', `/v1/campaigns/${id}`, 'carol')).json()).toMatchObject({
        state: 'submitted',
        approvedVersion: null,
      });
      const rejected = await call('POST', `/v1/campaigns/${id}/reject`, 'carol', {
        comment: 'price floor too aggressive',
      });
      expect(rejected.json()).toMatchObject({ state: 'rejected' });
      expect(rejected.json().reviews.map((r: { action: string }) => r.action)).toEqual(['submit', 'reject']);
    });

    it('refuses a reviewer who wrote any version since the last review decision, labels compared trimmed and lowercased', async () => {
      const as = (role: 'marketing' | 'reviewer', label: string) => ({ role, label }) as const;
      const service = campaigns.service;
      const { id } = await service.create(campaignSpec({ name: 'many-hands' }), as('marketing', 'alice'));
      await service.update(
        id,
        campaignSpec({ name: 'many-hands', channels: ['sms', 'email'] }),
        as('marketing', 'bob'),
      );
      await service.update(id, campaignSpec({ name: 'many-hands' }), as('marketing', 'dave'));
      await service.submit(id, as('marketing', 'dave'));
      // bob wrote version 2 only (not the current one, not the creator, not the submitter); ' Alice' is alice.
      for (const label of [' BOB', 'Bob', 'bob', ' Alice', 'DAVE '])
        expect(await rejected(service.approve(id, as('reviewer', label))), label).toMatchObject({
          code: 'ACCORD_CAMPAIGN_SELF_REVIEW',
          params: { version: 3 },
        });
      expect((await service.get(id)).state).toBe('submitted');
      await service.approve(id, as('reviewer', 'carol'));
      // After that decision only the versions written since count (and the creator, always).
      await service.update(id, campaignSpec({ name: 'many-hands', caps: [] }), as('marketing', 'erin'));
      await service.submit(id, as('marketing', 'erin'));
      expect(await rejected(service.reject(id, as('reviewer', 'Erin'), 'no'))).toMatchObject({
        code: 'ACCORD_CAMPAIGN_SELF_REVIEW',
      });
      expect(await rejected(service.reject(id, as('reviewer', 'alice'), 'no'))).toMatchObject({
        code: 'ACCORD_CAMPAIGN_SELF_REVIEW',
      });
      expect((await service.reject(id, as('reviewer', 'bob'), 'caps are needed')).state).toBe('rejected');
    });

    it('refuses to run an unapproved or changed campaign, and a population without consent data', async () => {
      const draft = (
        await call('POST', '/v1/campaigns', 'alice', campaignSpec({ name: 'draft-only' }))
      ).json().id;
      const unapproved = await call('POST', `/v1/campaigns/${draft}/runs`, 'alice');
      expect(unapproved.statusCode).toBe(409);
      expect(unapproved.json().error.code).toBe('ACCORD_CAMPAIGN_NOT_APPROVED');

      const id = await approvedCampaign(campaignSpec({ name: 'changed' }));
      const edited = await call(
        'PUT',
        `/v1/campaigns/${id}`,
        'bob',
        campaignSpec({ name: 'changed', channels: ['sms', 'email'] }),
      );
      expect(edited.json()).toMatchObject({ state: 'draft', version: 2, approvedVersion: 1 });
      expect(edited.json().versions).toHaveLength(2);
      const changed = await call('POST', `/v1/campaigns/${id}/runs`, 'alice');
      expect(changed.json().error).toMatchObject({
        code: 'ACCORD_CAMPAIGN_CHANGED',
        params: { approved: 1, current: 2 },
      });

      const noConsent = await approvedCampaign(
        campaignSpec({ name: 'no-consent', consentPurpose: 'marketing.loans' }),
      );
      const refused = await call('POST', `/v1/campaigns/${noConsent}/runs`, 'alice');
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.code).toBe('ACCORD_CAMPAIGN_CONSENT_MISSING');
      expect(refused.json().error.message).toContain('consentPurpose');
      expect(refused.json().error.message).toContain('marketing.loans');
      for (const c of [draft, id, noConsent])
        expect((await call('GET', `/v1/campaigns/${c}`, 'alice')).json().runs).toEqual([]);
    });

    it('refuses to run without scores, and with a scorer wired scores the population first', async () => {
      const mini = customers.slice(0, 40);
      const header = 'national_id,age,job,marital,education,default,balance,housing,loan,y';
      const rows = mini.map((c) => `${c.id},40,admin.,single,tertiary,${c.default},${c.balance},no,no,0`);
      const imported = await csv(
        '/v1/datasets/mini?idColumn=national_id&idKind=national_id&defaultType=string&columns=age:integer,balance:integer,y:integer',
        'ops',
        `${header}\n${rows.join('\n')}\n`,
      );
      expect(imported.statusCode, imported.body).toBe(201);
      const id = await approvedCampaign(
        campaignSpec({ name: 'mini', population: { dataset: 'mini' }, exclusions: { doNotContact: true } }),
      );
      const refused = await call('POST', `/v1/campaigns/${id}/runs`, 'alice');
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error).toMatchObject({
        code: 'ACCORD_CAMPAIGN_SCORES_MISSING',
        params: { field: 'propensity.model', dataset: 'mini' },
      });
      // The scoring service's part, played here by writing the scores a scoring job would leave.
      const asked: string[] = [];
      const scorer = {
        ensure: async (model: string, dataset: string) => {
          asked.push(`${model}/${dataset}`);
          const job = `scoring-${model}-${dataset}`;
          await store.scores.createJob({
            id: job,
            model,
            purpose: model === RISK ? 'risk' : 'propensity',
            population: { kind: 'dataset', dataset },
            state: 'running',
            total: mini.length,
            scored: 0,
            fingerprint: null,
            requestedBy: 'alice',
            errorCode: null,
            errorMessage: null,
            createdAt: new Date().toISOString(),
            finishedAt: null,
          });
          await store.scores.appendScores(
            job,
            {
              rowKeys: Int32Array.from(mini.map((_, i) => i + 2)),
              scores: Float64Array.from(mini.map((c) => (model === RISK ? riskOf(c) : propensityOf(c)))),
            },
            mini.map((c) => c.id),
          );
          return store.scores.complete(job, 'e'.repeat(64));
        },
      };
      const withScorer = buildCampaigns({
        store,
        audit: async () => {},
        log: silentLog,
        scorer,
        now: () => clock,
      });
      await withScorer.start();
      const started = await withScorer.runs.start(id, { role: 'marketing', label: 'alice' });
      expect(started.phase).toBe('scoring');
      const done = await withScorer.runs.wait(started.id);
      expect(done.state).toBe('done');
      expect(asked).toEqual([`${PROPENSITY}/mini`, `${RISK}/mini`]);
      expect(done.inputs?.models.risk).toEqual({
        model: RISK,
        scoringJob: `scoring-${RISK}-mini`,
        fingerprint: 'e'.repeat(64),
      });
      expect(done.funnel?.population).toBe(mini.length);
    });

    it('binds a run to its population version: a replace is refused in its commit, one that slips past fails the run', async () => {
      const few = customers.slice(200, 230);
      const header = 'national_id,age,job,marital,education,default,balance,housing,loan,y';
      const populationCsv = (rows: Customer[]) =>
        `${header}\n${rows.map((c) => `${c.id},40,admin.,single,tertiary,no,${c.balance},no,no,0`).join('\n')}\n`;
      const replace = (rows: Customer[], inUse?: (dataset: string) => boolean) =>
        importCsv(store.datasets, Readable.from([populationCsv(rows)]), {
          name: 'swap',
          replace: true,
          inUse,
          schema: {
            idColumn: 'national_id',
            idKind: 'national_id',
            columns: 'age:integer,balance:integer,y:integer',
            defaultType: 'string',
          },
        });
      await replace(few);
      // Version 1 scored by both models: row key i + 2 is few[i].
      const v1Jobs = await Promise.all(
        [PROPENSITY, RISK].map((model) =>
          scoreRows(
            store,
            'swap',
            model,
            `scoring-${model}-swap-v1`,
            few.map((c, i) => ({ row: i + 2, id: c.id, score: model === RISK ? 0.01 : propensityOf(c) })),
          ),
        ),
      );
      const id = await approvedCampaign(
        campaignSpec({ name: 'swap', population: { dataset: 'swap' }, exclusions: { doNotContact: true } }),
      );
      const marketing = { role: 'marketing', label: 'alice' } as const;
      // Once the run has started, a re-import reversing the rows (row key i + 2 now names another customer) comes in.
      let refused: unknown = null;
      const hooked: NodeCampaigns = buildCampaigns({
        store,
        log: silentLog,
        now: () => clock,
        audit: async (entry) => {
          if (entry.action !== 'campaign-run:start') return;
          // Its commit asks whether a job reads the dataset, inside the transaction: refused, nothing changed.
          refused = await replace([...few].reverse(), (d) => hooked.isDatasetInUse(d)).catch((e) => e);
          // One that does not ask (as one racing the run's start would) commits, and the run must not mix versions.
          await replace([...few].reverse());
        },
      });
      await hooked.start();
      const started = await hooked.runs.start(id, marketing);
      const failed = await hooked.runs.wait(started.id);
      expect(refused).toMatchObject({ code: 'ACCORD_DATASET_IN_USE' });
      expect(failed).toMatchObject({ state: 'failed', errorCode: 'ACCORD_DATASET_VERSION_CHANGED' });
      for (const c of [few[0]!, few.at(-1)!])
        expect(await store.campaignRuns.decision(started.id, c.id)).toBeNull();
      // Scores of version 1 handed to a run of version 2 (say by a scorer joining an older job) are refused.
      const stale = buildCampaigns({
        store,
        log: silentLog,
        now: () => clock,
        audit: async () => {},
        scorer: { ensure: async (model) => v1Jobs.find((j) => j.model === model)! },
      });
      await stale.start();
      const second = await stale.runs.wait((await stale.runs.start(id, marketing)).id);
      expect(second).toMatchObject({ state: 'failed', errorCode: 'ACCORD_CAMPAIGN_SCORES_STALE' });
      expect(second.errorMessage).toContain('propensity.model');
    });

    it('reports a bad consent line with its number and keeps nothing of the upload', async () => {
      const a = customers[100]!;
      const b = customers[101]!;
      const res = await csv(
        '/v1/consent',
        'ops',
        `customer_id,purpose,status,expires_at\n${a.id},marketing.cards,granted,\n${b.id},marketing.cards,maybe,\n`,
      );
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'ACCORD_CONSENT_ROW_INVALID',
        params: { line: 3, column: 'status' },
      });
      expect(res.json().error.message).not.toContain('maybe');
      const kept = (await call('GET', `/v1/customers/${customerUrl(a)}/consent`, 'alice')).json().consent;
      expect(kept.map((k: { purpose: string }) => k.purpose)).toEqual([PURPOSE]);
    });
  });

  it('reads consent times with a zone or as plain dates (UTC) only, naming the line of any other', async () => {
    const [a, b] = customers.slice(110, 112) as [Customer, Customer];
    const purpose = 'marketing.savings';
    const upload = (expires: string) =>
      csv(
        '/v1/consent',
        'ops',
        `customer_id,purpose,status,expires_at\n${a.id},${purpose},granted,2030-01-01\n${b.id},${purpose},granted,${expires}\n`,
      );
    for (const bad of [
      '2030-01-01T10:00',
      '2030-01-01 10:00:00',
      '2030-02-30',
      '2030-01-01T25:00Z',
      '01/02/2030',
    ]) {
      const res = await upload(bad);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error, bad).toMatchObject({
        code: 'ACCORD_CONSENT_ROW_INVALID',
        params: { line: 3, column: 'expires_at' },
      });
    }
    expect((await upload('2030-06-01T10:00+02:00')).json()).toEqual({ rows: 2, kept: 0 });
    const read = (await call('GET', `/v1/customers/${customerUrl(b)}/consent`, 'alice')).json().consent;
    expect(read.find((r: { purpose: string }) => r.purpose === purpose).expiresAt).toBe(
      '2030-06-01T08:00:00.000Z',
    );
    const readA = (await call('GET', `/v1/customers/${customerUrl(a)}/consent`, 'alice')).json().consent;
    expect(readA.find((r: { purpose: string }) => r.purpose === purpose).expiresAt).toBe(
      '2030-01-01T00:00:00.000Z',
    );
    const put = await call('PUT', `/v1/customers/${customerUrl(a)}/consent/${purpose}`, 'ops', {
      status: 'granted',
      expiresAt: '2031-01-01T09:30',
    });
    expect(put.statusCode).toBe(400);
    expect(put.json().error.message).toContain('expiresAt');
  });

  it('never lets a bulk grant override a later withdrawal; consent is written by admins only', async () => {
    const purpose = 'marketing.insurance';
    const saved = clock;
    const [a, b, c, d] = customers.slice(300, 304) as [Customer, Customer, Customer, Customer];
    for (const x of [a, b, c, d]) named.add(x.id);
    const iso = (ms: number) => new Date(ms).toISOString();
    const withdrawals = await csv(
      '/v1/consent',
      'ops',
      `customer_id,purpose,status,expires_at\n${[a, b, c].map((x) => `${x.id},${purpose},withdrawn,`).join('\n')}\n`,
    );
    expect(withdrawals.json()).toEqual({ rows: 3, kept: 0 });
    clock += 60_000;
    // An old list comes back: a grant dated after the withdrawal, one dated before, one undated, one new customer.
    const grants = await csv(
      '/v1/consent',
      'ops',
      [
        'customer_id,purpose,status,expires_at,granted_at',
        `${a.id},${purpose},granted,,${iso(clock - 30_000)}`,
        `${b.id},${purpose},granted,,${iso(clock - DAY)}`,
        `${c.id},${purpose},granted,,`,
        `${d.id},${purpose},granted,,`,
      ].join('\n'),
    );
    expect(grants.statusCode, grants.body).toBe(200);
    expect(grants.json()).toEqual({ rows: 4, kept: 2 });
    const statusOf = async (x: Customer) =>
      (await call('GET', `/v1/customers/${customerUrl(x)}/consent`, 'alice'))
        .json()
        .consent.find((r: { purpose: string }) => r.purpose === purpose);
    expect(await statusOf(a)).toMatchObject({ status: 'granted', grantedAt: iso(clock - 30_000) });
    expect(await statusOf(b)).toMatchObject({ status: 'withdrawn', withdrawnAt: iso(saved) });
    expect(await statusOf(c)).toMatchObject({ status: 'withdrawn', withdrawnAt: iso(saved) });
    expect(await statusOf(d)).toMatchObject({ status: 'granted', grantedAt: iso(clock) });
    // One at a time: a grant dated before the withdrawal is refused; one now (after it) is taken.
    const early = await call('PUT', `/v1/customers/${customerUrl(b)}/consent/${purpose}`, 'ops', {
      status: 'granted',
      grantedAt: iso(saved - DAY),
    });
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('ACCORD_CONSENT_WITHDRAWN_LATER');
    const now = await call('PUT', `/v1/customers/${customerUrl(b)}/consent/${purpose}`, 'ops', {
      status: 'granted',
    });
    expect(now.json()).toMatchObject({ status: 'granted', grantedAt: iso(clock) });
    // Marketing, who gains from contact, may read consent and add to do-not-contact, but not write consent or
    // take anyone off the list.
    expect(
      (
        await csv(
          '/v1/consent',
          'alice',
          `customer_id,purpose,status,expires_at\n${c.id},${purpose},granted,\n`,
        )
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await call('PUT', `/v1/customers/${customerUrl(c)}/consent/${purpose}`, 'alice', {
          status: 'granted',
        })
      ).statusCode,
    ).toBe(403);
    expect((await statusOf(c)).status).toBe('withdrawn');
    expect((await call('PUT', `/v1/customers/${customerUrl(d)}/do-not-contact`, 'alice')).json()).toEqual({
      doNotContact: true,
    });
    expect((await call('DELETE', `/v1/customers/${customerUrl(d)}/do-not-contact`, 'alice')).statusCode).toBe(
      403,
    );
    expect((await call('DELETE', `/v1/customers/${customerUrl(d)}/do-not-contact`, 'ops')).statusCode).toBe(
      200,
    );
    clock = saved;
  });

  it('covers the campaign from the command line: create, run (funnel), export', async () => {
    // Each command is a process of its own (about a second each here): the workflow steps in between go over REST.
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const cli = (who: keyof typeof TOKENS, ...args: string[]) =>
      accord(['campaign', ...args, '--url', url, '--token', TOKENS[who]]);
    const specFile = join(dir, 'cli-campaign.json');
    writeFileSync(specFile, JSON.stringify(campaignSpec({ name: 'from-the-cli' })));
    const created = await cli('alice', 'create', '--spec', specFile);
    expect(created.code, created.stderr).toBe(0);
    const id = JSON.parse(created.stdout).id as string;
    expect((await call('POST', `/v1/campaigns/${id}/submit`, 'alice')).statusCode).toBe(200);
    expect((await call('POST', `/v1/campaigns/${id}/approve`, 'carol', {})).statusCode).toBe(200);
    const ran = await cli('alice', 'run', id);
    expect(ran.code, ran.stderr).toBe(0);
    const summary = JSON.parse(ran.stdout.trim().split('\n').at(-1)!);
    const view = (await call('GET', `/v1/campaigns/${id}/runs/${summary.run}`, 'alice')).json();
    expect(summary.eligible).toBe(view.funnel.eligible);
    expect(ran.stdout).toContain(`population ${view.funnel.population.toLocaleString('en').padStart(10)}`);
    const out = join(dir, 'cli-list.csv');
    const exported = await cli('alice', 'export', id, '--run', summary.run, '--format', 'csv', '--out', out);
    expect(exported.code, exported.stderr).toBe(0);
    const rest = await call('GET', `/v1/campaigns/${id}/runs/${summary.run}/export?format=csv`, 'alice');
    expect(readFileSync(out, 'utf8')).toBe(rest.body);
  });

  it('never writes a customer id a URL named to the audit log, in any form', async () => {
    const entries: unknown[] = [];
    for await (const e of store.audit.iterate()) entries.push(e);
    const log = JSON.stringify(entries);
    expect(log).toContain('customer:erase');
    expect(log).toContain('rest:DELETE /v1/customers/:customer');
    expect(log).toContain('customer#');
    expect(named.size).toBeGreaterThan(10);
    for (const id of named)
      for (const form of identifierForms('national_id', id)) expect(log.includes(form), form).toBe(false);
  });
});
