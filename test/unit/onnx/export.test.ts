/**
 * ONNX export against ONNX Runtime: exported models score real credit rows (with missing cells, and synthetic
 * categorical columns with unlisted and missing values) as the float64 reference does, and as models/ does
 * (`encodeRows` then `predict`); inputs, types and metadata come out as documented; inconsistent models are refused.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { predict } from '../../../models/network.js';
import { exportOnnx, ONNX_IR_VERSION, ONNX_ML_DOMAIN, ONNX_OPSET } from '../../../models/onnx/export.js';
import { onnxFeeds } from '../../../models/onnx/feeds.js';
import { onnxInputs } from '../../../models/onnx/input-names.js';
import { encodeRows } from '../../../models/preprocessing.js';
import type { ModelSpec, PreparedColumn, RawCell, TrainedModel } from '../../../models/types.js';
import { messages, strings, varintField } from './proto-reader.js';
import {
  creditRows,
  maxAbsDiff,
  ortScores,
  randomParameters,
  referenceScores,
  stats,
  TestRandom,
  width,
} from './reference.js';

const ROWS = 2000;
const random = new TestRandom(0x0a11ce);
const credit = creditRows(ROWS);

/** About 1% of cells each null, NaN and blank (all missing), and 2% numbers written as strings. */
const withGaps = (xs: readonly number[]): RawCell[] =>
  xs.map((x) => {
    const u = random.next();
    return u < 0.01 ? null : u < 0.02 ? Number.NaN : u < 0.03 ? '' : u < 0.05 ? ` ${x} ` : x;
  });

const JOBS = [
  'admin.',
  'blue-collar',
  'entrepreneur',
  'management',
  'retired',
  'services',
  'student',
  'technician',
];
const raw = new Map<string, RawCell[]>(credit.names.map((name, k) => [name, withGaps(credit.columns[k]!)]));
// Listed values (one padded with spaces), unlisted ones, and missing ones.
raw.set(
  'job',
  Array.from({ length: ROWS }, () =>
    random.pick<RawCell>([...JOBS, ' admin. ', 'unemployed', 'unknown', 'housemaid', null]),
  ),
);
raw.set(
  'marital status',
  Array.from({ length: ROWS }, () =>
    random.pick<RawCell>(['married', 'single', 'divorced', 'widowed', null]),
  ),
);
raw.set(
  'score',
  credit.columns[0]!.map((x) => (random.next() < 0.02 ? null : 3 * x + random.symmetric(1))),
);
raw.set(
  'region',
  Array.from({ length: ROWS }, () => random.pick<RawCell>(['north', 'south', null])),
);

const numeric = (name: string): PreparedColumn => ({ name, kind: 'numeric', ...stats(raw.get(name)!) });
const creditColumns = credit.names.map(numeric);
const mixedColumns: PreparedColumn[] = [
  ...creditColumns.slice(0, 6),
  { name: 'job', kind: 'categorical', categories: JOBS },
  ...creditColumns.slice(6),
  { name: 'marital status', kind: 'categorical', categories: ['married', 'single', 'divorced'] },
  numeric('score'),
  // No declared category: the column is its "other" slot alone, always 1.
  { name: 'region', kind: 'categorical', categories: [] },
];

function trained(spec: ModelSpec, columns: readonly PreparedColumn[]): TrainedModel {
  return { spec, preprocessing: { columns }, parameters: randomParameters(spec, width(columns), random) };
}

const cases: [string, TrainedModel][] = [
  ['logistic 23→1', trained({ type: 'logistic' }, creditColumns)],
  ['MLP 23→32→1', trained({ type: 'mlp', hidden: [32] }, creditColumns)],
  ['MLP 23→16→8→1', trained({ type: 'mlp', hidden: [16, 8] }, creditColumns)],
  ['MLP 38→16→8→1 with categorical columns', trained({ type: 'mlp', hidden: [16, 8] }, mixedColumns)],
];

function spread(xs: Float64Array): number {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
}

