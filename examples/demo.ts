/**
 * `npm run demo`: a coordinator and three bank nodes as separate processes on loopback (ephemeral ports, a fresh temp
 * folder, certificates from `accord init`, embedded SQLite), real public data, end to end. Prints a summary, stops
 * everything and exits 0; any failed step exits 1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CREDIT_BANKS,
  CREDIT_TEST,
  centralAuc,
  onnxTestAuc,
  readCreditCsv,
  trainingPart,
} from './credit-homo.js';
import { type LocalConsortium, startLocalConsortium } from './local-consortium.js';
import { formatFunnel } from '../cli/commands/campaign.js';
import {
  CREDIT_VERTICAL,
  centralizedVertical,
  MARKETING_VERTICAL,
  alignVertical,
  poll,
  importVertical,
  readCsv,
  trainVertical,
} from './vertical.js';
import { centralizedTrees, TREES_25, trainTrees } from './trees.js';
import {
  allowScreeningBurst,
  consentCsv,
  TERM_DEPOSIT,
  TERM_DEPOSIT_LIMITS,
  termDepositCampaign,
  trainMarketingModels,
} from './campaign.js';

/** The consortium's own flag kind, configured at the coordinator (`signals.extraFlagKinds`). */
const CONSORTIUM_FLAG = 'synthetic_identity';

const DATA = (file: string) => fileURLToPath(new URL(`./data/${file}`, import.meta.url));

const IMPORTS = [
  {
    member: 'bank-a',
    dataset: 'credit_vertical',
    file: 'default_credit_hetero_guest.csv',
    columns: 'y:integer',
  },
  { member: 'bank-b', dataset: 'credit_vertical', file: 'default_credit_hetero_host.csv', columns: '' },
  {
    member: 'bank-a',
    dataset: 'credit_horizontal',
    file: 'default_credit_homo_guest.csv',
    columns: 'y:integer',
  },
  {
    member: 'bank-b',
    dataset: 'credit_horizontal',
    file: 'default_credit_homo_host_1.csv',
    columns: 'y:integer',
  },
  {
    member: 'bank-c',
    dataset: 'credit_horizontal',
    file: 'default_credit_homo_host_2.csv',
    columns: 'y:integer',
  },
] as const;

function step(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}

function expectOk(what: string, response: { status: number; body: unknown }): void {
  if (response.status >= 300)
    throw new Error(`${what} failed: ${response.status} ${JSON.stringify(response.body)}`);
}

