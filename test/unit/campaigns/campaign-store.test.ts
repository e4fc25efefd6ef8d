/**
 * The campaign side's SQLite stores and the parts built directly on them, through a real node store on a temporary
 * file: a population read bound to one dataset version, a replace-import refused inside its commit while a job reads
 * the dataset, bulk consent that never overrides a later withdrawal, erasure in one transaction, and the streamed
 * list (spreadsheet formulas neutralised, decisions re-checked against consent and do-not-contact now, a failure
 * mid-stream logged with its code).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { CustomerPseudonyms } from '../../../node/campaigns/customer-pseudonyms.js';
import { eraseCustomer } from '../../../node/campaigns/erasure.js';
import { exportDecisions } from '../../../node/campaigns/export.js';
import { decidePopulation } from '../../../node/campaigns/run-engine.js';
import type { Logger } from '../../../platform/log/logger.js';
import { openSqliteNodeStore } from '../../../platform/store/sqlite/index.js';
import type { ColumnDef, DatasetInfo, NodeStore } from '../../../platform/store/types.js';
import { type CampaignSpec, parseCampaignSpec } from '../../../primitives/campaigns/spec.js';
import { silentLog } from '../../helpers/log.js';
import { rejected } from '../../helpers/thrown.js';

const dir = mkdtempSync(join(tmpdir(), 'accord-campaign-store-'));
let store: NodeStore;
let n = 0;

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await store?.close();
  store = openSqliteNodeStore(join(dir, `node-${++n}.db`));
});

const COLUMNS: ColumnDef[] = [
  { name: 'id', type: 'string', nullable: false },
  { name: 'balance', type: 'integer', nullable: false },
];

/** Imports `ids` as dataset `name` (row keys 2, 3, ...; balance = row key * 10). */
async function importIds(
  name: string,
  ids: readonly string[],
  options: { replace?: boolean; inUse?: (dataset: string) => boolean } = {},
): Promise<DatasetInfo> {
  const handle = await store.datasets.beginImport({
    name,
    idColumn: 'id',
    idKind: 'customer_id',
    columns: COLUMNS,
  });
  try {
    await handle.append(ids.map((id, i) => ({ rowKey: i + 2, id, cells: [id, (i + 2) * 10] })));
    return await handle.commit({ replace: options.replace ?? false, inUse: options.inUse });
  } catch (err) {
    await handle.abort();
    throw err;
  }
}

async function readAll(name: string, version?: number): Promise<string[]> {
  const ids: string[] = [];
  for await (const batch of store.datasets.iterateColumns(name, ['balance'], 2, version))
    ids.push(...batch.ids);
  return ids;
}

describe('a population read bound to one dataset version', () => {
  it('reads the version it was given, and refuses another one made ready since', async () => {
    const v1 = await importIds('bank', ['a', 'b', 'c', 'd', 'e']);
    expect(await readAll('bank', v1.version)).toEqual(['a', 'b', 'c', 'd', 'e']);
    const v2 = await importIds('bank', ['e', 'd', 'c', 'b', 'a'], { replace: true });
    expect(v2.version).not.toBe(v1.version);
    const stale = await rejected(readAll('bank', v1.version));
    expect(stale.code).toBe('ACCORD_DATASET_VERSION_CHANGED');
    expect(stale.params).toMatchObject({ dataset: 'bank', expected: v1.version, current: v2.version });
    expect(await readAll('bank', v2.version)).toEqual(['e', 'd', 'c', 'b', 'a']);
  });

  it('fails mid-stream when a replace slips in between two batches, never mixing two versions', async () => {
    const v1 = await importIds('bank', ['a', 'b', 'c', 'd', 'e']);
    const read: string[] = [];
    const stream = store.datasets.iterateColumns('bank', ['balance'], 2, v1.version);
    const failure = (async () => {
      for await (const batch of stream) {
        read.push(...batch.ids);
        if (read.length === 2) await importIds('bank', ['x', 'y', 'z', 'w', 'v'], { replace: true });
      }
    })();
    expect((await rejected(failure)).code).toBe('ACCORD_DATASET_VERSION_CHANGED');
    expect(read).toEqual(['a', 'b']);
  });

  it('refuses a replace inside its commit while a job reads the dataset, keeping the version ready', async () => {
    const v1 = await importIds('bank', ['a', 'b', 'c']);
    let reading = true;
    const inUse = (dataset: string) => reading && dataset === 'bank';
    const refused = await rejected(importIds('bank', ['c', 'b', 'a'], { replace: true, inUse }));
    expect(refused).toMatchObject({ code: 'ACCORD_DATASET_IN_USE', params: { dataset: 'bank' } });
    expect((await store.datasets.get('bank'))?.version).toBe(v1.version);
    expect(await readAll('bank')).toEqual(['a', 'b', 'c']);
    // A first import of a name replaces nothing, and once the job has ended the replace goes through.
    await importIds('other', ['q'], { inUse: () => true });
    reading = false;
    const v2 = await importIds('bank', ['c', 'b', 'a'], { replace: true, inUse });
    expect(await readAll('bank', v2.version)).toEqual(['c', 'b', 'a']);
  });
});

