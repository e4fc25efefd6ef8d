/**
 * The parties' plaintext math of vertical logistic regression (models/vertical/coordinated-lr.ts): the shared batch
 * order, the fixed point, the residual, and the claim that each party stepping its own block is the pooled optimiser.
 */
import { describe, expect, it } from 'vitest';
import { createOptimiser } from '../../../models/optimiser.js';
import { sigmoid } from '../../../models/network.js';
import {
  epochBatches,
  FEATURE_BITS,
  fixedColumns,
  fixedLogits,
  gradientFromSum,
  LOGIT_BITS,
  newPartyModel,
  partyStep,
  residualOffsets,
  weightsOf,
} from '../../../models/vertical/coordinated-lr.js';

describe('vertical LR math', () => {
  it('cuts every epoch into the same batches for the same seed, a partition of the training rows, reshuffled each epoch', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => i * 3);
    const a = epochBatches('11'.repeat(32), 1, rows, 128);
    expect(epochBatches('11'.repeat(32), 1, rows, 128)).toEqual(a);
    expect(a.map((b) => b.length)).toEqual([...Array(7).fill(128), 1000 - 7 * 128]);
    expect(a.flat().sort((x, y) => x - y)).toEqual(rows);
    expect(epochBatches('11'.repeat(32), 2, rows, 128)).not.toEqual(a);
    expect(epochBatches('22'.repeat(32), 1, rows, 128)).not.toEqual(a);
    // A last batch under half the size joins the one before: no batch of a few rows.
    expect(epochBatches('11'.repeat(32), 1, rows, 300).map((b) => b.length)).toEqual([300, 300, 400]);
    expect(epochBatches('11'.repeat(32), 1, rows, 2000).map((b) => b.length)).toEqual([1000]);
  });

  it('encodes at the documented scales, with the intercept column at 1, and refuses values out of range', () => {
    const X = Float64Array.from([0.5, -1.25, 2, 0.001]);
    const columns = fixedColumns(X, 2, [1, 0], true);
    expect(columns.map((c) => Array.from(c))).toEqual([
      [BigInt(2 * 2 ** FEATURE_BITS), BigInt(0.5 * 2 ** FEATURE_BITS)],
      [BigInt(Math.round(0.001 * 2 ** FEATURE_BITS)), BigInt(-1.25 * 2 ** FEATURE_BITS)],
      [BigInt(2 ** FEATURE_BITS), BigInt(2 ** FEATURE_BITS)],
    ]);
    expect(Array.from(fixedLogits(Float64Array.from([-3.5])))).toEqual([BigInt(-3.5 * 2 ** LOGIT_BITS)]);
    expect(() => fixedLogits(Float64Array.from([2 ** 40]))).toThrow(RangeError);
    expect(() => fixedLogits(Float64Array.from([Number.NaN]))).toThrow(RangeError);
  });

  it('forms 4·(σ(z_A) − y) as the label holder’s part of the residual', () => {
    const zA = Float64Array.from([0, 2, -1]);
    const y = Uint8Array.from([9, 1, 0, 1]);
    const out = residualOffsets(zA, y, [1, 2, 3]);
    const expected = [4 * (sigmoid(0) - 1), 4 * (sigmoid(2) - 0), 4 * (sigmoid(-1) - 1)];
    expect(Array.from(out, (v) => Number(v) / 2 ** LOGIT_BITS).map((v, i) => v - expected[i]!)).toEqual(
      expected.map(() => expect.closeTo(0, 5)),
    );
    // A decrypted sum of x·4d at both scales over 10 rows is the mean gradient.
    expect(gradientFromSum(BigInt(10 * 4 * 0.75 * 2 ** (FEATURE_BITS + LOGIT_BITS)), 10)).toBe(0.75);
  });

  it.each(['sgd', 'adam'] as const)(
    'steps each party’s block exactly as %s steps the pooled vector',
    (kind) => {
      const optimiser = createOptimiser({ kind, learningRate: 0.05 });
      let a = newPartyModel(3, true, optimiser);
      let b = newPartyModel(2, false, optimiser);
      let pooled: { parameters: Float64Array; state: ReturnType<typeof optimiser.initialState> } = {
        parameters: new Float64Array(6),
        state: optimiser.initialState(6),
      };
      for (let t = 0; t < 5; t++) {
        const g = Float64Array.from({ length: 6 }, (_, j) => Math.sin(7 * t + j));
        a = partyStep(a, Float64Array.from([g[0]!, g[1]!, g[2]!, g[5]!]), optimiser, 0);
        b = partyStep(b, g.subarray(3, 5), optimiser, 0);
        pooled = optimiser.step(pooled.parameters, g, pooled.state);
      }
      const mine = [...weightsOf(a).weights, ...weightsOf(b).weights, weightsOf(a).bias];
      expect(mine).toEqual(Array.from(pooled.parameters));
    },
  );
});
