/**
 * Vertical training on real data, shared by the demo and `npm run bench:train:vertical`: importing each bank's file,
 * aligning the banks by PSI, running a vertical job, and the anchor every federated figure is judged against: the
 * project's own plaintext trainer on the joined rows, the same aligned customers, the same split and each party's
 * same preprocessing (read from the registered parts), trained in one place.
 *
 * Data (examples/data/SOURCES.md):
 *  - credit default (risk): FATE's vertical split, bank-a `default_credit_hetero_guest.csv` (id, y, x0..x12),
 *    bank-b `default_credit_hetero_host.csv` (id, x0..x9), 30 000 shared customers keyed by `id`;
 *  - bank marketing (propensity): the bank `bank_marketing_bank.csv` (national_id, its columns, y) and the partner
 *    `bank_marketing_partner.csv` (national_id, contact history), 40 689 shared customers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { auc } from '../models/metrics.js';
import { predict } from '../models/network.js';
import { encodeRows } from '../models/preprocessing.js';
import { trainCentral } from '../models/train-local.js';
import type { Preprocessing, RawCell } from '../models/types.js';
import { splitRows } from '../node/training/local-data.js';
import type { LocalConsortium } from './local-consortium.js';

const DATA = join(import.meta.dirname, 'data');

export interface VerticalBankData {
  readonly member: string;
  readonly file: string;
  readonly dataset: string;
  readonly idColumn: string;
  readonly idKind: string;
  /** Import column types beyond `defaultType=number` (e.g. `y:integer,job:string`). */
  readonly columns: string;
}

export const CREDIT_VERTICAL: readonly VerticalBankData[] = [
  {
    member: 'bank-a',
    file: 'default_credit_hetero_guest.csv',
    dataset: 'credit-v',
    idColumn: 'id',
    idKind: 'customer_id',
    columns: 'y:integer',
  },
  {
    member: 'bank-b',
    file: 'default_credit_hetero_host.csv',
    dataset: 'credit-v',
    idColumn: 'id',
    idKind: 'customer_id',
    columns: '',
  },
];

export const MARKETING_VERTICAL: readonly VerticalBankData[] = [
  {
    member: 'bank-a',
    file: 'bank_marketing_bank.csv',
    dataset: 'marketing',
    idColumn: 'national_id',
    idKind: 'national_id',
    columns: 'y:integer,job:string,marital:string,education:string,default:string,housing:string,loan:string',
  },
  {
    member: 'bank-b',
    file: 'bank_marketing_partner.csv',
    dataset: 'marketing',
    idColumn: 'national_id',
    idKind: 'national_id',
    columns: 'contact:string,month:string,poutcome:string',
  },
];

export interface CsvTable {
  readonly header: string[];
  readonly rows: string[][];
}

/** A CSV as imported (lines may end in CRLF, as the bank-marketing files do). */
export function readCsv(file: string): CsvTable {
  const [head, ...lines] = readFileSync(join(DATA, file), 'utf8').trim().split(/\r?\n/);
  return { header: head!.split(','), rows: lines.map((l) => l.split(',')) };
}

export async function importVertical(c: LocalConsortium, banks: readonly VerticalBankData[]): Promise<void> {
  for (const b of banks) {
    const query = `idColumn=${b.idColumn}&idKind=${b.idKind}&defaultType=number${b.columns ? `&columns=${b.columns}` : ''}&replace=true`;
    const res = await c.api(
      b.member,
      'admin',
      'POST',
      `/v1/datasets/${b.dataset}?${query}`,
      readFileSync(join(DATA, b.file), 'utf8'),
      'text/csv',
    );
    if (res.status !== 201) throw new Error(`import at ${b.member}: ${JSON.stringify(res.body)}`);
  }
}