/** Polls a PSI job on one member until it leaves the waiting and running states. */
// biome-ignore lint/suspicious/noExplicitAny: the demo reads the job JSON loosely
async function finishedJob(consortium: LocalConsortium, member: string, id: string): Promise<any> {
  for (;;) {
    const { body } = await consortium.api(member, 'risk', 'GET', `/v1/psi/${id}`);
    if (!['waiting', 'running', 'pending_approval'].includes(body.state)) return body;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function run(consortium: LocalConsortium): Promise<void> {
  step('Members, as bank-a sees them through the coordinator');
  const members = await consortium.api('bank-a', 'admin', 'GET', '/v1/members');
  expectOk('member list', members);
  for (const m of members.body.members) process.stdout.write(`  ${m.name.padEnd(8)} ${m.status}\n`);

  step('Each bank imports its own customers (real data: UCI Taiwan credit default, FATE splits)');
  for (const imp of IMPORTS) {
    const started = performance.now();
    const query = `idColumn=id&defaultType=number${imp.columns ? `&columns=${imp.columns}` : ''}`;
    const response = await consortium.api(
      imp.member,
      'admin',
      'POST',
      `/v1/datasets/${imp.dataset}?${query}`,
      readFileSync(DATA(imp.file), 'utf8'),
      'text/csv',
    );
    expectOk(`import ${imp.file}`, response);
    const ms = Math.round(performance.now() - started);
    process.stdout.write(
      `  ${imp.member} ${imp.dataset.padEnd(18)} ${String(response.body.rowCount).padStart(6)} rows, ${response.body.columns.length} columns  (${ms} ms)\n`,
    );
  }

  step('A malformed upload is refused with its line and column, and nothing is kept');
  const bad = await consortium.api(
    'bank-c',
    'admin',
    'POST',
    '/v1/datasets/broken?idColumn=id&defaultType=number',
    'id,x0\n1,0.5\n2,oops\n',
    'text/csv',
  );
  process.stdout.write(`  ${bad.status} ${bad.body.error.code}: ${bad.body.error.message}\n`);
  const marketingImport = await consortium.api(
    'bank-c',
    'marketing',
    'POST',
    '/v1/datasets/x?idColumn=id',
    'id\n1\n',
    'text/csv',
  );
  process.stdout.write(
    `  a marketing token may not import: ${marketingImport.status} ${marketingImport.body.error.code}\n`,
  );

  step('Private set intersection: bank-a and bank-b align their credit-default customers');
  const started = performance.now();
  const psi = await consortium.api('bank-a', 'risk', 'POST', '/v1/psi', {
    peers: ['bank-b'],
    dataset: 'credit_vertical',
    mode: 'intersection',
    reveal: 'all',
  });
  expectOk('PSI start', psi);
  const job = await finishedJob(consortium, 'bank-a', psi.body.id);
  if (job.state !== 'done') throw new Error(`PSI ended ${job.state}: ${JSON.stringify(job.error)}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `  shared customers: ${job.result.size} of ${job.progress.total / 2} (${seconds} s; only blinded points crossed the wire)\n`,
  );
  const peerView = await finishedJob(consortium, 'bank-b', job.id);
  const rowsOf = async (member: string) =>
    (await consortium.api(member, 'risk', 'GET', `/v1/psi/${job.id}/alignment?limit=3`)).body
      .rowKeys as number[];
  const [rowsA, rowsB] = [await rowsOf('bank-a'), await rowsOf('bank-b')];
  process.stdout.write(
    `  bank-b learns the same size (${peerView.result.size}); both hold the shared rows in one random order, aligned row by row:\n`,
  );
  for (let r = 0; r < rowsA.length; r++)
    process.stdout.write(`    shared row ${r}: bank-a line ${rowsA[r]}  <->  bank-b line ${rowsB[r]}\n`);
  const three = await consortium.api('bank-c', 'risk', 'POST', '/v1/psi', {
    peers: ['bank-a', 'bank-b'],
    dataset: 'credit_horizontal',
    mode: 'cardinality',
  });
  expectOk('PSI start', three);
  const count = await finishedJob(consortium, 'bank-c', three.body.id);
  process.stdout.write(
    `  three banks, cardinality only (horizontal split, disjoint customers): ${count.result?.size ?? count.state} in common\n`,
  );

  step(
    'Fraud signals: bank-b and bank-c report a phone number; bank-a asks (only keyed member elements cross the wire)',
  );
  const scamPhone = '+44 7700 900461';
  const hour = 3_600_000;
  expectOk(
    'bank-b publish',
    await consortium.api('bank-b', 'risk', 'POST', '/v1/signals', {
      signals: [
        {
          idKind: 'phone',
          id: scamPhone,
          kind: 'application',
          at: new Date(Date.now() - 2 * hour).toISOString(),
        },
        { idKind: 'phone', id: scamPhone, kind: 'telecom_scam' },
      ],
    }),
  );
  expectOk(
    'bank-c publish',
    await consortium.api('bank-c', 'risk', 'POST', '/v1/signals', {
      signals: [
        {
          idKind: 'phone',
          id: '0044 7700 900 461',
          kind: 'application',
          at: new Date(Date.now() - 60 * hour).toISOString(),
        },
        { idKind: 'phone', id: '0044 7700 900 461', kind: CONSORTIUM_FLAG },
      ],
    }),
  );
  process.stdout.write(
    `  bank-b: application 2 h ago + telecom-scam flag; bank-c: application 2½ days ago + ${CONSORTIUM_FLAG} flag (a kind from the coordinator config)\n`,
  );
  const signalAnswer = await consortium.api('bank-a', 'risk', 'POST', '/v1/signals/applications', {
    idKind: 'phone',
    id: scamPhone,
  });
  expectOk('bank-a application check', signalAnswer);
  const apps = signalAnswer.body.applications;
  process.stdout.write(
    `  bank-a records its application and learns: other banks with applications today / in 7 / in 30 UTC days: ${apps.d1}/${apps.d7}/${apps.d30}\n`,
  );
  for (const f of signalAnswer.body.flags)
    process.stdout.write(
      `  flag ${f.kind}: ${f.members} other bank(s), last seen on ${f.lastSeen.slice(0, 10)} (unnamed; the day only)\n`,
    );
  const backdated = await consortium.api('bank-c', 'risk', 'POST', '/v1/signals', {
    idKind: 'phone',
    id: scamPhone,
    kind: 'mule_account',
    at: new Date(Date.now() - 20 * 24 * hour).toISOString(),
  });
  process.stdout.write(
    `  a live signal dated 20 days back is refused: ${backdated.status} ${backdated.body.error.code} (old signals go through the admin's marked historical import)\n`,
  );

  step('Privacy promises under attack: a bank cannot use PSI to pull a partner’s customer list');
  // bank-c's 500 recent applicants; bank-a brings all 30 000 of its customers: 60 times more.
  const applicants = readFileSync(DATA('default_credit_homo_host_2.csv'), 'utf8').split('\n').slice(0, 501);
  expectOk(
    'import',
    await consortium.api(
      'bank-c',
      'admin',
      'POST',
      '/v1/datasets/recent_applicants?idColumn=id&defaultType=number&columns=y:integer',
      `${applicants.join('\n')}\n`,
      'text/csv',
    ),
  );
  const pull = await consortium.api('bank-a', 'risk', 'POST', '/v1/psi', {
    peers: ['bank-c'],
    dataset: 'credit_vertical',
    peerDatasets: { 'bank-c': 'recent_applicants' },
    mode: 'intersection',
    reveal: 'initiator',
  });
  expectOk('PSI start', pull);
  const pulled = await finishedJob(consortium, 'bank-a', pull.body.id);
  process.stdout.write(
    `  bank-a (30 000 rows) against bank-c's 500 applicants: ${pulled.state}, ${pulled.error?.code}: ${pulled.error?.message}\n`,
  );

  await horizontalTraining(consortium);
  await verticalTraining(consortium, job.id);
  await campaign(consortium);

  step(
    'Audit logs: every API call and RPC, hash-chained, checked against the heads the coordinator anchored',
  );
  for (const member of Object.keys(consortium.nodes)) {
    const verdict = await consortium.api(member, 'reviewer', 'GET', '/v1/audit/verify');
    expectOk('audit verify', verdict);
    const anchors = verdict.body.anchors
      ? `, ${verdict.body.anchors.checked} coordinator anchor(s) ${verdict.body.anchors.ok ? 'agree' : 'DISAGREE'}`
      : `, anchors not checked (${verdict.body.anchorsUnavailable})`;
    process.stdout.write(
      `  ${member}: ${verdict.body.entries} entries, chain ${verdict.body.ok ? 'intact' : 'BROKEN'}${anchors}\n`,
    );
  }
}

/**
 * The three banks train one MLP on their credit-card books (the horizontal split) with secure aggregation in every
 * round; the pooled validation AUC per round comes from aggregated histograms. The model is scored on the held-out
 * test customers through its ONNX export, next to what bank-a would get training alone on its own rows.
 */
async function horizontalTraining(consortium: LocalConsortium): Promise<void> {
  step('Horizontal federated training: three banks train one MLP, the coordinator sees only sums (SecAgg+)');
  const settings = {
    model: { type: 'mlp', hidden: [32] },
    rounds: 20,
    localEpochs: 1,
    batchSize: 64,
    learningRate: 0.003,
    optimizer: 'adam',
    l2: 0,
  } as const;
  const validation = { fraction: 0.2, seed: 1 };
  const start = await consortium.api('bank-a', 'risk', 'POST', '/v1/training', {
    kind: 'horizontal',
    peers: ['bank-b', 'bank-c'],
    dataset: 'credit_horizontal',
    label: 'y',
    ...settings,
    validation,
    minParticipants: 2,
    purpose: 'risk',
  });
  expectOk('training start', start);
  let job = start.body;
  let shown = 0;
  while (['waiting', 'running', 'pending_approval'].includes(job.state) || shown < job.rounds.length) {
    for (const r of job.rounds.slice(shown))
      process.stdout.write(
        `  round ${String(r.round).padStart(2)}: validation AUC ${r.metrics.auc.toFixed(4)}  KS ${r.metrics.ks.toFixed(3)}  loss ${r.loss.toFixed(4)}  (${r.members.join(', ')})\n`,
      );
    shown = job.rounds.length;
    if (!['waiting', 'running', 'pending_approval'].includes(job.state)) break;
    await new Promise((r) => setTimeout(r, 250));
    job = (await consortium.api('bank-a', 'risk', 'GET', `/v1/training/${job.id}`)).body;
  }
  if (job.state !== 'done') throw new Error(`training ${job.state}: ${JSON.stringify(job.error)}`);
  const test = readCreditCsv(CREDIT_TEST);
  const onnx = await fetch(`${consortium.nodes['bank-a']!.url}/v1/models/${job.modelId}/onnx`, {
    headers: { authorization: `Bearer ${consortium.nodes['bank-a']!.tokens.risk}` },
  });
  const joint = await onnxTestAuc(new Uint8Array(await onnx.arrayBuffer()), test);
  const alone = centralAuc(trainingPart(readCreditCsv(CREDIT_BANKS['bank-a']), validation), test, {
    ...settings,
    epochs: settings.rounds * settings.localEpochs,
    seed: 'bank-a alone',
  });
  process.stdout.write(
    `  model ${job.modelId} registered at every bank (ONNX, preprocessing inside)\n` +
      `  test AUC on 6 000 held-out customers: joint model ${joint.toFixed(4)}, bank-a alone ${alone.auc.toFixed(4)}\n`,
  );
}

/**
 * bank-a (the label holder) and bank-b train the joint risk model on the customers the PSI step aligned: logistic
 * regression under BFV homomorphic encryption, each bank keeping its own part. Printed beside what bank-a's own
 * columns reach on the same validation customers with the same trainer.
 */
async function verticalTraining(consortium: LocalConsortium, alignment: string): Promise<void> {
  step(
    'Vertical federated training: bank-a (label) and bank-b (features) train the joint risk model under BFV',
  );
  const banks = CREDIT_VERTICAL.map((b) => ({ ...b, dataset: 'credit_vertical' }));
  const settings = {
    epochs: 5,
    batchSize: 8192,
    learningRate: 1,
    optimizer: 'sgd',
    l2: 0,
    validation: { fraction: 0.2, seed: 42 },
  } as const;
  const job = await trainVertical(consortium, banks, alignment, settings, 'risk', (epoch, auc) =>
    process.stdout.write(
      `  epoch ${epoch}: validation AUC ${auc?.toFixed(4)} (learnt by bank-a, published to the job)\n`,
    ),
  );
  const alone = await centralizedVertical(consortium, banks.slice(0, 1), alignment, job.id, settings);
  const seconds = (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000;
  process.stdout.write(
    `  each bank registered its own part (bank-a: its weights and how partial logits combine; bank-b: its weights)\n` +
      `  validation AUC on ${job.rounds.at(-1).metrics.positives + job.rounds.at(-1).metrics.negatives} customers: joint model ${job.rounds.at(-1).metrics.auc.toFixed(4)}, bank-a's columns alone ${alone.auc.toFixed(4)} (${seconds.toFixed(1)} s)\n`,
  );
  await verticalTrees(consortium, alignment, job.rounds.at(-1).metrics.auc);
}

/**
 * The same joint risk model as boosted trees (SecureBoost): bank-a encrypts gradients under its own key, bank-b returns
 * encrypted histograms and keeps its thresholds. Printed beside the logistic regression's AUC and beside boosted trees
 * on bank-a's columns alone (the plaintext trainer, same customers, same split).
 */
async function verticalTrees(
  consortium: LocalConsortium,
  alignment: string,
  logisticAuc: number,
): Promise<void> {
  step('Vertical boosted trees: bank-a and bank-b train the joint risk model as SecureBoost trees');
  const banks = CREDIT_VERTICAL.map((b) => ({ ...b, dataset: 'credit_vertical' }));
  const model = { ...TREES_25, trees: 10, depth: 4 };
  const job = await trainTrees(consortium, banks, alignment, model, 'risk', (tree, auc) =>
    process.stdout.write(`  tree ${tree}: validation AUC ${auc?.toFixed(4)}\n`),
  );
  const alone = await centralizedTrees(consortium, banks.slice(0, 1), alignment, model, job.spec.initSeed);
  const seconds = (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000;
  process.stdout.write(
    `  bank-a registered the trees and its own thresholds; bank-b only its thresholds, by split id\n` +
      `  validation AUC: boosted trees ${job.rounds.at(-1).metrics.auc.toFixed(4)}, logistic regression ${logisticAuc.toFixed(4)}, bank-a's columns alone (trees) ${alone.auc.toFixed(4)} (${seconds.toFixed(1)} s)\n`,
  );
}

/** Polls `path` at bank-a with `role` until its `state` is no longer running. */
// biome-ignore lint/suspicious/noExplicitAny: the demo reads job JSON loosely
async function settled(consortium: LocalConsortium, role: 'risk' | 'marketing', path: string): Promise<any> {
  return poll(
    async () => (await consortium.api('bank-a', role, 'GET', path)).body,
    (body) => body.state !== 'running',
  );
}

/**
 * From joint models to decisions: bank-a and bank-b train the joint propensity and risk models on their shared
 * bank-marketing customers; bank-a scores them (bank-b computes its partial logits for the aligned customers, only
 * bank-a holds the joint scores); marketing writes a term-deposit campaign, a reviewer approves it, and the run
 * decides for every customer, with reasons.
 */
async function campaign(consortium: LocalConsortium): Promise<void> {
  step(
    'Joint models for marketing: bank-a and bank-b align their bank-marketing customers and train two models',
  );
  await importVertical(consortium, MARKETING_VERTICAL);
  const alignment = await alignVertical(consortium, MARKETING_VERTICAL);
  const models = await trainMarketingModels(consortium, alignment);
  process.stdout.write(
    `  joint propensity model (label: subscribed to a term deposit): validation AUC ${models.propensityAuc.toFixed(4)}\n` +
      `  joint risk model (label: credit in default): validation AUC ${models.riskAuc.toFixed(4)}\n`,
  );

  step('Joint scoring: bank-a scores the shared customers; bank-b sends partial logits only bank-a can open');
  for (const [name, model] of [
    ['propensity', models.propensity],
    ['risk', models.risk],
  ] as const) {
    const start = await consortium.api('bank-a', 'risk', 'POST', '/v1/scoring', { model });
    expectOk(`scoring ${name}`, start);
    const job = await settled(consortium, 'risk', `/v1/scoring/${start.body.job}`);
    if (job.state !== 'done') throw new Error(`scoring ${name}: ${JSON.stringify(job.error)}`);
    process.stdout.write(
      `  ${name}: ${job.progress.scored.toLocaleString('en')} customers scored in ${job.timings.seconds.toFixed(1)} s\n`,
    );
  }
  const table = readCsv(MARKETING_VERTICAL[0]!.file);
  const idAt = table.header.indexOf('national_id');
  const sampleCustomer = table.rows[0]![idAt]!;
  const live = await consortium.api('bank-a', 'marketing', 'POST', `/v1/models/${models.propensity}/score`, {
    customer: sampleCustomer,
  });
  expectOk('real-time score', live);
  process.stdout.write(
    `  real time, one customer: propensity ${live.body.score.toFixed(3)}, partials ${live.body.partials.map((p: { member: string; source: string }) => `${p.member} ${p.source}`).join(', ')}\n`,
  );

  step('Campaign inputs: consent, fraud screening, the risk team’s pricing limits');
  const consent = await consortium.api(
    'bank-a',
    'admin',
    'POST',
    '/v1/consent',
    consentCsv(new Date()),
    'text/csv',
  );
  expectOk('consent import', consent);
  const partner = readCsv(MARKETING_VERTICAL[1]!.file);
  const flagged = partner.rows.slice(0, 3).map((r) => r[partner.header.indexOf('national_id')]!);
  expectOk(
    'fraud flags',
    await consortium.api('bank-b', 'risk', 'POST', '/v1/signals', {
      signals: flagged.map((id) => ({ idKind: 'national_id', id, kind: 'telecom_scam' })),
    }),
  );
  const screen = await consortium.api('bank-a', 'risk', 'POST', '/v1/signals/screen', {
    idKind: 'national_id',
    ids: table.rows.map((r) => r[idAt]!),
  });
  expectOk('screening', screen);
  const screened = await settled(consortium, 'risk', `/v1/signals/screen/${screen.body.jobId}`);
  if (screened.state !== 'done') throw new Error(`screening: ${JSON.stringify(screened)}`);
  expectOk(
    'pricing limits',
    await consortium.api(
      'bank-a',
      'risk',
      'PUT',
      `/v1/pricing-limits/${TERM_DEPOSIT.product}`,
      TERM_DEPOSIT_LIMITS,
    ),
  );
  process.stdout.write(
    `  ${consent.body.rows.toLocaleString('en')} consent records; screening of ${table.rows.length.toLocaleString('en')} customers: ${screened.hits?.length ?? 0} flagged by other banks\n` +
      `  risk: ${TERM_DEPOSIT.product} rates within [${TERM_DEPOSIT_LIMITS.floor}, ${TERM_DEPOSIT_LIMITS.ceiling}] %, probability of default at most ${TERM_DEPOSIT_LIMITS.maxProbabilityOfDefault}\n`,
  );

  step('Campaign: marketing writes it, the author cannot approve it, a reviewer does, then it runs');
  const created = await consortium.api(
    'bank-a',
    'marketing',
    'POST',
    '/v1/campaigns',
    termDepositCampaign({ ...models, screening: screen.body.jobId }),
  );
  expectOk('campaign create', created);
  const id = created.body.id;
  expectOk('submit', await consortium.api('bank-a', 'marketing', 'POST', `/v1/campaigns/${id}/submit`, {}));
  const selfApproval = await consortium.api('bank-a', 'marketing', 'POST', `/v1/campaigns/${id}/approve`, {});
  process.stdout.write(
    `  approval with the author's marketing token: ${selfApproval.status} ${selfApproval.body.error?.code}\n`,
  );
  expectOk(
    'approve',
    await consortium.api('bank-a', 'reviewer', 'POST', `/v1/campaigns/${id}/approve`, {
      comment: 'consent purpose, caps and pricing checked',
    }),
  );
  const started = await consortium.api('bank-a', 'marketing', 'POST', `/v1/campaigns/${id}/runs`, {});
  expectOk('run', started);
  const run = await settled(consortium, 'marketing', `/v1/campaigns/${id}/runs/${started.body.id}`);
  if (run.state !== 'done') throw new Error(`campaign run: ${JSON.stringify(run.error)}`);
  process.stdout.write(formatFunnel(run.funnel).replace(/^/gm, '  '));

  const decisions = await fetch(
    `${consortium.nodes['bank-a']!.url}/v1/campaigns/${id}/runs/${run.id}/export?format=ndjson`,
    { headers: { authorization: `Bearer ${consortium.nodes['bank-a']!.tokens.marketing}` } },
  );
  const excluded = (await decisions.text())
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .find((d) => !d.eligible && d.reasons?.length && /risk|propensity/.test(JSON.stringify(d.reasons)));
  if (excluded) {
    const why = await consortium.api(
      'bank-a',
      'marketing',
      'GET',
      `/v1/campaigns/${id}/runs/${run.id}/decisions/${excluded.customerId ?? excluded.customer_id ?? excluded.customer}`,
    );
    expectOk('decision', why);
    process.stdout.write(
      `  why was customer ${why.body.customerId.slice(0, 6)}… excluded? passed ${why.body.passed.join(', ')}; failed ${why.body.firstFailed?.rule}: ${why.body.firstFailed?.text}\n`,
    );
  }
}

async function main(): Promise<void> {
  process.stdout.write(
    'Accord demo: starting a coordinator and three bank nodes on loopback (mutual TLS)...\n',
  );
  const consortium = await startLocalConsortium({
    members: ['bank-a', 'bank-b', 'bank-c'],
    onReady: (name) => process.stdout.write(`  ${name} ready\n`),
    // A flag kind of this consortium's own, on top of the built-ins: no software release needed.
    configure: (init) => {
      const coordinator = JSON.parse(readFileSync(init.coordinatorConfig, 'utf8'));
      coordinator.signals.extraFlagKinds = [CONSORTIUM_FLAG];
      writeFileSync(init.coordinatorConfig, JSON.stringify(coordinator, null, 2));
      // bank-a screens its whole customer base before its first campaign.
      allowScreeningBurst(init.coordinatorConfig, 'bank-a');
    },
  });
  try {
    await run(consortium);
    step('Done: stopping all processes');
  } finally {
    await consortium.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`demo failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
