/**
 * Vertical model parts against ONNX Runtime: three banks hold different columns of the same aligned customers
 * (test/fixtures/breast_hetero_*.csv, 569 rows: the label holder the guest file's x0..x9 plus a bucketed categorical
 * column, two feature holders the host file's x0..x9 and x10..x19 plus a categorical column). Each part is exported
 * alone; the feature holders' `partial_logit` outputs are fed to the label holder's graph, whose `score` must match
 * `jointScores(partialLogits(…))`, with missing numeric cells, unlisted categories and missing categories.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { onnxFeeds } from '../../../models/onnx/feeds.js';
import { onnxInputs } from '../../../models/onnx/input-names.js';
import { exportVerticalPartOnnx } from '../../../models/onnx/vertical-export.js';
import { encodedWidth, localColumnStats, preprocessingFromSums } from '../../../models/preprocessing.js';
import type { FeatureColumn, RawCell, RawColumns } from '../../../models/types.js';
import {
  jointScores,
  PARTIAL_LOGIT_OUTPUT,
  partialInputName,
  partialLogits,
  partialLogitsEncoded,
  type VerticalPart,
} from '../../../models/vertical/part.js';
import { messages, strings } from './proto-reader.js';
import { maxAbsDiff, referenceScores, TestRandom } from './reference.js';

const random = new TestRandom(0x7e27);

/** A fixture CSV as numeric columns by header name (the breast files hold plain numbers, no quoting). */
function readCsv(file: string): Map<string, number[]> {
  const text = readFileSync(new URL(`../../fixtures/${file}`, import.meta.url), 'utf8');
  const [header, ...lines] = text.trim().split('\n');
  const names = header!.trim().split(',');
  const rows = lines.map((line) => line.trim().split(',').map(Number));
  return new Map(names.map((name, k) => [name, rows.map((row) => row[k]!)]));
}

const guest = readCsv('breast_hetero_guest.csv');
const host = readCsv('breast_hetero_host.csv');
const ROWS = guest.get('id')!.length;

/** About 1% of cells each null, NaN and blank (all missing), and 2% numbers written as strings. */
const withGaps = (xs: readonly number[]): RawCell[] =>
  xs.map((x) => {
    const u = random.next();
    return u < 0.01 ? null : u < 0.02 ? Number.NaN : u < 0.03 ? '' : u < 0.05 ? ` ${x} ` : x;
  });

/** Buckets by value, then some missing cells (null, '') and padded values (trimmed before comparison). */
const bucketed = (xs: readonly number[], edges: readonly number[], labels: readonly string[]): RawCell[] =>
  xs.map((x) => {
    const u = random.next();
    if (u < 0.02) return null;
    if (u < 0.04) return '';
    const label = labels[edges.filter((edge) => x >= edge).length]!;
    return u < 0.06 ? ` ${label} ` : label;
  });

const range = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, k) => `x${from + k}`);

interface Party {
  readonly member: string;
  readonly raw: RawColumns;
  readonly part: VerticalPart;
}

/** A party whose preprocessing comes from its own rows, as localColumnStats / preprocessingFromSums compute it. */
function party(
  member: string,
  raw: RawColumns,
  columns: readonly FeatureColumn[],
  role: VerticalPart['role'],
  partners: readonly string[],
  scale: number,
): Party {
  const preprocessing = preprocessingFromSums(columns, localColumnStats(columns, raw));
  const width = encodedWidth(preprocessing);
  const limit = scale * Math.sqrt(3 / width);
  const weights = Float64Array.from({ length: width }, () => random.symmetric(limit));
  const bias = role === 'label-holder' ? random.symmetric(0.5) : 0;
  return { member, raw, part: { role, preprocessing, weights, bias, partners } };
}

const numericColumns = (names: readonly string[]): FeatureColumn[] =>
  names.map((name) => ({ name, kind: 'numeric' }));

