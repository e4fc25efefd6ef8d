/**
 * Joint scoring end to end: a coordinator and two banks (real processes, mutual TLS, SQLite), every gRPC message of
 * every process recorded. bank-a (label holder) and bank-b hold different columns of the breast-cancer customers
 * (test/fixtures/breast_hetero_*.csv, 300 customers each, 250 shared); a PSI job aligns them and a one-epoch
 * vertical logistic model is trained.
 * Then:
 *  - a batch job scores the alignment through the Scoring relay, with progress and a fingerprint;
 *  - real-time scores with bank-b live equal the joint score of the two registered ONNX parts run here, in the test;
 *  - with bank-b killed, the real-time score falls back to bank-b's batch partial, says so, and is the same score;
 *  - what the nodes exchanged over the Scoring service holds no feature value, partial logit or joint score in any
 *    form, and every large box is uniform (sealed);
 *  - an unknown model and a feature holder's part are coded errors.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';
import { alignMembers, alignmentLines } from '../../examples/vertical.js';
import { onnxFeeds } from '../../models/onnx/feeds.js';
import type { Preprocessing } from '../../models/types.js';
import { partialInputName } from '../../models/vertical/part.js';
import { distinctiveForms, identifierForms } from '../helpers/identifier-forms.js';
import { waitTraining } from '../helpers/training-data.js';
import { expectNoLeaks, parseWireRecord } from '../helpers/wire-record.js';

const MEMBERS = ['bank-a', 'bank-b'] as const;
const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const FILES = { 'bank-a': 'breast_hetero_guest.csv', 'bank-b': 'breast_hetero_host.csv' } as const;

/** Each bank's rows: 300 customers each, 250 of them shared (few enough to keep this file within its time budget). */
const SLICES = { 'bank-a': [0, 300], 'bank-b': [50, 350] } as const;

/**
 * The fixture's ids are 1 to 3 digits, too short to search for; each becomes a 14-character customer id of its own
 * (the same at both banks, so PSI still aligns them), which the privacy test searches for in every form.
 */
const customerId = (id: string) =>
  `CU${createHash('sha256').update(`customer:${id}`).digest('hex').slice(0, 12)}`;

function table(member: (typeof MEMBERS)[number]) {
  const [head, ...lines] = readFileSync(join(FIXTURES, FILES[member]), 'utf8').trim().split('\n');
  const rows = lines.slice(...SLICES[member]).map((l) => l.split(','));
  for (const row of rows) row[0] = customerId(row[0]!);
  return { header: head!.split(','), rows };
}

const csvOf = (member: (typeof MEMBERS)[number]) => {
  const t = table(member);
  return `${[t.header, ...t.rows].map((r) => r.join(',')).join('\n')}\n`;
};

/** A sealed box is uniform bytes; one that carries values in the clear has a skewed byte histogram. */
function looksSealed(box: Buffer): boolean {
  const counts = new Array<number>(256).fill(0);
  for (const b of box) counts[b]!++;
  const expected = box.length / 256;
  return counts.reduce((s, n) => s + (n - expected) ** 2 / expected, 0) < 400;
}