const PROPENSITY = '6f1c1b8e-7a55-4b1e-9a43-2f0b6cde0101';
const RISK = '6f1c1b8e-7a55-4b1e-9a43-2f0b6cde0202';
const RUN_AT = Date.UTC(2025, 5, 30);

function spec(overrides: Record<string, unknown> = {}): CampaignSpec {
  return parseCampaignSpec({
    name: 'unit',
    product: 'term-deposit',
    channels: ['email'],
    population: { dataset: 'bank' },
    propensity: { model: PROPENSITY, minScore: 0.3 },
    risk: { model: RISK, maxProbabilityOfDefault: 0.1 },
    consentPurpose: 'marketing.deposits',
    exclusions: { minors: { from: { ageColumn: 'balance' } } },
    tiers: [{ tier: 'ALL', when: {} }],
    pricing: { guidanceRate: 4, priceBand: 0.25 },
    ...overrides,
  });
}

/** A population, both models' scores of it, consent for all, and a running run: what the engine needs. */
async function runnable(ids: readonly string[]) {
  const dataset = await importIds('bank', ids);
  for (const [model, score] of [
    [PROPENSITY, 0.9],
    [RISK, 0.01],
  ] as const) {
    await store.scores.createJob({
      id: `job-${model}`,
      model,
      purpose: model === RISK ? 'risk' : 'propensity',
      population: { kind: 'dataset', dataset: 'bank' },
      state: 'running',
      total: ids.length,
      scored: 0,
      fingerprint: null,
      requestedBy: 'test',
      errorCode: null,
      errorMessage: null,
      createdAt: new Date().toISOString(),
      finishedAt: null,
    });
    await store.scores.appendScores(
      `job-${model}`,
      { rowKeys: Int32Array.from(ids, (_, i) => i + 2), scores: new Float64Array(ids.length).fill(score) },
      ids,
    );
    await store.scores.complete(`job-${model}`, 'f'.repeat(64));
  }
  const consent = await store.consent.beginImport();
  await consent.append(
    ids.map((customerId) => ({
      customerId,
      purpose: 'marketing.deposits',
      status: 'granted' as const,
      grantedAt: new Date(RUN_AT - 86_400_000).toISOString(),
      expiresAt: null,
      updatedAt: new Date(RUN_AT - 86_400_000).toISOString(),
    })),
  );
  await consent.commit();
  const runId = `run-${n}`;
  await store.campaignRuns.create({
    id: runId,
    campaign: 'c',
    version: 1,
    digest: 'd',
    state: 'running',
    phase: 'deciding',
    processed: 0,
    total: ids.length,
    inputs: null,
    funnel: null,
    startedBy: 'alice',
    errorCode: null,
    errorMessage: null,
    createdAt: new Date(RUN_AT).toISOString(),
    finishedAt: null,
  });
  const decide = (s: CampaignSpec) =>
    decidePopulation(
      {
        runId,
        spec: s,
        dataset,
        ageSource: { ageColumn: 'balance' },
        limits: { floor: 0, ceiling: 10 },
        runAt: RUN_AT,
        propensityJob: `job-${PROPENSITY}`,
        riskJob: `job-${RISK}`,
        fraudHits: null,
      },
      { ...store, runs: store.campaignRuns },
    );
  return { runId, decide };
}

