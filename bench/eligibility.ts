/**
 * `npm run bench:eligibility`: joint scoring and a campaign run over 1 000 000 customers, over loopback (a coordinator
 * and two bank nodes as processes, mutual TLS, SQLite).
 *
 *  1. Models. bank-a and bank-b train, on the real UCI bank-marketing rows:
 *     - a joint propensity model and a joint risk model (label `y`, and `default`) by horizontal federated logistic
 *       regression, each bank holding half of the bank file's customers: bank-a scores its whole customer base with
 *       them, locally, through ONNX Runtime;
 *     - a vertical joint propensity model (bank-a's columns and label, bank-b's contact-history columns, over a PSI
 *       alignment), for real-time scoring with a live partial from bank-b.
 *  2. Population. 1 000 000 customers by resampling the real bank-file rows with fresh resident identity numbers
 *     (bench/lib/marketing-population.ts), imported at bank-a with a consent record each and a do-not-contact list;
 *     bank-b reports fraud flags on 200 of them and bank-a screens 20 000 (a finished screening job).
 *  3. Scoring: both models over the 1 000 000 customers, as scoring jobs (`scoringSeconds1M`: both, end to end).
 *     `ortRowsPerSecond` / `tsRowsPerSecond`: the propensity model over the same 1 000 000 raw rows in this process,
 *     through ONNX Runtime (the exported graph, preprocessing inside) and through the plain TypeScript math
 *     (models/score.ts), batches of 4 096, CSV parsing not counted.
 *  4. The campaign (both models, six tiers, caps, consent, fraud/overdue/do-not-contact/minor exclusions, pricing,
 *     decisions and reasons written), approved and run twice: `eligibilitySeconds1M` is the first run (no contact
 *     history), `eligibilitySeconds1MWithHistory` the second (the first run's contacts count against the caps).
 *  5. Real time: `POST /v1/models/:id/score` of the vertical model at 50 requests/s for 10 s, then 200 requests/s for
 *     20 s, open loop, each with a live partial from bank-b through the coordinator (`realtimeScoreP99MsAt50`,
 *     `realtimeScoreP99Ms`, measured from each request's scheduled time); the CPU each request costs each process is
 *     logged.
 * `peakRssMb`: the largest peak RSS (VmHWM) of the three processes. Last line: one JSON object.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import * as ort from 'onnxruntime-node';
import { onnxFeeds } from '../models/onnx/feeds.js';
import { scoreRows } from '../models/score.js';
import type { RawCell } from '../models/types.js';
import { sqliteTrainingStores } from '../platform/store/sqlite/training.js';
import { loadNodeConfig } from '../platform/config/index.js';
import {
  allowScreeningBurst,
  riskFeatures,
  TERM_DEPOSIT,
  TERM_DEPOSIT_LIMITS,
  termDepositCampaign,
} from '../examples/campaign.js';
import { type LocalConsortium, startLocalConsortium } from '../examples/local-consortium.js';
import {
  alignmentLines,
  alignVertical,
  importVertical,
  MARKETING_VERTICAL,
  poll,
  readCsv,
  trainVertical,
} from '../examples/vertical.js';
import { runOpenLoop } from './lib/http-load.js';
import { cpuPerOperation, cpuSnapshot, peakRssMb } from './lib/process-cpu.js';
import { writeMarketingPopulation } from './lib/marketing-population.js';

const ROWS = Number(process.env['ACCORD_BENCH_ROWS'] ?? 1_000_000);
const BATCH = 4096;
const log = (m: string) => process.stderr.write(`${m}\n`);
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

function expect2xx(what: string, res: { status: number; body: unknown }) {
  if (res.status < 200 || res.status > 299)
    throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  // biome-ignore lint/suspicious/noExplicitAny: benchmark reads JSON loosely
  return res.body as any;
}

async function upload(
  c: LocalConsortium,
  member: string,
  role: 'admin' | 'marketing',
  path: string,
  file: string,
) {
  const started = performance.now();
  const res = await c.api(member, role, 'POST', path, readFileSync(file, 'utf8'), 'text/csv');
  expect2xx(`upload ${path}`, res);
  return (performance.now() - started) / 1000;
}

/** Horizontal logistic regression at bank-a and bank-b over `marketing-h`; bank-a's model id. */
async function trainHorizontal(
  c: LocalConsortium,
  label: string,
  features: unknown[],
  purpose: 'risk' | 'propensity',
): Promise<string> {
  const job = expect2xx(
    'training',
    await c.api('bank-a', purpose === 'risk' ? 'risk' : 'marketing', 'POST', '/v1/training', {
      kind: 'horizontal',
      peers: ['bank-b'],
      dataset: 'marketing-h',
      label,
      features,
      model: { type: 'logistic' },
      rounds: 8,
      localEpochs: 1,
      batchSize: 256,
      learningRate: 0.05,
      optimizer: 'adam',
      validation: { fraction: 0.2, seed: 7 },
      minParticipants: 2,
      purpose,
    }),
  );
  const done = await poll(
    async () => (await c.api('bank-a', 'risk', 'GET', `/v1/training/${job.id}`)).body,
    (j) => !['pending_approval', 'waiting', 'running'].includes(j.state),
  );
  if (done.state !== 'done') throw new Error(`training ${label}: ${JSON.stringify(done.error)}`);
  log(`  ${purpose} model ${done.modelId}: validation AUC ${done.rounds.at(-1).metrics.auc.toFixed(4)}`);
  return done.modelId;
}

