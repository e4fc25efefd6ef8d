/**
 * What each aggregation of a horizontal job sums, and its encoding in the ring (models/federated/aggregates.ts), on
 * a realistic spec: 23 numeric columns and one categorical, logistic regression and an MLP with one hidden layer of
 * 32. Three banks' contributions are encoded, added lane by lane mod 2^32 (what secure aggregation yields once the
 * masks are gone) and decoded: the result is the float sum within the codec's resolution. The round plan every
 * party derives from the spec and the members is one plan, whoever computes it, and refuses too few members.
 *
 * Expected values come from the data drawn here and from the layout the module documents (3 sums per numeric
 * column, 1 per categorical, 2 row counts; P + 2 train values; 2 x 1000 histogram bins + 2 eval values; 128-bit
 * stats and 64-bit eval integers in 16-bit limbs, 2^-16 resolution; the train codec's resolution the finest that
 * lets 16 members' clipped values sum in a signed 32-bit lane).
 */
import { describe, expect, it } from 'vitest';
import { fedAvgContribution } from '../../../models/fedavg.js';
import {
  aggregationLanes,
  aggregationPlan,
  aggregationValues,
  decodeAggregate,
  encodeAggregate,
  specWidth,
} from '../../../models/federated/aggregates.js';
import { evaluationSums } from '../../../models/metrics.js';
import type { AggregationId, AggregationTask } from '../../../primitives/training/job-protocol.js';
import {
  type HorizontalSpec as TrainingSpec,
  horizontalSpecSchema as trainingSpecSchema,
} from '../../../primitives/training/spec.js';
import { thrown } from '../../helpers/thrown.js';
import { seeded } from './job-harness.js';

const NUMERIC = 23;
const REGIONS = ['north', 'south', 'east', 'west'];
const BANKS = ['bank-a', 'bank-b', 'bank-c'] as const;
/** Training rows per bank. */
const ROWS = { 'bank-a': 4_000, 'bank-b': 6_500, 'bank-c': 1_800 } as const;
const TOTAL_ROWS = ROWS['bank-a'] + ROWS['bank-b'] + ROWS['bank-c'];
const EVAL_BINS = 1000;

type Model = { type: 'logistic' } | { type: 'mlp'; hidden: number[] };
const MODELS: [string, Model][] = [
  ['logistic', { type: 'logistic' }],
  ['mlp [32]', { type: 'mlp', hidden: [32] }],
];

function creditSpec(model: Model, overrides: Record<string, unknown> = {}): TrainingSpec {
  return trainingSpecSchema.parse({
    kind: 'horizontal',
    label: 'default_12m',
    model,
    rounds: 5,
    learningRate: 0.05,
    validation: { fraction: 0.2, seed: 11 },
    minParticipants: 2,
    purpose: 'risk',
    features: [
      ...Array.from({ length: NUMERIC }, (_, i) => ({
        name: `x${String(i).padStart(2, '0')}`,
        kind: 'numeric',
      })),
      { name: 'region', kind: 'categorical', categories: REGIONS },
    ],
    initSeed: 'c3'.repeat(32),
    ...overrides,
  });
}

/** Inputs of the network: one per numeric column, one per declared category plus "other". */
const WIDTH = NUMERIC + REGIONS.length + 1;
/** Independent of models/network.ts: weights and biases of each layer. */
function parameters(model: Model): number {
  const sizes = [WIDTH, ...(model.type === 'mlp' ? model.hidden : []), 1];
  let p = 0;
  for (let l = 0; l + 1 < sizes.length; l++) p += sizes[l]! * sizes[l + 1]! + sizes[l + 1]!;
  return p;
}

/** The train codec's fraction bits: the largest f <= 30 with 16 * ceil(clip * 2^f) < 2^31. */
function trainFractionBits(clip: number): number {
  for (let f = 30; f >= 0; f--) if (16 * Math.ceil(clip * 2 ** f) < 2 ** 31) return f;
  throw new Error('no resolution fits');
}

/** The most a decoded sum of `members` encodings may differ from the sum of the (clamped) values, per value. */
function quantum(spec: TrainingSpec, task: AggregationTask, members: number): number {
  const f = task === 'train' ? trainFractionBits(spec.clip) : 16;
  return members * 2 ** -(f + 1);
}

