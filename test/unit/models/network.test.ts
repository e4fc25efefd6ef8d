/**
 * The network: parameter layout (checked by hand-built forward passes), a hand-computed logistic loss and gradient,
 * backpropagation against central finite differences for logistic regression and a two-hidden-layer MLP, numerical
 * stability at extreme logits, and the seeded initialisation.
 */
import { describe, expect, it } from 'vitest';
import {
  initialParameters,
  layerShapes,
  lossAndGradient,
  parameterCount,
  predict,
} from '../../../models/network.js';
import { SeededRandom } from '../../../models/random.js';
import type { ModelSpec } from '../../../models/types.js';
import vectors from '../../vectors/models/known-answers.json' with { type: 'json' };

const LOGISTIC: ModelSpec = { type: 'logistic' };

function randomData(rows: number, width: number, seed: string) {
  const random = new SeededRandom(seed);
  const X = new Float64Array(rows * width).map(() => 4 * random.uniform() - 2);
  const y = new Uint8Array(rows).map(() => random.below(2));
  return { X, y };
}

describe('layout', () => {
  it('counts weights and biases per layer', () => {
    expect(parameterCount(LOGISTIC, 23)).toBe(24);
    expect(parameterCount({ type: 'mlp', hidden: [32] }, 23)).toBe(23 * 32 + 32 + 32 + 1);
    expect(parameterCount({ type: 'mlp', hidden: [4, 3] }, 5)).toBe(5 * 4 + 4 + (4 * 3 + 3) + (3 + 1));
    expect(layerShapes({ type: 'mlp', hidden: [4, 3] }, 5)).toEqual([
      { inputs: 5, outputs: 4, weightsAt: 0, biasAt: 20, activation: 'relu' },
      { inputs: 4, outputs: 3, weightsAt: 24, biasAt: 36, activation: 'relu' },
      { inputs: 3, outputs: 1, weightsAt: 39, biasAt: 42, activation: 'sigmoid' },
    ]);
  });

  it('rejects a width or hidden size that is not a positive integer', () => {
    expect(() => layerShapes(LOGISTIC, 0)).toThrow(RangeError);
    expect(() => layerShapes(LOGISTIC, 2.5)).toThrow(RangeError);
    expect(() => layerShapes({ type: 'mlp', hidden: [0] }, 3)).toThrow(RangeError);
  });

  it('reads weights row-major as [inputs][outputs], then the bias, with ReLU hidden units', () => {
    // W1 = [[1, 2], [3, 4]], b1 = [0, -50]; x = [1, 10] → pre = [31, 42 - 50] → ReLU [31, 0].
    // W2 = [[0.1], [5]], b2 = -3 → z = 3.1 + 0 − 3 = 0.1.
    const parameters = Float64Array.of(1, 2, 3, 4, 0, -50, 0.1, 5, -3);
    const [p] = predict(parameters, { type: 'mlp', hidden: [2] }, Float64Array.of(1, 10), 1, 2);
    expect(p).toBeCloseTo(1 / (1 + Math.exp(-0.1)), 12);
  });

  it('rejects parameters, X or y of the wrong length', () => {
    const p = new Float64Array(3);
    expect(() => predict(new Float64Array(4), LOGISTIC, new Float64Array(4), 2, 2)).toThrow(RangeError);
    expect(() => predict(p, LOGISTIC, new Float64Array(5), 2, 2)).toThrow(RangeError);
    expect(() => lossAndGradient(p, LOGISTIC, new Float64Array(4), new Uint8Array(3), 2, 2, 0)).toThrow(
      RangeError,
    );
    expect(() => lossAndGradient(p, LOGISTIC, new Float64Array(4), new Uint8Array(2), 2, 2, -1)).toThrow(
      RangeError,
    );
  });
});