async function score(c: LocalConsortium, model: string, population: unknown): Promise<number> {
  const { job } = expect2xx(
    'scoring',
    await c.api('bank-a', 'risk', 'POST', '/v1/scoring', { model, population }),
  );
  let shown = 0;
  const done = await poll(
    async () => (await c.api('bank-a', 'risk', 'GET', `/v1/scoring/${job}`)).body,
    (j) => {
      if (j.progress.fraction - shown >= 0.25) {
        shown = j.progress.fraction;
        log(`    ${(shown * 100).toFixed(0)}%`);
      }
      return j.state !== 'running';
    },
  );
  if (done.state !== 'done') throw new Error(`scoring: ${JSON.stringify(done.error)}`);
  return done.timings.seconds;
}

/** ORT and the TypeScript math over the same raw rows of the population file, batches of 4 096. */
async function scorerThroughput(
  c: LocalConsortium,
  model: string,
  file: string,
): Promise<{ ort: number; ts: number }> {
  const config = loadNodeConfig(c.nodes['bank-a']!.configFile);
  const db = new Database(config.store.path!, { readonly: true });
  const record = await sqliteTrainingStores(db).models.get(model);
  const onnx = await sqliteTrainingStores(db).models.onnx(model);
  db.close();
  if (!record || !onnx) throw new Error('model not found in the store');
  const session = await ort.InferenceSession.create(onnx);
  const columns = record.preprocessing.columns.map((col) => col.name);
  const lines = createInterface({ input: createReadStream(file) });
  let header: string[] | null = null;
  let batch: string[][] = [];
  let ortMs = 0;
  let tsMs = 0;
  let rows = 0;
  const flush = async () => {
    const raw = new Map<string, RawCell[]>(
      columns.map((name) => {
        const at = header!.indexOf(name);
        return [name, batch.map((r) => r[at] ?? null)];
      }),
    );
    let started = performance.now();
    const feeds: Record<string, ort.Tensor> = {};
    for (const f of onnxFeeds(record.preprocessing, raw, batch.length))
      feeds[f.name] =
        f.type === 'double'
          ? new ort.Tensor('float64', f.data, [batch.length, 1])
          : new ort.Tensor('string', f.data, [batch.length, 1]);
    await session.run(feeds);
    ortMs += performance.now() - started;
    started = performance.now();
    scoreRows(record, raw, batch.length);
    tsMs += performance.now() - started;
    rows += batch.length;
    batch = [];
  };
  for await (const line of lines) {
    if (!header) {
      header = line.split(',');
      continue;
    }
    batch.push(line.split(','));
    if (batch.length === BATCH) await flush();
  }
  if (batch.length) await flush();
  return { ort: rows / (ortMs / 1000), ts: rows / (tsMs / 1000) };
}

