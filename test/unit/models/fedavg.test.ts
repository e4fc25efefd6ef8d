/**
 * FedAvg: the plain reference equals the row-weighted mean, the secure-aggregation form (contributions summed, then
 * divided by the summed weight) agrees with it, also after fixed-point rounding as secure aggregation would apply,
 * and one full-batch SGD step per member averaged by FedAvg equals one full-batch step on the pooled rows.
 */
import { describe, expect, it } from 'vitest';
import { fedAvg, fedAvgContribution, fedAvgFromSum } from '../../../models/fedavg.js';
import { initialParameters } from '../../../models/network.js';
import { SeededRandom } from '../../../models/random.js';
import { trainLocal } from '../../../models/train-local.js';
import type { ModelSpec } from '../../../models/types.js';

const MEMBERS = [
  { parameters: Float64Array.of(1, -2, 0.5), rows: 100 },
  { parameters: Float64Array.of(3, 0, -0.5), rows: 300 },
  { parameters: Float64Array.of(-1, 4, 2), rows: 600 },
];
// (100·p1 + 300·p2 + 600·p3) / 1000, worked by hand.
const POOLED_MEAN = [(100 + 900 - 600) / 1000, (-200 + 0 + 2400) / 1000, (50 - 150 + 1200) / 1000];

function expectClose(actual: Float64Array, expected: ArrayLike<number>, tolerance: number) {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++)
    expect(Math.abs(actual[k]! - expected[k]!)).toBeLessThanOrEqual(tolerance);
}

describe('FedAvg', () => {
  it('weights each member by its rows', () => {
    expectClose(fedAvg(MEMBERS), POOLED_MEAN, 1e-15);
  });

  it('agrees in the secure-aggregation form: Σ θ·w then Σ w, divided', () => {
    const rowsScale = 2000;
    const contributions = MEMBERS.map((m) => fedAvgContribution(m.parameters, m.rows, rowsScale));
    expect(Array.from(contributions[0]!)).toEqual([0.05, -0.1, 0.025, 0.05]);
    const sum = new Float64Array(4);
    for (const c of contributions) {
      c.forEach((v, k) => {
        sum[k]! += v;
      });
    }
    expect(sum[3]).toBeCloseTo(0.5, 15);
    expectClose(fedAvgFromSum(sum), fedAvg(MEMBERS), 1e-14);
  });

  it('survives fixed-point rounding of every lane (2^-24 steps, summed as integers)', () => {
    const scale = 2 ** 24;
    const sum = new Array<bigint>(4).fill(0n);
    for (const m of MEMBERS) {
      fedAvgContribution(m.parameters, m.rows, 5000).forEach((v, k) => {
        sum[k] = sum[k]! + BigInt(Math.round(v * scale));
      });
    }
    const decoded = Float64Array.from(sum, (v) => Number(v) / scale);
    expectClose(fedAvgFromSum(decoded), POOLED_MEAN, 1e-5);
  });

  it('rejects rows above the public bound, no rows, and mismatched lengths', () => {
    expect(() => fedAvgContribution(Float64Array.of(1), 11, 10)).toThrow(RangeError);
    expect(() => fedAvgContribution(Float64Array.of(1), 1, 0)).toThrow(RangeError);
    expect(() => fedAvgFromSum(Float64Array.of(1, 0))).toThrow(RangeError);
    expect(() => fedAvg([])).toThrow(RangeError);
    expect(() => fedAvg([{ parameters: Float64Array.of(1), rows: 0 }])).toThrow(RangeError);
    expect(() => fedAvg([MEMBERS[0]!, { parameters: Float64Array.of(1), rows: 5 }])).toThrow(RangeError);
  });

  it('of one full-batch SGD step per member equals one full-batch step on the pooled rows', () => {
    const spec: ModelSpec = { type: 'mlp', hidden: [5] };
    const width = 4;
    const random = new SeededRandom('fedsgd');
    const sizes = [7, 13, 20];
    const parts = sizes.map((rows) => ({
      rows,
      X: new Float64Array(rows * width).map(() => random.uniform() * 2 - 1),
      y: new Uint8Array(rows).map(() => random.below(2)),
    }));
    const start = initialParameters(spec, width, 'fedsgd start');
    const settings = { spec, width, epochs: 1, learningRate: 0.3, l2: 0.01, parameters: start, seed: 's' };
    const local = parts.map((p) => trainLocal({ ...settings, ...p, batchSize: p.rows }));
    const pooledRows = 40;
    const X = new Float64Array(pooledRows * width);
    const y = new Uint8Array(pooledRows);
    let at = 0;
    for (const p of parts) {
      X.set(p.X, at * width);
      y.set(p.y, at);
      at += p.rows;
    }
    const pooled = trainLocal({ ...settings, X, y, rows: pooledRows, batchSize: pooledRows });
    expectClose(fedAvg(local), pooled.parameters, 1e-12);
  });
});
