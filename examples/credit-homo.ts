/**
 * The horizontal split of the credit-default data (examples/data/default_credit_homo_*.csv: three banks of 8 000
 * customers, same 23 features, and a 6 000-row test set) as raw columns, and the plaintext anchors a federated run
 * is judged against: one bank alone, and the three banks' training rows pooled in one place, trained by the
 * project's own trainer with the same settings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { auc } from '../models/metrics.js';
import { initialParameters, predict } from '../models/network.js';
import { encodeRows, localColumnStats, preprocessingFromSums } from '../models/preprocessing.js';
import { trainCentral } from '../models/train-local.js';
import type { FeatureColumn, ModelSpec, RawCell } from '../models/types.js';
import { splitRows } from '../node/training/local-data.js';

const DATA = join(import.meta.dirname, 'data');

export const CREDIT_BANKS = {
  'bank-a': 'default_credit_homo_guest.csv',
  'bank-b': 'default_credit_homo_host_1.csv',
  'bank-c': 'default_credit_homo_host_2.csv',
} as const;
export const CREDIT_TEST = 'default_credit_homo_test.csv';

export interface Table {
  readonly header: string[];
  readonly columns: Map<string, RawCell[]>;
  readonly labels: Uint8Array;
  readonly rows: number;
}

export function readCreditCsv(file: string): Table {
  const [head, ...lines] = readFileSync(join(DATA, file), 'utf8').trim().split('\n');
  const header = head!.split(',');
  const columns = new Map<string, RawCell[]>(header.map((h) => [h, []]));
  for (const line of lines) {
    const cells = line.split(',');
    for (let i = 0; i < cells.length; i++) columns.get(header[i]!)!.push(Number(cells[i]));
  }
  return {
    header,
    columns,
    labels: Uint8Array.from(columns.get('y')!, (v) => Number(v)),
    rows: lines.length,
  };
}

export const creditFeatures = (t: Table): FeatureColumn[] =>
  t.header.filter((h) => h !== 'id' && h !== 'y').map((name) => ({ name, kind: 'numeric' }));

function pick(t: Table, rows: readonly number[]): Table {
  const columns = new Map<string, RawCell[]>();
  for (const [name, cells] of t.columns)
    columns.set(
      name,
      rows.map((r) => cells[r]!),
    );
  return { header: t.header, columns, labels: Uint8Array.from(rows, (r) => t.labels[r]!), rows: rows.length };
}

/** The rows a node trains on: its dataset minus the validation split the job's seed draws (as the node does). */
export function trainingPart(t: Table, validation: { fraction: number; seed: number }): Table {
  return pick(t, splitRows(t.rows, validation).trainingRows);
}

export function concat(tables: readonly Table[]): Table {
  const columns = new Map<string, RawCell[]>();
  for (const h of tables[0]!.header)
    columns.set(
      h,
      tables.flatMap((t) => t.columns.get(h)!),
    );
  const labels = new Uint8Array(tables.reduce((n, t) => n + t.rows, 0));
  let at = 0;
  for (const t of tables) {
    labels.set(t.labels, at);
    at += t.rows;
  }
  return { header: tables[0]!.header, columns, labels, rows: at };
}

export interface CentralSettings {
  readonly model: ModelSpec;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly optimizer: 'sgd' | 'adam';
  readonly l2: number;
  readonly seed: string;
}

/** Trains on `train` in one place (standardised with its own statistics) and returns the test AUC and the time. */
export function centralAuc(
  train: Table,
  test: Table,
  settings: CentralSettings,
): { auc: number; seconds: number } {
  const features = creditFeatures(train);
  const started = performance.now();
  const preprocessing = preprocessingFromSums(features, localColumnStats(features, train.columns));
  const X = encodeRows(preprocessing, train.columns, train.rows);
  const result = trainCentral({
    spec: settings.model,
    parameters: initialParameters(settings.model, X.width, settings.seed),
    X: X.X,
    y: train.labels,
    rows: train.rows,
    width: X.width,
    epochs: settings.epochs,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    optimizer: settings.optimizer,
    l2: settings.l2,
    seed: settings.seed,
  });
  const seconds = (performance.now() - started) / 1000;
  const T = encodeRows(preprocessing, test.columns, test.rows);
  return {
    auc: auc(predict(result.parameters, settings.model, T.X, test.rows, T.width), test.labels),
    seconds,
  };
}

/**
 * Test AUC of a model's ONNX export (as `GET /v1/models/:id/onnx` serves it) on `test`, through ONNX Runtime, feeding
 * raw columns by name: what a scorer at any bank does.
 */
export async function onnxTestAuc(onnx: Uint8Array, test: Table): Promise<number> {
  const session = await ort.InferenceSession.create(onnx);
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames)
    feeds[name] = new ort.Tensor('float64', Float64Array.from(test.columns.get(name)!, Number), [
      test.rows,
      1,
    ]);
  return auc((await session.run(feeds))['score']!.data as Float64Array, test.labels);
}
