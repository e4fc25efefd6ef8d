/**
 * Local and pooled training: one full-batch step is θ − η·∇, runs repeat exactly from a seed, inputs stay unchanged,
 * and on the credit-default data a model trained on the guest's rows ranks host 1's rows with AUC >= 0.70.
 */
import { describe, expect, it } from 'vitest';
import { auc } from '../../../models/metrics.js';
import { initialParameters, lossAndGradient, parameterCount, predict } from '../../../models/network.js';
import { SeededRandom } from '../../../models/random.js';
import { trainCentral, trainLocal } from '../../../models/train-local.js';
import type { ModelSpec } from '../../../models/types.js';
import { creditData, encodePart, fittedOn } from './credit-data.js';

const SPEC: ModelSpec = { type: 'mlp', hidden: [4] };
const WIDTH = 3;
const ROWS = 50;
const random = new SeededRandom('train-local data');
const X = new Float64Array(ROWS * WIDTH).map(() => random.uniform() * 2 - 1);
// A learnable rule: label 1 when x0 + x1 > 0.
const y = new Uint8Array(ROWS).map((_, r) => (X[r * WIDTH]! + X[r * WIDTH + 1]! > 0 ? 1 : 0));
const BASE = { spec: SPEC, X, y, rows: ROWS, width: WIDTH, batchSize: 8, learningRate: 0.05, seed: 'order' };

describe('trainLocal', () => {
  it('takes one plain SGD step on the full batch as θ − η·∇loss', () => {
    const parameters = initialParameters(SPEC, WIDTH, 'start');
    const { gradient, loss } = lossAndGradient(parameters, SPEC, X, y, ROWS, WIDTH, 0.1);
    const result = trainLocal({
      ...BASE,
      parameters,
      epochs: 1,
      batchSize: ROWS,
      l2: 0.1,
      learningRate: 0.5,
    });
    const expected = parameters.map((p, k) => p - 0.5 * gradient[k]!);
    for (let k = 0; k < expected.length; k++) expect(result.parameters[k]).toBeCloseTo(expected[k]!, 14);
    expect(result.loss).toBeCloseTo(loss, 14);
    expect(result.rows).toBe(ROWS);
  });

  it('repeats exactly from a seed, depends on it, and leaves its inputs unchanged', () => {
    const parameters = initialParameters(SPEC, WIDTH, 'start');
    const copy = Float64Array.from(parameters);
    const a = trainLocal({ ...BASE, parameters, epochs: 2, optimizer: 'adam' });
    const b = trainLocal({ ...BASE, parameters, epochs: 2, optimizer: 'adam' });
    const c = trainLocal({ ...BASE, parameters, epochs: 2, optimizer: 'adam', seed: 'another order' });
    expect(b.parameters).toEqual(a.parameters);
    expect(c.parameters).not.toEqual(a.parameters);
    expect(parameters).toEqual(copy);
    expect(a.optimiserState.kind === 'adam' && a.optimiserState.step).toBe(2 * Math.ceil(ROWS / 8));
  });

  it('continues from a returned optimiser state and rejects one of another kind', () => {
    const parameters = initialParameters(SPEC, WIDTH, 'start');
    const first = trainLocal({ ...BASE, parameters, epochs: 1, optimizer: 'adam' });
    const second = trainLocal({
      ...BASE,
      parameters: first.parameters,
      epochs: 1,
      optimizer: 'adam',
      optimiserState: first.optimiserState,
    });
    expect(second.optimiserState.kind === 'adam' && second.optimiserState.step).toBe(2 * Math.ceil(ROWS / 8));
    expect(() =>
      trainLocal({ ...BASE, parameters, epochs: 1, optimiserState: first.optimiserState }),
    ).toThrow(RangeError);
  });

  it('rejects inconsistent shapes and settings', () => {
    const parameters = new Float64Array(parameterCount(SPEC, WIDTH));
    expect(() => trainLocal({ ...BASE, parameters: new Float64Array(3), epochs: 1 })).toThrow(RangeError);
    expect(() => trainLocal({ ...BASE, parameters, epochs: 0 })).toThrow(RangeError);
    expect(() => trainLocal({ ...BASE, parameters, epochs: 1, batchSize: 0 })).toThrow(RangeError);
    expect(() => trainLocal({ ...BASE, parameters, epochs: 1, y: new Uint8Array(3) })).toThrow(RangeError);
  });
});

describe('trainCentral', () => {
  it('reports one loss per epoch and learns a separable rule', () => {
    const result = trainCentral({ ...BASE, epochs: 40, optimizer: 'adam', learningRate: 0.05 });
    expect(result.epochLosses).toHaveLength(40);
    expect(result.epochLosses[39]!).toBeLessThan(result.epochLosses[0]! / 2);
    expect(auc(predict(result.parameters, SPEC, X, ROWS, WIDTH), y)).toBeGreaterThan(0.97);
  });

  it.each<[string, ModelSpec, 'sgd' | 'adam', number]>([
    ['logistic regression', { type: 'logistic' }, 'sgd', 0.1],
    ['an MLP 23→16→1', { type: 'mlp', hidden: [16] }, 'adam', 0.003],
  ])('trains %s on the guest that reaches AUC >= 0.70 on host 1', (_name, spec, optimizer, learningRate) => {
    const guest = creditData('guest');
    const preprocessing = fittedOn(guest);
    const train = encodePart(guest, preprocessing);
    const test = encodePart(creditData('host_1'), preprocessing);
    const model = trainCentral({
      ...train,
      spec,
      epochs: 5,
      batchSize: 64,
      learningRate,
      optimizer,
      seed: 'quality',
    });
    const score = auc(predict(model.parameters, spec, test.X, test.rows, test.width), test.y);
    expect(score).toBeGreaterThanOrEqual(0.7);
  });
});