/** Lane-wise sum mod 2^32, as the unmasked secure-aggregation sum. */
function ringSum(vectors: readonly Uint32Array[]): Uint32Array {
  const out = new Uint32Array(vectors[0]!.length);
  for (const v of vectors) for (let i = 0; i < out.length; i++) out[i] = (out[i]! + v[i]!) >>> 0;
  return out;
}

function floatSum(vectors: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(vectors[0]!.length);
  for (const v of vectors) for (let i = 0; i < out.length; i++) out[i] = out[i]! + v[i]!;
  return out;
}

/** Every decoded value within the codec's bound of the float sum (plus a few ulps of the float sum itself). */
function expectSumWithin(decoded: Float64Array, expected: Float64Array, bound: number): void {
  expect(decoded.length).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess =
      Math.abs(decoded[i]! - expected[i]!) - (bound + 4 * Number.EPSILON * Math.abs(expected[i]!));
    if (excess > worst) {
      worst = excess;
      at = i;
    }
  }
  expect(at, `value ${at} is off by ${worst} beyond the bound ${bound}`).toBe(-1);
}

/** A bank's preprocessing sums: per numeric column Σx, Σx², n; per categorical its "other" rows; rows; positives. */
function statsOf(bank: (typeof BANKS)[number], seed: number): Float64Array {
  const next = seeded(seed);
  const rows = ROWS[bank];
  const out: number[] = [];
  for (let c = 0; c < NUMERIC; c++) {
    // Columns of very different scales: balances in the hundreds of thousands, ratios, small counts.
    const scale = [250_000, 1, 30][c % 3]!;
    let sum = 0;
    let squares = 0;
    let n = 0;
    for (let r = 0; r < rows; r++) {
      if (next() < 0.02) continue; // a missing cell
      const x = scale === 1 ? next() : Math.round(next() * scale * 100) / 100;
      sum += x;
      squares += x * x;
      n++;
    }
    out.push(sum, squares, n);
  }
  out.push(Math.floor(next() * 40)); // region values outside the declared list
  out.push(rows, Math.round(rows * (0.05 + 0.1 * next())));
  return Float64Array.from(out);
}

/** A bank's train contribution: its parameters x rows / total, the weight, the loss x weight. */
function trainOf(bank: (typeof BANKS)[number], model: Model, seed: number): Float64Array {
  const next = seeded(seed);
  const p = new Float64Array(parameters(model));
  for (let i = 0; i < p.length; i++) p[i] = (next() * 2 - 1) * 3;
  const contribution = fedAvgContribution(p, ROWS[bank], TOTAL_ROWS);
  const out = new Float64Array(contribution.length + 1);
  out.set(contribution);
  out[contribution.length] = (0.3 + 0.2 * next()) * (ROWS[bank] / TOTAL_ROWS);
  return out;
}

/** A bank's eval contribution: score histograms per label, log-loss sum, then the values it clipped. */
function evalOf(bank: (typeof BANKS)[number], seed: number): Float64Array {
  const next = seeded(seed);
  const rows = Math.round(ROWS[bank] / 4);
  const scores = new Float64Array(rows);
  const labels = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    labels[r] = next() < 0.1 ? 1 : 0;
    scores[r] = Math.min(0.999, Math.max(0.001, labels[r]! * 0.3 + next() * 0.7));
  }
  const out = new Float64Array(2 * EVAL_BINS + 2);
  out.set(evaluationSums(scores, labels, EVAL_BINS));
  out[2 * EVAL_BINS + 1] = Math.floor(next() * 3);
  return out;
}

function contributions(model: Model, task: AggregationTask): Float64Array[] {
  return BANKS.map((bank, i) => {
    const seed = 1000 * (i + 1) + ['stats', 'train', 'eval'].indexOf(task);
    if (task === 'stats') return statsOf(bank, seed);
    if (task === 'train') return trainOf(bank, model, seed);
    return evalOf(bank, seed);
  });
}

const id = (task: AggregationTask, round = task === 'stats' ? 0 : 1): AggregationId => ({
  jobId: '3f0c1a52-6f41-4d7e-9a36-0b8c52d4e7aa',
  task,
  round,
});