describe('exportOnnx scored by ONNX Runtime', () => {
  it('runs on the real rows, with missing numeric cells and unlisted or missing categories', () => {
    expect(ROWS).toBeGreaterThanOrEqual(1000);
    expect(raw.get('x3')!.filter((c) => c === null || Number.isNaN(c) || c === '').length).toBeGreaterThan(
      30,
    );
    expect(raw.get('job')!.filter((c) => c === null).length).toBeGreaterThan(50);
    expect(width(mixedColumns)).toBe(38);
  });

  it.each(cases)('%s: matches the float64 reference and models/ to 1e-6', async (_, model) => {
    const bytes = exportOnnx(model, { modelId: 'model-test' });
    const scores = await ortScores(bytes, model, raw, ROWS);
    const reference = referenceScores(model, raw, ROWS);
    const encoded = encodeRows(model.preprocessing, raw, ROWS);
    const ours = predict(model.parameters, model.spec, encoded.X, ROWS, encoded.width);

    // Scores that spread over (0, 1), so the comparison means something.
    expect(spread(reference)).toBeGreaterThan(0.05);
    expect(maxAbsDiff(scores, reference)).toBeLessThan(1e-6);
    expect(maxAbsDiff(scores, ours)).toBeLessThan(1e-6);
    // DOUBLE throughout: a FLOAT step anywhere would show as an error near 1e-8, not rounding near 1e-15.
    expect(maxAbsDiff(scores, reference)).toBeLessThan(1e-12);
  });

  it('names one input per column with the documented types and one DOUBLE output `score`', async () => {
    const model = cases[3]![1];
    const session = await ort.InferenceSession.create(exportOnnx(model, {}));
    try {
      const inputs = onnxInputs(model.preprocessing);
      expect(session.inputNames).toEqual(inputs.map((i) => i.name));
      expect(session.inputNames).toContain('marital_status');
      // The column named like the output is renamed; the output keeps its name.
      expect(session.inputNames).toContain('score_2');
      expect(session.outputNames).toEqual(['score']);
      const types = Object.fromEntries(
        session.inputMetadata.map((m) => [m.name, m.isTensor ? [m.type, m.shape] : null]),
      );
      expect(types['x0']).toEqual(['float64', ['N', 1]]);
      expect(types['job']).toEqual(['string', ['N', 1]]);
      expect(session.outputMetadata.map((m) => (m.isTensor ? [m.name, m.type, m.shape] : null))).toEqual([
        ['score', 'float64', ['N', 1]],
      ]);
    } finally {
      await session.release();
    }
  });

  it('keeps internal names clear of awkward column names (the output name, the internal prefix, non-C90)', async () => {
    const names = ['score', 'accord_c0_mean', 'accord__features', '2024 income (€)', 'a b', 'a_b', 'x3'];
    const columns: PreparedColumn[] = names.map((name, k) => ({
      name,
      kind: 'numeric',
      ...stats(raw.get(credit.names[k]!)!),
    }));
    const local = new Map<string, RawCell[]>(names.map((name, k) => [name, raw.get(credit.names[k]!)!]));
    const model = trained({ type: 'mlp', hidden: [4] }, columns);
    expect(onnxInputs(model.preprocessing).map((i) => i.name)).toEqual([
      'score_2',
      'accord_c0_mean',
      'accord__features',
      '_2024_income____',
      'a_b',
      'a_b_2',
      'x3',
    ]);
    const scores = await ortScores(exportOnnx(model, {}), model, local, ROWS);
    expect(maxAbsDiff(scores, referenceScores(model, local, ROWS))).toBeLessThan(1e-12);
  });

  it('treats a std of 0 as 1, as models/types.ts documents', async () => {
    const model = trained({ type: 'logistic' }, [{ name: 'x0', kind: 'numeric', mean: 0.25, std: 0 }]);
    const scores = await ortScores(exportOnnx(model, {}), model, raw, ROWS);
    expect(maxAbsDiff(scores, referenceScores(model, raw, ROWS))).toBeLessThan(1e-12);
  });
});