describe('loss and gradient', () => {
  it('matches a hand-computed logistic example to 1e-12 (test/vectors/models/known-answers.json)', () => {
    // w = [0.5, −0.25], b = 0.1; rows [1, 2] (y = 1) and [−1, 0.5] (y = 0); l2 = 0.2: logits 0.1 and −0.525, loss
    // (log(1 + e^−0.1) + log(1 + e^−0.525)) / 2 + 0.1 · (0.25 + 0.0625). Reference values from mpmath.
    const v = vectors.logistic;
    const parameters = Float64Array.from(v.parameters);
    const X = Float64Array.from(v.X);
    const { loss, gradient } = lossAndGradient(parameters, LOGISTIC, X, Uint8Array.from(v.y), 2, 2, v.l2);
    expect(Math.abs(loss - Number(v.loss))).toBeLessThan(1e-12);
    v.gradient.forEach((g, k) => {
      expect(Math.abs(gradient[k]! - Number(g))).toBeLessThan(1e-12);
    });
    const probabilities = predict(parameters, LOGISTIC, X, 2, 2);
    v.probabilities.forEach((p, k) => {
      expect(Math.abs(probabilities[k]! - Number(p))).toBeLessThan(1e-12);
    });
  });

  it.each<[string, ModelSpec]>([
    ['logistic regression', LOGISTIC],
    ['an MLP with two hidden layers', { type: 'mlp', hidden: [6, 4] }],
  ])('agrees with central finite differences for %s', (_name, spec) => {
    const rows = 12;
    const width = 5;
    const { X, y } = randomData(rows, width, 'finite differences data');
    const parameters = initialParameters(spec, width, 'finite differences');
    // Logistic starts at zero; move it somewhere less special. Biases too, so no ReLU sits at its kink.
    const random = new SeededRandom('offsets');
    for (let k = 0; k < parameters.length; k++) parameters[k]! += 0.3 * (random.uniform() - 0.5);
    const l2 = 0.05;
    const { loss, gradient } = lossAndGradient(parameters, spec, X, y, rows, width, l2);
    const h = 1e-6;
    for (let k = 0; k < parameters.length; k++) {
      const plus = Float64Array.from(parameters);
      const minus = Float64Array.from(parameters);
      plus[k]! += h;
      minus[k]! -= h;
      const numeric =
        (lossAndGradient(plus, spec, X, y, rows, width, l2).loss -
          lossAndGradient(minus, spec, X, y, rows, width, l2).loss) /
        (2 * h);
      expect(Math.abs(numeric - gradient[k]!)).toBeLessThan(1e-7 * (1 + Math.abs(numeric)));
    }
    expect(loss).toBeGreaterThan(0);
  });

  it('stays finite at extreme logits', () => {
    const parameters = Float64Array.of(1000, 0);
    const X = Float64Array.of(1, -1);
    const y = Uint8Array.of(0, 1);
    expect(Array.from(predict(parameters, LOGISTIC, X, 2, 1))).toEqual([1, 0]);
    const { loss, gradient } = lossAndGradient(parameters, LOGISTIC, X, y, 2, 1, 0);
    // Each row costs softplus(1000) = 1000 exactly in double precision; d/dz = ±1, so d/dw = (1·1 + (−1)·(−1)) / 2.
    expect(loss).toBe(1000);
    expect(Array.from(gradient)).toEqual([1, 0]);
  });
});

describe('initial parameters', () => {
  it('are the same for the same seed (string or its UTF-8 bytes) and differ for another', () => {
    const spec: ModelSpec = { type: 'mlp', hidden: [8] };
    const a = initialParameters(spec, 6, 'job-7');
    expect(initialParameters(spec, 6, new TextEncoder().encode('job-7'))).toEqual(a);
    expect(initialParameters(spec, 6, 'job-8')).not.toEqual(a);
  });

  it('start logistic regression at zero', () => {
    expect(Array.from(initialParameters(LOGISTIC, 4, 'any'))).toEqual([0, 0, 0, 0, 0]);
  });

  it('draw He-uniform ReLU weights, Glorot-uniform output weights and zero biases', () => {
    const spec: ModelSpec = { type: 'mlp', hidden: [64] };
    const p = initialParameters(spec, 100, 'init');
    const [hidden, output] = layerShapes(spec, 100);
    const heLimit = Math.sqrt(6 / 100);
    const glorotLimit = Math.sqrt(6 / 65);
    const w1 = p.subarray(hidden!.weightsAt, hidden!.biasAt);
    const w2 = p.subarray(output!.weightsAt, output!.biasAt);
    expect(Math.max(...w1.map(Math.abs))).toBeLessThanOrEqual(heLimit);
    expect(Math.max(...w2.map(Math.abs))).toBeLessThanOrEqual(glorotLimit);
    // A uniform on ±L has variance L²/3; 6 400 draws put the sample variance within a few percent.
    const variance = w1.reduce((s, w) => s + w * w, 0) / w1.length;
    expect(variance / ((heLimit * heLimit) / 3)).toBeGreaterThan(0.95);
    expect(variance / ((heLimit * heLimit) / 3)).toBeLessThan(1.05);
    expect(Array.from(p.subarray(hidden!.biasAt, hidden!.biasAt + 64)).every((b) => b === 0)).toBe(true);
    expect(p[output!.biasAt]).toBe(0);
  });
});