describe('the lengths each task declares', () => {
  it.each(MODELS)('follow from the spec alone (%s)', (_name, model) => {
    const spec = creditSpec(model);
    expect(specWidth(spec)).toBe(WIDTH);
    expect(aggregationValues(spec, 'stats')).toBe(3 * NUMERIC + 1 + 2);
    expect(aggregationValues(spec, 'train')).toBe(parameters(model) + 2);
    expect(aggregationValues(spec, 'eval')).toBe(2 * EVAL_BINS + 2);
    // 128-bit stats and 64-bit eval integers in 16-bit limbs, one lane per train value.
    expect(aggregationLanes(spec, 'stats')).toBe(8 * (3 * NUMERIC + 3));
    expect(aggregationLanes(spec, 'train')).toBe(parameters(model) + 2);
    expect(aggregationLanes(spec, 'eval')).toBe(4 * (2 * EVAL_BINS + 2));
  });
});

describe('encoding three banks, adding in the ring and decoding', () => {
  const tasks: AggregationTask[] = ['stats', 'train', 'eval'];
  for (const [name, model] of MODELS) {
    it.each(tasks)(`gives the float sum within the codec's bound: %s, ${name}`, (task) => {
      const spec = creditSpec(model);
      const values = contributions(model, task);
      const encoded = values.map((v) => encodeAggregate(spec, task, v));
      for (const e of encoded) {
        expect(e.lanes).toBeInstanceOf(Uint32Array);
        expect(e.lanes.length).toBe(aggregationLanes(spec, task));
        expect(e.clipped).toBe(0);
      }
      const decoded = decodeAggregate(spec, task, ringSum(encoded.map((e) => e.lanes)));
      expectSumWithin(decoded, floatSum(values), quantum(spec, task, BANKS.length));
    });
  }

  it('the bound is tight enough to matter: one bank left out is far outside it', () => {
    const spec = creditSpec({ type: 'logistic' });
    const values = contributions({ type: 'logistic' }, 'train');
    const lanes = values.slice(0, 2).map((v) => encodeAggregate(spec, 'train', v).lanes);
    const decoded = decodeAggregate(spec, 'train', ringSum(lanes));
    const expected = floatSum(values);
    const off = decoded.reduce(
      (n, d, i) => n + (Math.abs(d - expected[i]!) > quantum(spec, 'train', 3) ? 1 : 0),
      0,
    );
    expect(off).toBeGreaterThan(values[0]!.length / 2);
  });

  it('train values resolve to 2^-21 with the default clip of 32 (16 members x 32 x 2^21 = 2^30)', () => {
    const spec = creditSpec({ type: 'logistic' });
    const n = aggregationValues(spec, 'train');
    const values = new Float64Array(n);
    values[0] = 2 ** -21;
    values[1] = -(2 ** -21);
    values[2] = 32 - 2 ** -21;
    const decoded = decodeAggregate(spec, 'train', encodeAggregate(spec, 'train', values).lanes);
    expect(decoded[0]).toBe(2 ** -21);
    expect(decoded[1]).toBe(-(2 ** -21));
    expect(decoded[2]).toBe(32 - 2 ** -21);
  });

  it('sixteen members at the clip still sum without wrapping (the bound the train codec is sized for)', () => {
    const spec = creditSpec({ type: 'logistic' });
    const n = aggregationValues(spec, 'train');
    const high = new Float64Array(n).fill(spec.clip);
    const low = new Float64Array(n).fill(-spec.clip);
    const sumHigh = decodeAggregate(
      spec,
      'train',
      ringSum(Array.from({ length: 16 }, () => encodeAggregate(spec, 'train', high).lanes)),
    );
    const sumLow = decodeAggregate(
      spec,
      'train',
      ringSum(Array.from({ length: 16 }, () => encodeAggregate(spec, 'train', low).lanes)),
    );
    expect([...sumHigh].every((v) => v === 16 * spec.clip)).toBe(true);
    expect([...sumLow].every((v) => v === -16 * spec.clip)).toBe(true);
  });
});

