/**
 * Horizontal federated training end to end: three banks (real processes, mutual TLS, SQLite) train one model over
 * FATE's breast-cancer splits with secure aggregation, every message of every process recorded (bodies and
 * metadata, both directions). Then:
 *  - every participant registers the same model, with metrics per round and who took part;
 *  - what crossed the wire holds no feature value, score or label of any bank in any form, and every vector a node
 *    sent is indistinguishable from uniform (an unmasked fixed-point update would not be);
 *  - bad input (a missing or mistyped column at a peer, a label that is not binary, minParticipants larger than the
 *    job) fails the job for everyone with a coded error and registers nothing;
 *  - a node killed mid-job: the rounds complete with the two others, and after its restart the killed node's job is
 *    failed with a coded error.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';
import { distinctiveForms } from '../helpers/identifier-forms.js';
import { breastCsv, importTable, smallJob, waitTraining } from '../helpers/training-data.js';
import { editCoordinatorConfig, reload } from '../helpers/coordinator-config.js';
import { waitFor } from '../helpers/wait.js';
import { expectNoLeaks, parseWireRecord, sentByNodes } from '../helpers/wire-record.js';

const MEMBERS = ['bank-a', 'bank-b', 'bank-c'] as const;

/** Rows of a CSV (header first) as arrays of cells. */
function table(csv: string): { header: string[]; rows: string[][] } {
  const [head, ...lines] = csv.trim().split('\n');
  return { header: head!.split(','), rows: lines.map((l) => l.split(',')) };
}

/** A CSV with `column` dropped, or with its cells replaced by `replace(cell, row)`. */
function edited(csv: string, column: string, replace?: (cell: string, row: number) => string): string {
  const { header, rows } = table(csv);
  const at = header.indexOf(column);
  const keep = (cells: string[], r: number) =>
    replace ? cells.map((c, i) => (i === at ? replace(c, r) : c)) : cells.filter((_, i) => i !== at);
  return `${[keep(header, -1), ...rows.map(keep)].map((r) => r.join(',')).join('\n')}\n`;
}