// Label holder (bank-a): guest x0..x9, and `size` from guest x0 in four buckets of which three are declared.
const guestRaw = new Map<string, RawCell[]>(range(0, 9).map((name) => [name, withGaps(guest.get(name)!)]));
guestRaw.set('size', bucketed(guest.get('x0')!, [-0.7, 0, 0.8], ['small', 'medium', 'large', 'huge']));
// Feature holder bank-b: host x0..x9.
const hostBRaw = new Map<string, RawCell[]>(range(0, 9).map((name) => [name, withGaps(host.get(name)!)]));
// Feature holder bank-c: host x10..x19, and `texture band` from host x11 (a column name that is not C90).
const hostCRaw = new Map<string, RawCell[]>(range(10, 19).map((name) => [name, withGaps(host.get(name)!)]));
hostCRaw.set('texture band', bucketed(host.get('x11')!, [-0.5, 0.5], ['fine', 'mid', 'coarse']));

// Weight scale 1/√3 per party so that the joint logit spreads scores over (0, 1) without saturating.
const SCALE = 1.5 / Math.sqrt(3);
const bankB = party('bank-b', hostBRaw, numericColumns(range(0, 9)), 'feature-holder', [], SCALE);
const bankC = party(
  'bank-c',
  hostCRaw,
  [
    ...numericColumns(range(10, 19)),
    { name: 'texture band', kind: 'categorical', categories: ['fine', 'mid', 'coarse'] },
  ],
  'feature-holder',
  [],
  SCALE,
);
const bankA = party(
  'bank-a',
  guestRaw,
  [
    ...numericColumns(range(0, 4)),
    { name: 'size', kind: 'categorical', categories: ['small', 'medium', 'large'] },
    ...numericColumns(range(5, 9)),
  ],
  'label-holder',
  ['bank-b', 'bank-c'],
  SCALE,
);

/** Runs `bytes` on `party`'s columns plus `extra` DOUBLE [rows, 1] inputs; returns every output by name. */
async function run(
  bytes: Uint8Array,
  { part, raw }: Party,
  extra: Readonly<Record<string, Float64Array>> = {},
): Promise<Record<string, Float64Array>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const feed of onnxFeeds(part.preprocessing, raw, ROWS)) {
      feeds[feed.name] =
        feed.type === 'double'
          ? new ort.Tensor('float64', feed.data, [ROWS, 1])
          : new ort.Tensor('string', feed.data, [ROWS, 1]);
    }
    for (const [name, data] of Object.entries(extra))
      feeds[name] = new ort.Tensor('float64', data, [ROWS, 1]);
    const result = await session.run(feeds);
    const out: Record<string, Float64Array> = {};
    for (const [name, tensor] of Object.entries(result)) {
      if (tensor.type !== 'float64') throw new Error(`${name} is ${tensor.type}, expected float64`);
      if (tensor.dims.join() !== `${ROWS},1`) throw new Error(`${name} has shape [${tensor.dims}]`);
      out[name] = tensor.data as Float64Array;
    }
    return out;
  } finally {
    await session.release();
  }
}

function spread(xs: Float64Array): number {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
}

/** The graph's nodes' op types and its initializers' names, read from the ModelProto bytes. */
function graphContents(bytes: Uint8Array): { ops: string[]; initializers: string[]; docs: string[][] } {
  const graph = messages(bytes, 7)[0]!;
  return {
    ops: messages(graph, 1).map((node) => strings(node, 4)[0]!),
    initializers: messages(graph, 5).map((tensor) => strings(tensor, 8)[0]!),
    docs: messages(graph, 11).map((info) => [strings(info, 1)[0]!, strings(info, 3)[0]!]),
  };
}

