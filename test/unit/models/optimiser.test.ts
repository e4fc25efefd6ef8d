/**
 * Optimisers: SGD (plain and with momentum) and Adam's first two steps against hand-computed values, and the purity
 * the trainer relies on (inputs never changed, state explicit).
 */
import { describe, expect, it } from 'vitest';
import { createOptimiser } from '../../../models/optimiser.js';
import vectors from '../../vectors/models/known-answers.json' with { type: 'json' };

function expectClose(actual: Float64Array, expected: number[], tolerance = 1e-15) {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) {
    expect(Math.abs(actual[k]! - expected[k]!)).toBeLessThanOrEqual(tolerance * (1 + Math.abs(expected[k]!)));
  }
}

describe('SGD', () => {
  it('steps θ − η·g without momentum', () => {
    const sgd = createOptimiser({ kind: 'sgd', learningRate: 0.5 });
    const { parameters, state } = sgd.step(
      Float64Array.of(1, 2),
      Float64Array.of(0.5, -4),
      sgd.initialState(2),
    );
    expectClose(parameters, [0.75, 4]);
    expect(state).toEqual({ kind: 'sgd', velocity: null });
  });

  it('accumulates velocity with momentum: v ← μ·v + g, θ ← θ − η·v', () => {
    const sgd = createOptimiser({ kind: 'sgd', learningRate: 0.1, momentum: 0.9 });
    const first = sgd.step(Float64Array.of(1, -1), Float64Array.of(2, 1), sgd.initialState(2));
    // v1 = [2, 1]; θ1 = [1 − 0.2, −1 − 0.1] = [0.8, −1.1]
    expectClose(first.parameters, [0.8, -1.1]);
    const second = sgd.step(first.parameters, Float64Array.of(-1, 0.5), first.state);
    // v2 = 0.9·[2, 1] + [−1, 0.5] = [0.8, 1.4]; θ2 = [0.8 − 0.08, −1.1 − 0.14] = [0.72, −1.24]
    expectClose(second.parameters, [0.72, -1.24]);
    if (second.state.kind !== 'sgd') throw new Error('expected an SGD state');
    expectClose(second.state.velocity!, [0.8, 1.4]);
  });
});

describe('Adam', () => {
  it('matches hand-computed first steps (β1 0.9, β2 0.999, ε 1e-8; test/vectors/models/known-answers.json)', () => {
    // Step 1: m̂ = g and v̂ = g², so θ moves by η·g / (|g| + ε) ≈ η·sign(g). Reference values from mpmath.
    const v = vectors.adam;
    const adam = createOptimiser({ kind: 'adam', learningRate: v.learningRate });
    let parameters: Float64Array = Float64Array.from(v.start);
    let state = adam.initialState(parameters.length);
    v.steps.forEach((expected, t) => {
      ({ parameters, state } = adam.step(parameters, Float64Array.from(expected.gradient), state));
      if (state.kind !== 'adam') throw new Error('expected an Adam state');
      expect(state.step).toBe(t + 1);
      expectClose(parameters, expected.parameters.map(Number));
      expectClose(state.m, expected.m.map(Number));
      expectClose(state.v, expected.v.map(Number));
    });
  });

  it('changes none of its inputs', () => {
    const adam = createOptimiser({ kind: 'adam', learningRate: 0.1 });
    const parameters = Float64Array.of(1, 2);
    const gradient = Float64Array.of(3, 4);
    const state = adam.initialState(2);
    adam.step(parameters, gradient, state);
    expect(Array.from(parameters)).toEqual([1, 2]);
    expect(Array.from(gradient)).toEqual([3, 4]);
    expect(state.kind === 'adam' && [state.step, ...state.m, ...state.v]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('checks', () => {
  it('rejects bad hyper-parameters, mismatched lengths and a state of another kind', () => {
    expect(() => createOptimiser({ kind: 'sgd', learningRate: 0 })).toThrow(RangeError);
    expect(() => createOptimiser({ kind: 'sgd', learningRate: 0.1, momentum: 1 })).toThrow(RangeError);
    expect(() => createOptimiser({ kind: 'adam', learningRate: 0.1, beta2: 1 })).toThrow(RangeError);
    const sgd = createOptimiser({ kind: 'sgd', learningRate: 0.1 });
    const adam = createOptimiser({ kind: 'adam', learningRate: 0.1 });
    expect(() => sgd.step(new Float64Array(2), new Float64Array(3), sgd.initialState(2))).toThrow(RangeError);
    expect(() => sgd.step(new Float64Array(2), new Float64Array(2), adam.initialState(2))).toThrow(
      RangeError,
    );
    expect(() => adam.step(new Float64Array(2), new Float64Array(2), adam.initialState(3))).toThrow(
      RangeError,
    );
  });
});