async function runCampaign(c: LocalConsortium, id: string): Promise<{ seconds: number; eligible: number }> {
  const run = expect2xx('run', await c.api('bank-a', 'marketing', 'POST', `/v1/campaigns/${id}/runs`, {}));
  let shown = 0;
  const done = await poll(
    async () => (await c.api('bank-a', 'marketing', 'GET', `/v1/campaigns/${id}/runs/${run.id}`)).body,
    (r) => {
      if (r.progress.fraction - shown >= 0.25) {
        shown = r.progress.fraction;
        log(`    ${r.phase} ${(shown * 100).toFixed(0)}%`);
      }
      return r.state !== 'running';
    },
  );
  if (done.state !== 'done') throw new Error(`run: ${JSON.stringify(done.error)}`);
  const f = done.funnel;
  log(
    `    population ${f.population} -> ${f.steps
      .filter((s: { applied: boolean }) => s.applied)
      .map((s: { rule: string; remaining: number }) => `${s.rule} ${s.remaining}`)
      .join(' -> ')} -> eligible ${f.eligible}`,
  );
  return { seconds: (Date.parse(done.finishedAt) - Date.parse(done.createdAt)) / 1000, eligible: f.eligible };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'accord-bench-eligibility-'));
  const c = await startLocalConsortium({
    members: ['bank-a', 'bank-b'],
    // bank-a screens 20 000 customers in one job.
    configure: (init) => allowScreeningBurst(init.coordinatorConfig, 'bank-a'),
  });
  try {
    log('models: real bank-marketing rows');
    const bank = readCsv(MARKETING_VERTICAL[0]!.file);
    const half = Math.floor(bank.rows.length / 2);
    const halves = [bank.rows.slice(0, half), bank.rows.slice(half)];
    for (const [i, member] of ['bank-a', 'bank-b'].entries()) {
      const file = join(dir, `${member}-h.csv`);
      writeFileSync(file, `${bank.header.join(',')}\n${halves[i]!.map((r) => r.join(',')).join('\n')}\n`);
      await upload(
        c,
        member,
        'admin',
        `/v1/datasets/marketing-h?idColumn=national_id&idKind=national_id&defaultType=number&columns=${MARKETING_VERTICAL[0]!.columns}&replace=true`,
        file,
      );
    }
    const bankFeatures = riskFeatures()['bank-a'] as unknown[];
    const defaultColumn = { name: 'default', kind: 'categorical', categories: ['no', 'yes'] };
    const propensity = await trainHorizontal(c, 'y', [...bankFeatures, defaultColumn], 'propensity');
    const risk = await trainHorizontal(c, 'default', bankFeatures, 'risk');
    await importVertical(c, MARKETING_VERTICAL);
    const alignment = await alignVertical(c, MARKETING_VERTICAL);
    const vertical = await trainVertical(
      c,
      MARKETING_VERTICAL,
      alignment,
      {
        epochs: 3,
        batchSize: 8192,
        learningRate: 0.1,
        optimizer: 'adam',
        l2: 0,
        validation: { fraction: 0.2, seed: 42 },
      },
      'propensity',
    );
    log(`  vertical propensity part ${vertical.modelId}; batch partials for the fallback:`);
    const verticalBatchSeconds = await score(c, vertical.modelId, { alignment });

    log(`population: ${ROWS} customers`);
    const population = await writeMarketingPopulation({
      source: join(import.meta.dirname, '../examples/data/bank_marketing_bank.csv'),
      dir,
      rows: ROWS,
      purpose: TERM_DEPOSIT.purpose,
      referenceDate: new Date(),
      seed: 'bench:eligibility',
      samples: 20_000,
    });
    const importSeconds = await upload(
      c,
      'bank-a',
      'admin',
      `/v1/datasets/customers?idColumn=national_id&idKind=national_id&defaultType=number&columns=${MARKETING_VERTICAL[0]!.columns}&replace=true`,
      population.customers,
    );
    log(`  imported in ${importSeconds.toFixed(1)} s`);
    await upload(c, 'bank-a', 'admin', '/v1/consent', population.consent);
    await upload(c, 'bank-a', 'marketing', '/v1/do-not-contact', population.doNotContact);
    const flagged = population.sampleIds.filter((_, i) => i % 100 === 0);
    expect2xx(
      'fraud flags',
      await c.api('bank-b', 'risk', 'POST', '/v1/signals', {
        signals: flagged.map((id) => ({ idKind: 'national_id', id, kind: 'telecom_scam' })),
      }),
    );
    const screen = expect2xx(
      'screening',
      await c.api('bank-a', 'risk', 'POST', '/v1/signals/screen', {
        idKind: 'national_id',
        ids: population.sampleIds,
      }),
    );
    await poll(
      async () => (await c.api('bank-a', 'risk', 'GET', `/v1/signals/screen/${screen.jobId}`)).body,
      (j) => j.state !== 'running',
    );

    log('scoring 1M: propensity, then risk');
    const dataset = { dataset: 'customers' };
    const scoringSeconds = (await score(c, propensity, dataset)) + (await score(c, risk, dataset));
    log(`  ${scoringSeconds.toFixed(1)} s for both`);
    log('ORT against the TypeScript math, same rows, in this process');
    const throughput = await scorerThroughput(c, propensity, population.customers);

    log('campaign');
    expect2xx(
      'limits',
      await c.api('bank-a', 'risk', 'PUT', `/v1/pricing-limits/${TERM_DEPOSIT.product}`, TERM_DEPOSIT_LIMITS),
    );
    // One contact per customer in 30 days: the second run finds the first run's eligible customers capped.
    const spec = {
      ...termDepositCampaign({ propensity, risk, screening: screen.jobId }),
      population: dataset,
      caps: [
        { scope: 'customer', max: 1, days: 30 },
        { scope: 'channel', channel: 'sms', max: 1, days: 7 },
      ],
    };
    const campaign = expect2xx('create', await c.api('bank-a', 'marketing', 'POST', '/v1/campaigns', spec));
    expect2xx(
      'submit',
      await c.api('bank-a', 'marketing', 'POST', `/v1/campaigns/${campaign.id}/submit`, {}),
    );
    expect2xx(
      'approve',
      await c.api('bank-a', 'reviewer', 'POST', `/v1/campaigns/${campaign.id}/approve`, { comment: 'bench' }),
    );
    const first = await runCampaign(c, campaign.id);
    log(`  first run ${first.seconds.toFixed(1)} s`);
    const second = await runCampaign(c, campaign.id);
    log(`  second run ${second.seconds.toFixed(1)} s`);

    log('real time: 50, then 200 requests/s, live partial from bank-b');
    const lines = await alignmentLines(c, 'bank-a', alignment);
    const idAt = bank.header.indexOf('national_id');
    const customers = lines.slice(0, 5000).map((line) => ({ customer: bank.rows[line - 2]![idAt] }));
    const node = c.nodes['bank-a']!;
    const pids = {
      'bank-a': node.process.pid,
      coordinator: c.coordinator.pid,
      'bank-b': c.nodes['bank-b']!.process.pid,
    };
    // First a quarter of the load, to tell the path's own latency from the queueing of a busy machine.
    const light = await runOpenLoop({
      url: node.url,
      token: node.tokens.marketing,
      path: `/v1/models/${vertical.modelId}/score`,
      rate: 50,
      seconds: 10,
      bodies: customers,
    });
    const lightP99 = light.latencies[Math.floor(0.99 * light.latencies.length)] ?? Number.NaN;
    const lightP50 = light.latencies[Math.floor(0.5 * light.latencies.length)] ?? Number.NaN;
    log(
      `  50 requests/s: p50 ${lightP50.toFixed(2)} ms, p99 ${lightP99.toFixed(2)} ms, ${light.errors} errors`,
    );
    const cpuBefore = cpuSnapshot(pids);
    const load = await runOpenLoop({
      url: node.url,
      token: node.tokens.marketing,
      path: `/v1/models/${vertical.modelId}/score`,
      rate: 200,
      seconds: 20,
      bodies: customers,
    });
    log(`  CPU per request: ${cpuPerOperation(pids, cpuBefore, load.latencies.length + load.errors)}`);
    const quantile = (q: number) =>
      load.latencies[Math.min(load.latencies.length - 1, Math.floor(q * load.latencies.length))] ??
      Number.NaN;
    // The load generator reads status lines only: check apart that the answers carry bank-b's live partial.
    let live = 0;
    for (const body of customers.slice(0, 50)) {
      const answer = expect2xx(
        'score',
        await c.api('bank-a', 'marketing', 'POST', `/v1/models/${vertical.modelId}/score`, body),
      );
      if (answer.partials.every((p: { source: string }) => p.source === 'live')) live++;
    }
    log(
      `  ${load.latencies.length} answered, ${load.errors} errors; p50 ${quantile(0.5).toFixed(2)} ms, p99 ${quantile(0.99).toFixed(2)} ms; ${live}/50 checked answers live`,
    );

    const rss = {
      coordinator: round(peakRssMb(c.coordinator.pid), 0),
      'bank-a': round(peakRssMb(node.process.pid), 0),
      'bank-b': round(peakRssMb(c.nodes['bank-b']!.process.pid), 0),
    };
    log(`peak RSS per process (MB): ${JSON.stringify(rss)}`);
    process.stdout.write(
      `${JSON.stringify({
        rows: ROWS,
        ortRowsPerSecond: Math.round(throughput.ort),
        tsRowsPerSecond: Math.round(throughput.ts),
        scoringSeconds1M: round(scoringSeconds),
        eligibilitySeconds1M: round(first.seconds),
        eligibilitySeconds1MWithHistory: round(second.seconds),
        decisionsPerSecond: Math.round(ROWS / first.seconds),
        eligible: first.eligible,
        realtimeScoreP99Ms: round(quantile(0.99)),
        realtimeScoreP50Ms: round(quantile(0.5)),
        realtimeErrors: load.errors,
        realtimeScoreP99MsAt50: round(lightP99),
        realtimeLiveChecked: live / 50,
        verticalBatchSeconds: round(verticalBatchSeconds),
        peakRssMb: Math.max(...Object.values(rss)),
      })}\n`,
    );
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