describe('exportOnnx metadata and header', () => {
  const model = cases[3]![1];
  const metadata = { 'model-id': 'model-0042', job: 'job-2024-0007', round: '12', note: 'Zoë ✓' };

  it('writes metadata_props sorted by key, producer accord, IR 8, opsets ai.onnx 17 and ai.onnx.ml 3', () => {
    // ONNX Runtime for Node exposes no metadata_props: the test reads the ModelProto fields from the bytes.
    const bytes = exportOnnx(model, metadata);
    expect(varintField(bytes, 1)).toBe(BigInt(ONNX_IR_VERSION));
    expect(strings(bytes, 2)).toEqual(['accord']);
    expect(strings(bytes, 3)).toEqual(['1']);
    const entries = messages(bytes, 14).map((entry) => [strings(entry, 1)[0], strings(entry, 2)[0]]);
    expect(entries).toEqual(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : 1)));
    const opsets = messages(bytes, 8).map((op) => [strings(op, 1)[0], Number(varintField(op, 2))]);
    expect(opsets).toEqual([
      ['', ONNX_OPSET],
      [ONNX_ML_DOMAIN, 3],
    ]);
  });

  it('records each input’s column name as its doc_string', () => {
    const graph = messages(exportOnnx(model, metadata), 7)[0]!;
    const inputs = messages(graph, 11).map((info) => [strings(info, 1)[0], strings(info, 3)[0]]);
    expect(inputs).toEqual(onnxInputs(model.preprocessing).map((i) => [i.name, i.column]));
  });

  it('gives identical bytes whatever the order of the metadata keys', () => {
    const reversed = Object.fromEntries(Object.entries(metadata).reverse());
    expect(Buffer.from(exportOnnx(model, reversed)).equals(Buffer.from(exportOnnx(model, metadata)))).toBe(
      true,
    );
  });

  it('imports ai.onnx.ml only when a categorical column lists categories', () => {
    const bytes = exportOnnx(cases[0]![1], {});
    expect(messages(bytes, 8).map((op) => strings(op, 1)[0])).toEqual(['']);
  });
});

describe('onnxFeeds', () => {
  const preprocessing = {
    columns: [
      { name: 'age', kind: 'numeric', mean: 40, std: 10 },
      { name: 'job', kind: 'categorical', categories: ['admin.'] },
    ] satisfies PreparedColumn[],
  };

  it('applies the preprocessing cell rules: missing numeric → NaN, categories trimmed, missing → empty', () => {
    const columns = new Map<string, RawCell[]>([
      ['age', [31, null, ' 42.5 ', '', 'n/a', true, Number.POSITIVE_INFINITY]],
      ['job', [' admin. ', null, 'x', 7, false, '', 'admin.']],
    ]);
    const [age, job] = onnxFeeds(preprocessing, columns, 7);
    expect(age).toEqual({
      name: 'age',
      type: 'double',
      data: Float64Array.from([31, Number.NaN, 42.5, Number.NaN, Number.NaN, 1, Number.NaN]),
    });
    expect(job).toEqual({
      name: 'job',
      type: 'string',
      data: ['admin.', '', 'x', '7', 'false', '', 'admin.'],
    });
  });

  it('refuses an absent column or a wrong row count', () => {
    expect(() => onnxFeeds(preprocessing, new Map([['age', [1]]]), 1)).toThrow(RangeError);
    const columns = new Map<string, RawCell[]>([
      ['age', [1, 2]],
      ['job', ['a']],
    ]);
    expect(() => onnxFeeds(preprocessing, columns, 2)).toThrow(RangeError);
  });
});

describe('exportOnnx refuses an inconsistent model', () => {
  const age: PreparedColumn = { name: 'age', kind: 'numeric', mean: 40, std: 10 };
  const logistic = (
    columns: PreparedColumn[],
    parameters = new Float64Array(width(columns) + 1),
  ): TrainedModel => ({
    spec: { type: 'logistic' },
    preprocessing: { columns },
    parameters,
  });
  const invalid: [string, TrainedModel][] = [
    ['too few parameters', logistic([age], new Float64Array(1))],
    ['a non-finite parameter', logistic([age], Float64Array.from([Number.NaN, 0]))],
    ['a repeated column name', logistic([age, age])],
    ['a non-finite mean', logistic([{ ...age, mean: Number.POSITIVE_INFINITY }])],
    ['a negative std', logistic([{ ...age, std: -1 }])],
    ['a repeated category', logistic([{ name: 'job', kind: 'categorical', categories: ['a', 'a'] }])],
    ['the empty category', logistic([{ name: 'job', kind: 'categorical', categories: ['a', ''] }])],
    [
      'a hidden size of 0',
      {
        spec: { type: 'mlp', hidden: [0] },
        preprocessing: { columns: [age] },
        parameters: new Float64Array(1),
      },
    ],
    ['no column', logistic([])],
  ];

  it.each(invalid)('%s', (_, model) => {
    expect(() => exportOnnx(model, {})).toThrow(RangeError);
  });
});