describe('vertical parts scored by ONNX Runtime', () => {
  it('uses the aligned fixture rows, with missing cells and unlisted or missing categories', () => {
    expect(ROWS).toBe(569);
    expect(host.get('id')).toEqual(guest.get('id'));
    const missing = (cells: readonly RawCell[]) =>
      cells.filter((c) => c === null || c === '' || Number.isNaN(c)).length;
    expect(missing(guestRaw.get('x3')!)).toBeGreaterThan(5);
    expect(missing(hostCRaw.get('x15')!)).toBeGreaterThan(5);
    expect(guestRaw.get('size')!.filter((c) => c === 'huge').length).toBeGreaterThan(20);
    expect(missing(guestRaw.get('size')!)).toBeGreaterThan(5);
    expect(encodedWidth(bankA.part.preprocessing)).toBe(14);
    expect(encodedWidth(bankC.part.preprocessing)).toBe(14);
  });

  it('feeds the feature holders’ partial_logit to the label holder: score matches jointScores to 1e-6', async () => {
    const outB = await run(exportVerticalPartOnnx(bankB.part), bankB);
    const outC = await run(exportVerticalPartOnnx(bankC.part), bankC);
    const zB = partialLogits(bankB.part, bankB.raw, ROWS);
    const zC = partialLogits(bankC.part, bankC.raw, ROWS);
    expect(Object.keys(outB)).toEqual([PARTIAL_LOGIT_OUTPUT]);
    expect(maxAbsDiff(outB[PARTIAL_LOGIT_OUTPUT]!, zB)).toBeLessThan(1e-12);
    expect(maxAbsDiff(outC[PARTIAL_LOGIT_OUTPUT]!, zC)).toBeLessThan(1e-12);

    const outA = await run(exportVerticalPartOnnx(bankA.part), bankA, {
      [partialInputName('bank-b')]: outB[PARTIAL_LOGIT_OUTPUT]!,
      [partialInputName('bank-c')]: outC[PARTIAL_LOGIT_OUTPUT]!,
    });
    const zA = partialLogits(bankA.part, bankA.raw, ROWS);
    const expected = jointScores(zA, [zB, zC]);

    expect(spread(expected)).toBeGreaterThan(0.05);
    expect(maxAbsDiff(outA['score']!, expected)).toBeLessThan(1e-6);
    // DOUBLE throughout: a FLOAT step anywhere would show as an error near 1e-8, not rounding near 1e-15.
    expect(maxAbsDiff(outA['score']!, expected)).toBeLessThan(1e-12);
    expect(maxAbsDiff(outA[PARTIAL_LOGIT_OUTPUT]!, zA)).toBeLessThan(1e-12);
  });

  it('partialLogits agrees with the independent float64 reference of reference.ts', () => {
    // A part is a logistic model whose parameters are its weights then its bias: sigmoid(z) is that model's score.
    for (const { part, raw } of [bankA, bankB, bankC]) {
      const reference = referenceScores(
        {
          spec: { type: 'logistic' },
          preprocessing: part.preprocessing,
          parameters: Float64Array.from([...part.weights, part.bias]),
        },
        raw,
        ROWS,
      );
      expect(maxAbsDiff(jointScores(partialLogits(part, raw, ROWS), []), reference)).toBeLessThan(1e-12);
    }
  });

  it('scores a label holder without partners as sigmoid of its own logit', async () => {
    const alone: Party = { ...bankA, part: { ...bankA.part, partners: [] } };
    const out = await run(exportVerticalPartOnnx(alone.part), alone);
    const expected = jointScores(partialLogits(alone.part, alone.raw, ROWS), []);
    expect(maxAbsDiff(out['score']!, expected)).toBeLessThan(1e-12);
  });
});