/** Calls `get` every 200 ms until `until` holds for its answer; returns that answer. */
export async function poll<T>(get: () => Promise<T>, until: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await get();
    if (until(v)) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A PSI intersection from the first bank with the others, revealed to all; its id once done everywhere. */
export function alignVertical(c: LocalConsortium, banks: readonly VerticalBankData[]): Promise<string> {
  const [first, ...others] = banks;
  return alignMembers(
    c,
    first!.member,
    others.map((b) => b.member),
    first!.dataset,
  );
}

/** A PSI intersection of `dataset` from `initiator` with `peers`, revealed to all; its id once done everywhere. */
export async function alignMembers(
  c: LocalConsortium,
  initiator: string,
  peers: readonly string[],
  dataset: string,
): Promise<string> {
  const start = await c.api(initiator, 'risk', 'POST', '/v1/psi', {
    peers,
    dataset,
    mode: 'intersection',
    reveal: 'all',
  });
  if (start.status !== 202) throw new Error(`PSI: ${JSON.stringify(start.body)}`);
  for (const m of [initiator, ...peers]) {
    const job = await poll(
      async () => (await c.api(m, 'risk', 'GET', `/v1/psi/${start.body.id}`)).body,
      (j) => !['pending_approval', 'waiting', 'running'].includes(j.state),
    );
    if (job.state !== 'done') throw new Error(`PSI at ${m}: ${JSON.stringify(job.error)}`);
  }
  return start.body.id;
}

/** The aligned row keys (file lines) of a PSI job at `member`, in the shared order. */
export async function alignmentLines(c: LocalConsortium, member: string, job: string): Promise<number[]> {
  const rows: number[] = [];
  for (let offset = 0; ; ) {
    const page = await c.api(member, 'risk', 'GET', `/v1/psi/${job}/alignment?offset=${offset}&limit=5000`);
    if (page.status !== 200) throw new Error(JSON.stringify(page.body));
    rows.push(...page.body.rowKeys);
    if (page.body.next === null) return rows;
    offset = page.body.next;
  }
}

export interface VerticalSettings {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly optimizer: 'sgd' | 'adam';
  /** Epoch e steps with learningRate / sqrt(1 + learningRateDecay · (e − 1)); the anchor trainer does not decay. */
  readonly learningRateDecay?: number;
  readonly l2: number;
  readonly validation: { readonly fraction: number; readonly seed: number };
  /** The label column (default `y`). */
  readonly label?: string;
  /** Columns per member (default: "all" at every party). */
  readonly features?: Readonly<Record<string, unknown>>;
  /** The model (default logistic regression; examples/trees.ts passes boosted trees). */
  readonly model?: Readonly<Record<string, unknown>>;
}

/** Starts a vertical job at the label holder (the first bank) and waits for it everywhere; the label holder's view. */
export async function trainVertical(
  c: LocalConsortium,
  banks: readonly VerticalBankData[],
  alignment: string,
  settings: VerticalSettings,
  purpose: 'risk' | 'propensity',
  onEpoch?: (epoch: number, auc: number | null) => void,
  // biome-ignore lint/suspicious/noExplicitAny: the job view, checked by the caller
): Promise<any> {
  const [labelHolder, ...peers] = banks;
  const start = await c.api(
    labelHolder!.member,
    purpose === 'risk' ? 'risk' : 'marketing',
    'POST',
    '/v1/training',
    {
      kind: 'vertical',
      peers: peers.map((b) => b.member),
      label: 'y',
      alignment,
      model: { type: 'logistic' },
      ...settings,
      purpose,
    },
  );
  if (start.status !== 202) throw new Error(`training: ${JSON.stringify(start.body)}`);
  let seen = 0;
  const job = await poll(
    async () => (await c.api(labelHolder!.member, 'risk', 'GET', `/v1/training/${start.body.id}`)).body,
    (j) => {
      for (const r of j.rounds ?? [])
        if (r.round > seen) {
          seen = r.round;
          onEpoch?.(seen, r.metrics?.auc ?? null);
        }
      return !['pending_approval', 'waiting', 'running'].includes(j.state);
    },
  );
  if (job.state !== 'done') throw new Error(`training: ${JSON.stringify(job.error)}`);
  for (const b of peers) {
    const peer = await poll(
      async () => (await c.api(b.member, 'risk', 'GET', `/v1/training/${start.body.id}`)).body,
      (j) => !['pending_approval', 'waiting', 'running'].includes(j.state),
    );
    if (peer.state !== 'done') throw new Error(`training at ${b.member}: ${JSON.stringify(peer.error)}`);
  }
  return job;
}

/**
 * The centralised anchor: each bank's registered part's preprocessing applied to its own aligned rows, the encoded
 * columns joined in one place, the label holder's split, and logistic regression by the project's plaintext trainer
 * (SGD with `settings`). Returns the validation AUC, and the seconds one epoch took.
 */
export async function centralizedVertical(
  c: LocalConsortium,
  banks: readonly VerticalBankData[],
  alignment: string,
  jobId: string,
  settings: VerticalSettings,
): Promise<{ auc: number; secondsPerEpoch: number }> {
  const blocks: { X: Float64Array; width: number }[] = [];
  let labels: Uint8Array | null = null;
  let rows = 0;
  for (const b of banks) {
    const models = (await c.api(b.member, 'risk', 'GET', '/v1/models?limit=500')).body.models;
    const model = models.find((m: { job: string }) => m.job === jobId);
    const detail = (await c.api(b.member, 'risk', 'GET', `/v1/models/${model.id}`)).body;
    const preprocessing = detail.preprocessing as Preprocessing;
    const lines = await alignmentLines(c, b.member, alignment);
    const table = readCsv(b.file);
    rows = lines.length;
    const raw = new Map<string, RawCell[]>(
      preprocessing.columns.map((col) => {
        const at = table.header.indexOf(col.name);
        return [col.name, lines.map((line) => table.rows[line - 2]![at]!)] as const;
      }),
    );
    blocks.push(encodeRows(preprocessing, raw, rows));
    if (b === banks[0]) {
      const at = table.header.indexOf('y');
      labels = Uint8Array.from(lines, (line) => Number(table.rows[line - 2]![at]));
    }
  }
  const width = blocks.reduce((w, b) => w + b.width, 0);
  const { trainingRows, validationRows } = splitRows(rows, settings.validation);
  const gather = (positions: readonly number[]) => {
    const X = new Float64Array(positions.length * width);
    positions.forEach((p, i) => {
      let at = 0;
      for (const b of blocks) {
        X.set(b.X.subarray(p * b.width, (p + 1) * b.width), i * width + at);
        at += b.width;
      }
    });
    return X;
  };
  const started = performance.now();
  const result = trainCentral({
    spec: { type: 'logistic' },
    parameters: new Float64Array(width + 1),
    X: gather(trainingRows),
    y: Uint8Array.from(trainingRows, (p) => labels![p]!),
    rows: trainingRows.length,
    width,
    epochs: settings.epochs,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    optimizer: settings.optimizer,
    l2: settings.l2,
    seed: 'centralised',
  });
  const secondsPerEpoch = (performance.now() - started) / 1000 / settings.epochs;
  const scores = predict(
    result.parameters,
    { type: 'logistic' },
    gather(validationRows),
    validationRows.length,
    width,
  );
  return {
    auc: auc(
      scores,
      Uint8Array.from(validationRows, (p) => labels![p]!),
    ),
    secondsPerEpoch,
  };
}