describe('the run engine', () => {
  it('fails with a coded error, writing nothing, rather than decide a customer who falls in no tier', async () => {
    const { runId, decide } = await runnable(['a', 'b', 'c', 'd']);
    // Balances are 20, 30, 40, 50: a stored spec whose tiers (unchecked here) leave out those below 35.
    const err = await rejected(decide(spec({ tiers: [{ tier: 'rich', when: { balance: { min: 35 } } }] })));
    expect(err).toMatchObject({
      code: 'ACCORD_CAMPAIGN_TIER_UNMATCHED',
      params: { dataset: 'bank', line: 2 },
    });
    expect(err.message).not.toMatch(/\b[abcd]\b/);
    expect(await store.campaignRuns.decision(runId, 'a')).toBeNull();
    expect((await store.campaignRuns.get(runId))?.processed).toBe(0);
  });
});

/** A done run of `spec()` whose decisions are `ids`, all eligible at the run (row keys 2, 3, ...). */
async function doneRun(
  ids: readonly string[],
  propensity: (i: number) => number = () => 0.5,
  contacted: readonly string[] = [],
) {
  const runId = `run-${n}-${ids.length}`;
  const runs = store.campaignRuns;
  await runs.create({
    id: runId,
    campaign: 'c',
    version: 1,
    digest: 'd',
    state: 'running',
    phase: 'deciding',
    processed: 0,
    total: ids.length,
    inputs: null,
    funnel: null,
    startedBy: 'alice',
    errorCode: null,
    errorMessage: null,
    createdAt: new Date(RUN_AT).toISOString(),
    finishedAt: null,
  });
  const k = ids.length;
  await runs.append(
    runId,
    {
      rowKeys: Array.from(ids, (_, i) => i + 2),
      customerIds: ids,
      passed: new Int32Array(k).fill(511),
      reason: new Int32Array(k),
      cap: new Int32Array(k).fill(-1),
      tier: new Int32Array(k),
      propensity: Float64Array.from(ids, (_, i) => propensity(i)),
      risk: new Float64Array(k).fill(0.01),
      price: new Float64Array(k).fill(3.5),
      channel: new Int32Array(k),
    },
    { atMs: RUN_AT, customerIds: contacted, channels: contacted.map(() => 'email') },
  );
  await runs.complete(runId, { population: k } as never, {} as never);
  return runId;
}

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