describe('horizontal training: three banks, every message recorded', () => {
  let c: LocalConsortium;
  let wireDir: string;
  let jobId = '';
  /** Every bank's rows scored by the final model (ONNX Runtime): per-row scores that must never travel. */
  const scores: number[] = [];

  beforeAll(async () => {
    wireDir = mkdtempSync(join(tmpdir(), 'accord-training-wire-'));
    c = await startLocalConsortium({
      members: [...MEMBERS],
      env: { ACCORD_WIRE_RECORD: join(wireDir, 'wire-%p.jsonl') },
    });
    for (const m of MEMBERS) await importTable(c, m, 'breast', breastCsv(m));
  });
  afterAll(async () => {
    await c?.stop();
    rmSync(wireDir, { recursive: true, force: true });
  });

  it('trains one model, registered at every bank with the same metrics per round', async () => {
    const start = await c.api(
      'bank-a',
      'risk',
      'POST',
      '/v1/training',
      smallJob({ model: { type: 'mlp', hidden: [8] } }),
    );
    expect(start.status, JSON.stringify(start.body)).toBe(202);
    jobId = start.body.id;
    const done = await waitTraining(c, 'bank-a', jobId);
    expect(done.state, JSON.stringify(done.error)).toBe('done');
    expect(done.rounds).toHaveLength(2);
    for (const r of done.rounds) {
      expect(r.members).toEqual([...MEMBERS]);
      expect(r.evaluatedBy).toEqual([...MEMBERS]);
      expect(r.metrics.auc).toBeGreaterThan(0.9);
      // The validation rows of the three banks: 20% of 227 + 228 + 114.
      expect(r.metrics.positives + r.metrics.negatives).toBe(
        Math.round(227 * 0.2) + Math.round(228 * 0.2) + Math.round(114 * 0.2),
      );
    }
    expect(done.preprocessing.trainingRows).toBe(
      569 - (Math.round(227 * 0.2) + Math.round(228 * 0.2) + Math.round(114 * 0.2)),
    );
    // Each bank's own counts stay on its node; bank-a's: the guest split's 227 rows less its validation fifth.
    expect(done.local).toEqual({
      trainingRows: 227 - Math.round(227 * 0.2),
      validationRows: Math.round(227 * 0.2),
      missingValues: 0,
      otherValues: 0,
    });
    const models = [];
    for (const m of MEMBERS) {
      const job = await waitTraining(c, m, jobId);
      expect(job.state).toBe('done');
      const model = await c.api(m, 'risk', 'GET', `/v1/models/${job.modelId}`);
      expect(model.status).toBe(200);
      models.push(model.body);
    }
    expect(models[1].rounds).toEqual(models[0].rounds);
    expect(models[2].preprocessing).toEqual(models[0].preprocessing);
    expect(models[0].parameters.layers).toEqual([
      { inputs: 30, outputs: 8, activation: 'relu' },
      { inputs: 8, outputs: 1, activation: 'sigmoid' },
    ]);
    // Lineage: every participant's dataset fingerprint, the same at every bank, each bank's own among them.
    for (const [i, m] of MEMBERS.entries()) {
      expect(Object.keys(models[i].lineage.fingerprints).sort()).toEqual([...MEMBERS]);
      expect(models[i].lineage.fingerprints).toEqual(models[0].lineage.fingerprints);
      expect(models[i].lineage.fingerprints[m]).toBe(models[i].lineage.dataset.fingerprint);
    }
    expect(models[0].lineage).toMatchObject({
      job: jobId,
      participants: [...MEMBERS],
      finalMembers: [...MEMBERS],
    });
  });

  it('serves the model as ONNX that ONNX Runtime scores from raw columns', async () => {
    const res = await fetch(
      `${c.nodes['bank-b']!.url}/v1/models/${(await waitTraining(c, 'bank-b', jobId)).modelId}/onnx`,
      {
        headers: { authorization: `Bearer ${c.nodes['bank-b']!.tokens.risk}` },
      },
    );
    expect(res.status).toBe(200);
    const session = await ort.InferenceSession.create(Buffer.from(await res.arrayBuffer()));
    // Raw columns in, one input per column: what a scorer at any bank feeds.
    const scoreRows = async (member: (typeof MEMBERS)[number]) => {
      const { header, rows } = table(breastCsv(member));
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of session.inputNames) {
        const at = header.indexOf(name);
        feeds[name] = new ort.Tensor(
          'float64',
          Float64Array.from(rows, (r) => Number(r[at])),
          [rows.length, 1],
        );
      }
      const out = (await session.run(feeds))['score']!.data as Float64Array;
      expect(out).toHaveLength(rows.length);
      return { y: rows.map((r) => Number(r[header.indexOf('y')])), scores: [...out] };
    };
    for (const m of MEMBERS) {
      const { y, scores: s } = await scoreRows(m);
      scores.push(...s);
      // The model separates the classes: a sanity check that the export is the trained model.
      const mean = (label: number) =>
        s.filter((_, i) => y[i] === label).reduce((a, b) => a + b, 0) / y.filter((v) => v === label).length;
      expect(mean(1) - mean(0)).toBeGreaterThan(0.5);
    }
  });

  it('sends no feature value or score of any bank, and only uniformly masked vectors', async () => {
    const records = readdirSync(wireDir).map((f) => readFileSync(join(wireDir, f), 'utf8'));
    const sent = sentByNodes(records, 'Training');
    expect(sent).toContain('/accord.v1.Training/Step');
    // Every vector a node sent: lanes as they would be if unmasked are small (fixed point: |v| < clip·2^f, wide
    // limbs < 2^16); masked lanes are uniform in 2^32, so few are small. An unmasked vector would be all small.
    let vectors = 0;
    for (const record of records)
      for (const e of parseWireRecord(record)) {
        if (e.event !== 'message' || e.method !== '/accord.v1.Training/Step' || e.dir !== 'out') continue;
        const masked = (e.data as { masked?: string }).masked;
        if (!masked) continue;
        const lanes = new Uint32Array(Uint8Array.from(Buffer.from(masked, 'hex')).buffer);
        let small = 0;
        for (const v of lanes) if (v < 2 ** 27 || v > 2 ** 32 - 2 ** 27) small++;
        expect(small / lanes.length, `a vector of ${lanes.length} lanes`).toBeLessThan(0.2);
        vectors++;
      }
    // stats once and train + eval per round, from each of the three banks.
    expect(vectors).toBeGreaterThanOrEqual(3 * (1 + 2 * 2));

    // Every feature value of every bank (30 columns, 569 rows), in every distinctive form.
    const needles = new Set<string>();
    for (const m of MEMBERS) {
      const { header, rows } = table(breastCsv(m));
      for (const r of rows)
        header.forEach((h, i) => {
          if (h !== 'id' && h !== 'y') for (const f of distinctiveForms(Number(r[i]))) needles.add(f);
          if (h !== 'id' && h !== 'y' && r[i]!.length >= 8) needles.add(r[i]!);
        });
    }
    expect(scores).toHaveLength(569);
    for (const x of scores) for (const f of distinctiveForms(x)) needles.add(f);
    expect(needles.size).toBeGreaterThan(10_000);
    expectNoLeaks(sent, needles, 'what the nodes sent');
  });

  it('fails the job for everyone with a coded error on bad input, and registers nothing', async () => {
    const before = await Promise.all(MEMBERS.map((m) => c.api(m, 'risk', 'GET', '/v1/models')));
    await importTable(c, 'bank-c', 'missing-column', edited(breastCsv('bank-c'), 'x3'));
    await importTable(
      c,
      'bank-c',
      'bad-label',
      edited(breastCsv('bank-c'), 'y', (cell, r) => (r === 5 ? '2' : cell)),
    );
    await importTable(c, 'bank-c', 'mistyped', breastCsv('bank-c'), { columns: 'y:integer,x3:string' });
    const cases = [
      { dataset: 'missing-column', code: 'ACCORD_TRAINING_SCHEMA_MISMATCH' },
      { dataset: 'mistyped', code: 'ACCORD_TRAINING_SCHEMA_MISMATCH' },
      { dataset: 'bad-label', code: 'ACCORD_TRAINING_LABEL_INVALID' },
    ];
    for (const bad of cases) {
      const start = await c.api(
        'bank-a',
        'risk',
        'POST',
        '/v1/training',
        smallJob({ peerDatasets: { 'bank-c': bad.dataset } }),
      );
      expect(start.status).toBe(202);
      for (const m of MEMBERS) {
        const job = await waitTraining(c, m, start.body.id);
        expect(job.state, `${bad.dataset} at ${m}`).toBe('failed');
        expect(job.modelId).toBeNull();
      }
      const initiator = await waitTraining(c, 'bank-a', start.body.id);
      expect(initiator.error.code).toBe('ACCORD_TRAINING_DECLINED');
      expect(initiator.error.message).toContain(bad.code);
      expect(initiator.error.message).toContain('bank-c');
      const atPeer = await waitTraining(c, 'bank-c', start.body.id);
      expect(atPeer.error.code).toBe(bad.code);
    }
    // An initiator probing for a customer: its own dataset keys rows by another column, and the job one-hots the
    // peers' identifier column over the id it looks for. Every peer refuses: identifiers never enter a model.
    const { header, rows } = table(breastCsv('bank-a'));
    // Its own `id` column is a plain category there (five values), so its own checks pass.
    const probeCsv = `ref,${header.join(',')}\n${rows.map((r, i) => `r${i},c${i % 5},${r.slice(1).join(',')}`).join('\n')}\n`;
    const keyedByRef = { idColumn: 'ref', columns: 'ref:string,id:string,y:integer' };
    await importTable(c, 'bank-a', 'probe', probeCsv, keyedByRef);
    const probe = await c.api(
      'bank-a',
      'risk',
      'POST',
      '/v1/training',
      smallJob({
        dataset: 'probe',
        peerDatasets: { 'bank-b': 'breast', 'bank-c': 'breast' },
        features: [
          'x0',
          { name: 'id', kind: 'categorical', categories: [table(breastCsv('bank-b')).rows[0]![0]] },
        ],
      }),
    );
    expect(probe.status, JSON.stringify(probe.body)).toBe(202);
    const probed = await waitTraining(c, 'bank-a', probe.body.id);
    expect(probed.state).toBe('failed');
    expect(probed.error.message).toContain('ACCORD_TRAINING_SCHEMA_MISMATCH');
    expect(probed.preprocessing).toBeNull();

    // The same probe on a column that is an identifier in all but name is refused by the bank that holds it: here
    // the initiator's own check, before anything is sent.
    const copyCsv = `ref,${header.join(',')}\n${rows.map((r, i) => `r${i},${r.join(',')}`).join('\n')}\n`;
    await importTable(c, 'bank-a', 'probe-copy', copyCsv, keyedByRef);
    const copy = await c.api(
      'bank-a',
      'risk',
      'POST',
      '/v1/training',
      smallJob({
        dataset: 'probe-copy',
        features: ['x0', { name: 'id', kind: 'categorical', categories: ['133'] }],
      }),
    );
    expect(copy.status).toBe(400);
    expect(copy.body.error.code).toBe('ACCORD_TRAINING_SCHEMA_MISMATCH');
    expect(copy.body.error.message).toContain('an identifier, not a category');

    // Marketing builds propensity models only.
    const marketing = await c.api(
      'bank-a',
      'marketing',
      'POST',
      '/v1/training',
      smallJob({ purpose: 'risk' }),
    );
    expect(marketing.status).toBe(403);

    const tooMany = await c.api('bank-a', 'risk', 'POST', '/v1/training', smallJob({ minParticipants: 4 }));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('ACCORD_TRAINING_MIN_PARTICIPANTS');
    const after = await Promise.all(MEMBERS.map((m) => c.api(m, 'risk', 'GET', '/v1/models')));
    expect(after.map((r) => r.body.models.length)).toEqual(before.map((r) => r.body.models.length));
  });

  it('goes on without a bank whose connection drops, and takes it back at the next round when it returns', async () => {
    // Long enough that the job is still running when bank-c's inbox comes back (its reconnect back-off is at most
    // 5 s); cancelled once the rejoin is seen.
    const start = await c.api(
      'bank-a',
      'risk',
      'POST',
      '/v1/training',
      smallJob({ rounds: 1000, batchSize: 8, model: { type: 'mlp', hidden: [16] } }),
    );
    expect(start.status).toBe(202);
    const id = start.body.id;
    const job = async () => (await c.api('bank-a', 'risk', 'GET', `/v1/training/${id}`)).body;
    const pattern = async () =>
      (await job()).rounds.map((r: { members: string[] }) => r.members.join(',')) as string[];
    const all = MEMBERS.join(',');
    await waitFor('round 2', async () => (await job()).progress.round >= 2, 60_000);
    // The consortium refuses bank-c for a while: its inboxes end and its calls are refused, as a network cut would.
    editCoordinatorConfig(c, (config) => {
      config.revocation.deniedMembers = ['bank-c'];
    });
    await reload(c);
    await waitFor('a round without bank-c', async () => (await pattern()).includes('bank-a,bank-b'), 60_000);
    editCoordinatorConfig(c, (config) => {
      config.revocation.deniedMembers = [];
    });
    await reload(c);
    await waitFor(
      'bank-c back in a later round',
      async () => {
        const rounds = await pattern();
        return rounds.slice(rounds.indexOf('bank-a,bank-b')).includes(all);
      },
      60_000,
    );
    const rounds = await pattern();
    expect(rounds[0]).toBe(all);
    expect((await job()).state).toBe('running');
    // bank-c follows the job again: it knows the rounds it took part in after its return.
    const atCResponse = await c.api('bank-c', 'risk', 'GET', `/v1/training/${id}`);
    const atC = atCResponse.body;
    expect(atCResponse.status, JSON.stringify(atC)).toBe(200);
    expect(atC.state).toBe('running');
    expect(atC.progress.round).toBeGreaterThan(rounds.indexOf('bank-a,bank-b') + 1);
    expect((await c.api('bank-a', 'risk', 'DELETE', `/v1/training/${id}`)).status).toBe(200);
    for (const m of MEMBERS)
      expect((await waitTraining(c, m, id)).error.code).toBe('ACCORD_TRAINING_CANCELLED');
  });

  /** Starts a job long enough to act on while it runs (an MLP, small batches), and waits for its first round. */
  async function runningJob(rounds: number): Promise<string> {
    const start = await c.api(
      'bank-a',
      'risk',
      'POST',
      '/v1/training',
      smallJob({ rounds, localEpochs: 3, batchSize: 4, model: { type: 'mlp', hidden: [32] } }),
    );
    expect(start.status).toBe(202);
    const id: string = start.body.id;
    await waitFor(
      'the first round',
      async () => (await c.api('bank-a', 'risk', 'GET', `/v1/training/${id}`)).body.progress.round >= 1,
      60_000,
    );
    return id;
  }

  it('cancels a running job for every bank when one of them cancels it', async () => {
    const id = await runningJob(20);
    const cancel = await c.api('bank-b', 'risk', 'DELETE', `/v1/training/${id}`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    for (const m of MEMBERS) {
      const job = await waitTraining(c, m, id);
      expect(job.state, m).toMatch(/^(cancelled|failed)$/);
      expect(job.error.code, m).toBe('ACCORD_TRAINING_CANCELLED');
      expect(job.modelId).toBeNull();
    }
  });

  it('completes the rounds with two banks when one is killed mid-job; the killed one fails after restart', async () => {
    const id = await runningJob(12);
    c.nodes['bank-c']!.process.kill('SIGKILL');
    const done = await waitTraining(c, 'bank-a', id, 120_000);
    expect(done.state, JSON.stringify(done.error)).toBe('done');
    expect(done.rounds[0].members).toEqual([...MEMBERS]);
    expect(done.rounds.at(-1).members).toEqual(['bank-a', 'bank-b']);
    expect((await waitTraining(c, 'bank-b', id)).state).toBe('done');
    const again = await c.restartNode('bank-c');
    const res = await fetch(`${again.url}/v1/training/${id}`, {
      headers: { authorization: `Bearer ${c.nodes['bank-c']!.tokens.risk}` },
    });
    // biome-ignore lint/suspicious/noExplicitAny: the job view, checked below
    const killed: any = await res.json();
    expect(killed.state).toBe('failed');
    expect(killed.error.code).toBe('ACCORD_TRAINING_INTERRUPTED');
    expect(killed.modelId).toBeNull();
  });
});