describe('vertical part graphs: inputs, outputs, contents', () => {
  it('a feature holder has its column inputs, one output partial_logit, no score and no bias', async () => {
    const bytes = exportVerticalPartOnnx(bankC.part);
    const session = await ort.InferenceSession.create(bytes);
    try {
      expect(session.inputNames).toEqual(onnxInputs(bankC.part.preprocessing).map((i) => i.name));
      expect(session.inputNames).toContain('texture_band');
      expect(session.outputNames).toEqual([PARTIAL_LOGIT_OUTPUT]);
      expect(session.outputNames).not.toContain('score');
      expect(session.outputMetadata.map((m) => (m.isTensor ? [m.name, m.type, m.shape] : null))).toEqual([
        [PARTIAL_LOGIT_OUTPUT, 'float64', ['N', 1]],
      ]);
    } finally {
      await session.release();
    }
    const { ops, initializers } = graphContents(bytes);
    expect(ops).not.toContain('Add');
    expect(ops).not.toContain('Sigmoid');
    expect(ops.filter((op) => op === 'MatMul')).toHaveLength(1);
    expect(initializers.filter((name) => /bias/.test(name))).toEqual([]);
  });

  it('a label holder has its columns then one DOUBLE input per partner, and outputs score and partial_logit', async () => {
    const bytes = exportVerticalPartOnnx(bankA.part, { job: 'job-7' });
    const session = await ort.InferenceSession.create(bytes);
    try {
      expect(session.inputNames).toEqual([
        ...onnxInputs(bankA.part.preprocessing).map((i) => i.name),
        'partial_logit__bank_b',
        'partial_logit__bank_c',
      ]);
      const types = Object.fromEntries(
        session.inputMetadata.map((m) => [m.name, m.isTensor ? [m.type, m.shape] : null]),
      );
      expect(types['partial_logit__bank_b']).toEqual(['float64', ['N', 1]]);
      expect(types['size']).toEqual(['string', ['N', 1]]);
      expect(session.outputNames).toEqual(['score', PARTIAL_LOGIT_OUTPUT]);
    } finally {
      await session.release();
    }
    const { ops, initializers, docs } = graphContents(bytes);
    expect(ops.slice(-4)).toEqual(['Add', 'Add', 'Add', 'Sigmoid']);
    expect(initializers.filter((name) => /bias/.test(name))).toHaveLength(1);
    expect(docs.slice(-2)).toEqual([
      ['partial_logit__bank_b', 'bank-b'],
      ['partial_logit__bank_c', 'bank-c'],
    ]);
  });

  it('names a partner input partial_logit__<member>, one-to-one, and refuses a non-member name', () => {
    expect(partialInputName('bank-b')).toBe('partial_logit__bank_b');
    expect(partialInputName('b2')).toBe('partial_logit__b2');
    for (const bad of ['', 'Bank-B', 'bank_b', '2bank', 'bank b']) {
      expect(() => partialInputName(bad)).toThrow(RangeError);
    }
  });
});

describe('vertical parts refuse inconsistent shapes', () => {
  const fewer = { ...bankB.part, weights: bankB.part.weights.subarray(1) };

  it('a weights length that is not the encoded width', () => {
    expect(() => partialLogits(fewer, bankB.raw, ROWS)).toThrow(RangeError);
    expect(() => exportVerticalPartOnnx(fewer)).toThrow(RangeError);
    expect(() => partialLogitsEncoded(new Float64Array(3), 0, new Float64Array(8), 4, 2)).toThrow(RangeError);
  });

  it('an X of the wrong length, a wrong row count, or partner logits of another length', () => {
    expect(() => partialLogitsEncoded(new Float64Array(4), 0, new Float64Array(7), 4, 2)).toThrow(RangeError);
    expect(() => partialLogits(bankB.part, bankB.raw, ROWS + 1)).toThrow(RangeError);
    expect(() => jointScores(new Float64Array(3), [new Float64Array(3), new Float64Array(2)])).toThrow(
      RangeError,
    );
  });

  const invalid: [string, VerticalPart][] = [
    ['a feature holder with a bias', { ...bankB.part, bias: 0.25 }],
    ['a feature holder with partners', { ...bankB.part, partners: ['bank-c'] }],
    ['a partner listed twice', { ...bankA.part, partners: ['bank-b', 'bank-b'] }],
    ['a partner that is not a member name', { ...bankA.part, partners: ['Bank B'] }],
    [
      'a non-finite weight',
      { ...bankB.part, weights: bankB.part.weights.map((w, i) => (i ? w : Number.NaN)) },
    ],
    ['a non-finite bias', { ...bankA.part, bias: Number.POSITIVE_INFINITY }],
    [
      'a column named like the partial_logit output',
      {
        role: 'feature-holder',
        preprocessing: { columns: [{ name: 'partial_logit', kind: 'numeric', mean: 0, std: 1 }] },
        weights: new Float64Array(1),
        bias: 0,
        partners: [],
      },
    ],
    [
      'a column named like a partner input',
      {
        role: 'label-holder',
        preprocessing: { columns: [{ name: 'partial_logit__bank_b', kind: 'numeric', mean: 0, std: 1 }] },
        weights: new Float64Array(1),
        bias: 0,
        partners: ['bank-b'],
      },
    ],
    [
      'no column',
      {
        role: 'label-holder',
        preprocessing: { columns: [] },
        weights: new Float64Array(0),
        bias: 0,
        partners: [],
      },
    ],
  ];

  it.each(invalid)('%s', (_, part) => {
    expect(() => exportVerticalPartOnnx(part)).toThrow(RangeError);
  });
});