describe('clipping', () => {
  it.each(MODELS)('counts the train values beyond the spec clip and clamps them (%s)', (_name, model) => {
    const spec = creditSpec(model, { clip: 4 });
    const n = aggregationValues(spec, 'train');
    const values = new Float64Array(n).fill(0.25);
    values[0] = 4; // exactly the clip: kept
    values[1] = -4;
    values[2] = 4.000001;
    values[3] = -9;
    values[n - 1] = 1e6;
    values[n - 2] = Number.NEGATIVE_INFINITY;
    const { lanes, clipped } = encodeAggregate(spec, 'train', values);
    expect(clipped).toBe(4);
    const decoded = decodeAggregate(spec, 'train', lanes);
    expect([decoded[0], decoded[1], decoded[2], decoded[3]]).toEqual([4, -4, 4, -4]);
    expect(decoded[n - 1]).toBe(4);
    expect(decoded[n - 2]).toBe(-4);
    expect(decoded[4]).toBe(0.25);
  });

  it('a smaller clip buys a finer resolution', () => {
    const narrow = creditSpec({ type: 'logistic' }, { clip: 1 });
    const values = new Float64Array(aggregationValues(narrow, 'train'));
    values[0] = 2 ** -26;
    expect(decodeAggregate(narrow, 'train', encodeAggregate(narrow, 'train', values).lanes)[0]).toBe(
      2 ** -26,
    );
    const wide = creditSpec({ type: 'logistic' }, { clip: 32 });
    expect(decodeAggregate(wide, 'train', encodeAggregate(wide, 'train', values).lanes)[0]).toBe(0);
  });

  it('never clips stats or eval values: sums of squares of raw amounts pass through whole', () => {
    const spec = creditSpec({ type: 'logistic' });
    const stats = new Float64Array(aggregationValues(spec, 'stats'));
    stats[0] = 3.2e9;
    stats[1] = 4.1e22; // Σx² of balances over millions of rows
    stats[2] = 2_000_000;
    const encoded = encodeAggregate(spec, 'stats', stats);
    expect(encoded.clipped).toBe(0);
    const decoded = decodeAggregate(spec, 'stats', encoded.lanes);
    expect(decoded[0]).toBe(3.2e9);
    expect(Math.abs(decoded[1]! - 4.1e22)).toBeLessThanOrEqual(4.1e22 * Number.EPSILON);
    expect(decoded[2]).toBe(2_000_000);
    const evals = new Float64Array(aggregationValues(spec, 'eval')).fill(250_000);
    expect(encodeAggregate(spec, 'eval', evals).clipped).toBe(0);
  });

  it('refuses values a codec cannot hold instead of wrapping them', () => {
    const spec = creditSpec({ type: 'logistic' });
    const train = new Float64Array(aggregationValues(spec, 'train'));
    train[3] = Number.NaN;
    expect(() => encodeAggregate(spec, 'train', train)).toThrow(RangeError);
    const evals = new Float64Array(aggregationValues(spec, 'eval'));
    evals[5] = 2 ** 48; // 64-bit integers at 2^-16: |v| must stay below 2^47
    expect(() => encodeAggregate(spec, 'eval', evals)).toThrow(RangeError);
    const stats = new Float64Array(aggregationValues(spec, 'stats'));
    stats[0] = Number.POSITIVE_INFINITY;
    expect(() => encodeAggregate(spec, 'stats', stats)).toThrow(RangeError);
  });
});

describe('wrong lengths', () => {
  const tasks: AggregationTask[] = ['stats', 'train', 'eval'];
  it.each(tasks)('throw when encoding or decoding a %s vector of another length', (task) => {
    const spec = creditSpec({ type: 'mlp', hidden: [32] });
    const values = aggregationValues(spec, task);
    const lanes = aggregationLanes(spec, task);
    for (const n of [0, values - 1, values + 1])
      expect(() => encodeAggregate(spec, task, new Float64Array(n))).toThrow(RangeError);
    for (const n of [0, lanes - 1, lanes + 1])
      expect(() => decodeAggregate(spec, task, new Uint32Array(n))).toThrow(RangeError);
    // Another model's train vector is not this one's.
    if (task === 'train') {
      const logistic = creditSpec({ type: 'logistic' });
      const other = encodeAggregate(
        logistic,
        'train',
        new Float64Array(aggregationValues(logistic, 'train')),
      );
      expect(() => decodeAggregate(spec, 'train', other.lanes)).toThrow(RangeError);
    }
  });
});