describe('joint scoring: two banks through the Scoring relay, every message recorded', () => {
  let c: LocalConsortium;
  let wireDir: string;
  let alignment = '';
  const models = {} as Record<(typeof MEMBERS)[number], string>;
  /** By customer id: the joint score and bank-b's partial logit, from the two ONNX parts run here. */
  const expected = new Map<string, { score: number; partial: number }>();

  beforeAll(async () => {
    wireDir = mkdtempSync(join(tmpdir(), 'accord-scoring-wire-'));
    c = await startLocalConsortium({
      members: [...MEMBERS],
      env: { ACCORD_WIRE_RECORD: join(wireDir, 'wire-%p.jsonl') },
      // Training is the setup here, not the subject (test/integration/vertical-training.test.ts runs it under BFV):
      // its plaintext stand-in keeps the file within its time budget; scoring never uses it.
      configure: (init) => {
        const edit = (file: string, change: (config: { training: Record<string, unknown> }) => void) => {
          const config = JSON.parse(readFileSync(file, 'utf8'));
          config.training ??= {};
          change(config);
          writeFileSync(file, JSON.stringify(config));
        };
        edit(init.coordinatorConfig, (config) => {
          config.training['verticalEncryption'] = 'none';
        });
        for (const n of init.nodes)
          edit(n.config, (config) => {
            config.training['allowUnencryptedVertical'] = true;
          });
      },
    });
    for (const m of MEMBERS) {
      const columns = m === 'bank-a' ? '&columns=y:integer' : '';
      const res = await c.api(
        m,
        'admin',
        'POST',
        `/v1/datasets/hetero?idColumn=id&idKind=customer_id&defaultType=number${columns}`,
        csvOf(m),
        'text/csv',
      );
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    alignment = await alignMembers(c, 'bank-a', ['bank-b'], 'hetero');
    const start = await c.api('bank-a', 'risk', 'POST', '/v1/training', {
      kind: 'vertical',
      peers: ['bank-b'],
      label: 'y',
      alignment,
      model: { type: 'logistic' },
      epochs: 1,
      batchSize: 200,
      learningRate: 0.5,
      validation: { fraction: 0.2, seed: 7 },
      purpose: 'risk',
    });
    expect(start.status, JSON.stringify(start.body)).toBe(202);
    for (const m of MEMBERS) {
      const job = await waitTraining(c, m, start.body.id, 120_000);
      expect(job.state, JSON.stringify(job.error)).toBe('done');
      models[m] = job.modelId;
    }
    // The expected scores, from the registered parts' ONNX graphs run in this process on each bank's aligned rows.
    const parts = await Promise.all(
      MEMBERS.map(async (m) => {
        const detail = await c.api(m, 'risk', 'GET', `/v1/models/${models[m]}`);
        const onnx = await fetch(`${c.nodes[m]!.url}/v1/models/${models[m]}/onnx`, {
          headers: { authorization: `Bearer ${c.nodes[m]!.tokens.risk}` },
        });
        const session = await ort.InferenceSession.create(Buffer.from(await onnx.arrayBuffer()));
        const t = table(m);
        const lines = await alignmentLines(c, m, alignment);
        const raw = new Map(
          t.header.map((col, j) => [col, lines.map((line) => t.rows[line - 2]![j]!)] as const),
        );
        const feeds: Record<string, ort.Tensor> = {};
        for (const f of onnxFeeds(detail.body.preprocessing as Preprocessing, raw, lines.length))
          feeds[f.name] = new ort.Tensor('float64', f.data as Float64Array, [lines.length, 1]);
        return { session, feeds, ids: lines.map((line) => t.rows[line - 2]![0]!) };
      }),
    );
    const [a, b] = parts as [(typeof parts)[0], (typeof parts)[0]];
    const partials = (await b.session.run(b.feeds))['partial_logit']!.data as Float64Array;
    a.feeds[partialInputName('bank-b')] = new ort.Tensor('float64', partials, [partials.length, 1]);
    const scores = (await a.session.run(a.feeds))['score']!.data as Float64Array;
    expect(b.ids).toEqual(a.ids);
    a.ids.forEach((id, i) => {
      expected.set(id, { score: scores[i]!, partial: partials[i]! });
    });
  });
  afterAll(async () => {
    await c?.stop();
    rmSync(wireDir, { recursive: true, force: true });
  });

  it('scores the alignment in batches, the partner asked through the relay', async () => {
    const start = await c.api('bank-a', 'marketing', 'POST', '/v1/scoring', { model: models['bank-a'] });
    expect(start.status, JSON.stringify(start.body)).toBe(202);
    let view: { state: string; [k: string]: unknown };
    for (;;) {
      view = (await c.api('bank-a', 'marketing', 'GET', `/v1/scoring/${start.body.job}`)).body;
      if (view.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(view).toMatchObject({
      state: 'done',
      population: { kind: 'alignment', alignment, dataset: 'hetero' },
      progress: { scored: expected.size, total: expected.size, fraction: 1 },
    });
    expect(view['fingerprint']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('scores customers in real time with bank-b live, then from its batch partial once it is killed', async () => {
    const customers = [...expected.keys()].filter((_, i) => i % 97 === 5);
    const score = (customer: string, deadlineMs: number) =>
      c.api('bank-a', 'risk', 'POST', `/v1/models/${models['bank-a']}/score`, { customer, deadlineMs });
    for (const customer of customers) {
      const live = await score(customer, 2_000);
      expect(live.status, JSON.stringify(live.body)).toBe(200);
      expect(live.body).toMatchObject({
        customer,
        degraded: false,
        partials: [{ member: 'bank-b', source: 'live' }],
      });
      expect(live.body.score).toBeCloseTo(expected.get(customer)!.score, 9);
    }
    c.nodes['bank-b']!.process.kill('SIGKILL');
    for (const customer of customers) {
      const fallback = await score(customer, 200);
      expect(fallback.status, JSON.stringify(fallback.body)).toBe(200);
      expect(fallback.body.degraded).toBe(true);
      expect(fallback.body.partials).toEqual([
        expect.objectContaining({ member: 'bank-b', source: 'batch', job: expect.any(String) }),
      ]);
      expect(fallback.body.score).toBeCloseTo(expected.get(customer)!.score, 9);
    }
  });

  it('refuses an unknown model and a model of the wrong kind with coded errors', async () => {
    const unknown = await c.api('bank-a', 'risk', 'POST', '/v1/scoring', {
      model: '00000000-0000-4000-8000-000000000000',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ACCORD_SCORING_MODEL_UNKNOWN');
    const wrongKind = await c.api('bank-a', 'risk', 'POST', '/v1/scoring', {
      model: models['bank-a'],
      population: { dataset: 'hetero' },
    });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.body.error.code).toBe('ACCORD_SCORING_POPULATION_INVALID');
  });

  it('sends no customer id, feature value, partial logit or joint score outside sealed boxes', () => {
    const records = readdirSync(wireDir).map((f) => readFileSync(join(wireDir, f), 'utf8'));
    const lines: string[] = [];
    let boxes = 0;
    let large = 0;
    for (const record of records)
      for (const e of parseWireRecord(record)) {
        if (!e.method.startsWith('/accord.v1.Scoring/')) continue;
        lines.push(JSON.stringify(e));
        if (e.event !== 'message') continue;
        const data = e.data as { reply?: { box?: string } | null; request?: { box?: string } | null } | null;
        for (const box of [data?.reply?.box, data?.request?.box]) {
          if (!box) continue;
          boxes++;
          const bytes = Buffer.from(box, 'hex');
          if (bytes.length < 1024) continue;
          large++;
          expect(looksSealed(bytes), 'a box sent unsealed').toBe(true);
        }
      }
    const exchanged = lines.join('\n');
    expect(exchanged).toContain('/accord.v1.Scoring/Ask');
    expect(exchanged).toContain('/accord.v1.Scoring/Answer');
    expect(boxes).toBeGreaterThan(10);
    expect(large).toBeGreaterThan(0);
    const needles = new Set<string>();
    for (const m of MEMBERS)
      for (const row of table(m).rows)
        row.slice(m === 'bank-a' ? 2 : 1).forEach((cell) => {
          for (const f of distinctiveForms(Number(cell))) needles.add(f);
        });
    for (const m of MEMBERS)
      for (const row of table(m).rows)
        for (const f of identifierForms('customer_id', row[0]!)) needles.add(f);
    for (const { score, partial } of expected.values())
      for (const x of [score, partial]) for (const f of distinctiveForms(x)) needles.add(f);
    expect(needles.size).toBeGreaterThan(10_000);
    expectNoLeaks(exchanged, needles, 'what the nodes exchanged over Scoring');
  });
});