describe('the streamed list', () => {
  const deps = () => ({
    runs: store.campaignRuns,
    consent: store.consent,
    doNotContact: store.doNotContact,
    now: () => RUN_AT,
    log: silentLog,
  });

  it('neutralises spreadsheet formulas in CSV text cells, leaving numbers and NDJSON as they are', async () => {
    const ids = ['=HYPERLINK("http://x.test","y")', '+1', '-2', '@SUM(A1)', '\tx', '\rx', 'plain'];
    const runId = await doneRun(ids, (i) => (i === 0 ? -0.25 : 0.5));
    const csv = await text(exportDecisions(deps(), runId, spec(), 'csv', false));
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.customer_id)).toEqual([
      `'=HYPERLINK("http://x.test","y")`,
      "'+1",
      "'-2",
      "'@SUM(A1)",
      "'\tx",
      "'\rx",
      'plain',
    ]);
    expect(rows[0]!.propensity).toBe('-0.25');
    expect(rows[1]!.risk).toBe('0.01');
    const ndjson = await text(exportDecisions(deps(), runId, spec(), 'ndjson', false));
    expect(
      ndjson
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).customerId),
    ).toEqual(ids);
  });

  it('logs a failure mid-stream with its code and the run, never a customer id, and ends the stream in error', async () => {
    const ids = Array.from({ length: 6_500 }, (_, i) => `cust-${100_000 + i}`);
    const runId = await doneRun(ids);
    const errors: { msg: string; fields: Record<string, unknown> | undefined }[] = [];
    const log: Logger = {
      debug() {},
      info() {},
      warn() {},
      error: (msg, fields) => void errors.push({ msg, fields }),
      child: () => log,
    };
    const stream = exportDecisions({ ...deps(), log }, runId, spec(), 'ndjson', false);
    const reader = stream[Symbol.asyncIterator]();
    expect((await reader.next()).done).toBe(false);
    // The store goes away (a crash, a closed database) while the client is still reading.
    await store.close();
    let failed: unknown = null;
    try {
      while (!(await reader.next()).done);
    } catch (err) {
      failed = err;
    }
    store = openSqliteNodeStore(join(dir, `node-${++n}.db`));
    expect(failed).not.toBeNull();
    expect(errors).toEqual([
      { msg: 'campaign list export failed', fields: { run: runId, code: 'ACCORD_INTERNAL' } },
    ]);
    expect(JSON.stringify(errors)).not.toContain('cust-');
  });
});

describe('erasure', () => {
  it('deletes scores, decisions, consent and contacts in one transaction: a failure part-way leaves all of them', async () => {
    // Scores of both models and consent for a and b (the engine's run is left aside), and a done list.
    const { runId } = await runnable(['a', 'b']);
    await store.campaignRuns.fail(runId, { code: 'ACCORD_CAMPAIGN_RUN_INTERRUPTED', message: 'unused' });
    const listRun = await doneRun(['a', 'b'], () => 0.5, ['a']);
    const audited: string[] = [];
    const pseudonyms = new CustomerPseudonyms(store.settings);
    await pseudonyms.init();
    const deps = {
      ...store,
      runs: store.campaignRuns,
      audit: async (e: { action: string }) => void audited.push(e.action),
      pseudonyms,
      activeRun: () => null,
    };
    const ops = { role: 'admin', label: 'ops' } as const;
    const scoreRows = async () => {
      let count = 0;
      for (const model of [PROPENSITY, RISK])
        for await (const batch of store.scores.iterate(`job-${model}`, 10)) count += batch.rowKeys.length;
      return count;
    };
    const held = async () => ({
      scores: await scoreRows(),
      decision: (await store.campaignRuns.decision(listRun, 'a')) !== null,
      consent: (await store.consent.forCustomer('a')).length,
      contacts: (await store.campaignRuns.contactsOf(['a'], 0)).length,
    });
    const before = await held();
    expect(before).toEqual({ scores: 4, decision: true, consent: 1, contacts: 1 });
    // The last deletion fails (a trigger, standing in for a crash or a full disk at that point).
    const side = new Database(join(dir, `node-${n}.db`));
    side.exec(
      `CREATE TRIGGER no_erase BEFORE DELETE ON consent BEGIN SELECT RAISE(ABORT, 'disk trouble'); END`,
    );
    await expect(eraseCustomer(deps, 'a', ops)).rejects.toThrow(/disk trouble/);
    expect(await held()).toEqual(before);
    expect(audited).toEqual([]);
    side.exec('DROP TRIGGER no_erase');
    side.close();
    expect(await eraseCustomer(deps, 'a', ops)).toEqual({
      scores: 2,
      decisions: 1,
      consent: 1,
      contacts: 1,
      doNotContactKept: false,
    });
    expect(await held()).toEqual({ scores: 2, decision: false, consent: 0, contacts: 0 });
    expect(audited).toEqual(['customer:erase']);
  });
});