describe('the round plan of an aggregation', () => {
  const members = ['bank-a', 'bank-b', 'bank-c', 'bank-d'];
  const digest = (spec: TrainingSpec, aggregation: AggregationId, m: readonly string[]) =>
    Buffer.from(aggregationPlan(spec, aggregation, m).digest).toString('hex');

  it('is the same whoever computes it, whatever the order of the members', () => {
    const spec = creditSpec({ type: 'mlp', hidden: [32] });
    for (const task of ['stats', 'train', 'eval'] as const) {
      const a = aggregationPlan(spec, id(task), members);
      const b = aggregationPlan(creditSpec({ type: 'mlp', hidden: [32] }), id(task), [...members].reverse());
      const c = aggregationPlan(spec, id(task), ['bank-c', 'bank-a', 'bank-d', 'bank-b']);
      expect(Buffer.from(b.digest).equals(Buffer.from(a.digest))).toBe(true);
      expect(Buffer.from(c.digest).equals(Buffer.from(a.digest))).toBe(true);
      expect(b.participants).toEqual(members);
      expect(a.lanes).toBe(aggregationLanes(spec, task));
    }
  });

  it('differs when the vector length differs', () => {
    const logistic = creditSpec({ type: 'logistic' });
    const mlp = creditSpec({ type: 'mlp', hidden: [32] });
    const wider = creditSpec({ type: 'mlp', hidden: [33] });
    expect(digest(mlp, id('train'), members)).not.toBe(digest(logistic, id('train'), members));
    expect(digest(wider, id('train'), members)).not.toBe(digest(mlp, id('train'), members));
    const moreRegions = creditSpec(
      { type: 'logistic' },
      {
        features: [
          ...logistic.features.slice(0, NUMERIC),
          { name: 'region', kind: 'categorical', categories: [...REGIONS, 'islands'] },
          { name: 'channel', kind: 'categorical', categories: ['branch', 'online'] },
        ],
      },
    );
    expect(digest(moreRegions, id('stats'), members)).not.toBe(digest(logistic, id('stats'), members));
    // Stats and eval do not depend on the model: same lanes, same plan.
    expect(digest(mlp, id('stats'), members)).toBe(digest(logistic, id('stats'), members));
    expect(digest(mlp, id('eval'), members)).toBe(digest(logistic, id('eval'), members));
  });

  it('differs when the members, the task, the round or the job differ', () => {
    const spec = creditSpec({ type: 'logistic' });
    const base = digest(spec, id('train'), members);
    expect(digest(spec, id('train'), ['bank-a', 'bank-b', 'bank-c', 'bank-e'])).not.toBe(base);
    expect(digest(spec, id('train'), members.slice(0, 3))).not.toBe(base);
    expect(digest(spec, id('train', 2), members)).not.toBe(base);
    expect(digest(spec, { ...id('train'), jobId: '9d3a8e43-21b5-4c2f-8f0e-5b7d9e1c2a44' }, members)).not.toBe(
      base,
    );
    // Eval lanes are not train lanes; the session names the task anyway.
    expect(digest(spec, id('eval'), members)).not.toBe(base);
  });

  it('asks for at least minParticipants survivors', () => {
    const spec = creditSpec({ type: 'logistic' }, { minParticipants: 4 });
    const plan = aggregationPlan(spec, id('train'), [...members, 'bank-e']);
    expect(plan.minSurvivors).toBeGreaterThanOrEqual(4);
    expect(plan.quorum).toBeGreaterThanOrEqual(4);
  });

  it('refuses fewer members than minParticipants with ACCORD_SECAGG_TOO_FEW_SURVIVORS', () => {
    const spec = creditSpec({ type: 'logistic' }, { minParticipants: 3 });
    expect(aggregationPlan(spec, id('train'), members.slice(0, 3)).participants).toHaveLength(3);
    const err = thrown(() => aggregationPlan(spec, id('train'), members.slice(0, 2)));
    expect(err.code).toBe('ACCORD_SECAGG_TOO_FEW_SURVIVORS');
    expect(err.params).toMatchObject({ survivors: 2, needed: 3, round: 1 });
    // Never a round of one, whatever the spec says.
    const two = creditSpec({ type: 'logistic' }, { minParticipants: 2 });
    expect(thrown(() => aggregationPlan(two, id('stats'), ['bank-a'])).code).toBe(
      'ACCORD_SECAGG_TOO_FEW_SURVIVORS',
    );
  });
});
