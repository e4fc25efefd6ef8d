/**
 * Logistic gradients and their fixed point for boosted trees (models/trees/gradients.ts): known answers, the
 * documented ranges and rounding error, and exact dequantised sums.
 */
import { describe, expect, it } from 'vitest';
import { sigmoid } from '../../../models/network.js';
import { SeededRandom } from '../../../models/random.js';
import {
  baseMargin,
  dequantiseSums,
  GRADIENT_BITS,
  HESSIAN_BITS,
  logisticGradients,
  quantiseGradients,
} from '../../../models/trees/gradients.js';

describe('boosted-tree gradients', () => {
  it('gives p − y and p(1 − p) for the listed rows, in list order', () => {
    const labels = Uint8Array.from([1, 0, 1, 0]);
    const margins = Float64Array.from([0, 2, -1, 5]);
    const { g, h } = logisticGradients(labels, margins, [2, 1]);
    expect(Array.from(g)).toEqual([sigmoid(-1) - 1, sigmoid(2)]);
    expect(Array.from(h)).toEqual([sigmoid(-1) * (1 - sigmoid(-1)), sigmoid(2) * (1 - sigmoid(2))]);
    expect(() => logisticGradients(labels, margins, [4])).toThrow(RangeError);
    expect(() => logisticGradients(labels, margins.subarray(1), [0])).toThrow(RangeError);
    expect(() => logisticGradients(Uint8Array.from([2]), Float64Array.from([0]), [0])).toThrow(RangeError);
    expect(() => logisticGradients(labels, Float64Array.from([Number.NaN, 0, 0, 0]), [0])).toThrow(
      RangeError,
    );
  });

  it('quantises to round(g·2^12) and round(h·2^14) within their ranges, off by at most half a step', () => {
    expect(GRADIENT_BITS).toBe(12);
    expect(HESSIAN_BITS).toBe(14);
    const known = quantiseGradients(
      Float64Array.from([-1, 1, 0.5, -0.000_01]),
      Float64Array.from([0.25, 0, 0.1, 1]),
    );
    expect(Array.from(known.g)).toEqual([-4096, 4096, 2048, 0]);
    expect(Array.from(known.h)).toEqual([4096, 0, 1638, 4096]);
    const random = new SeededRandom('quantise');
    const p = Float64Array.from({ length: 10_000 }, () => random.uniform());
    const y = Float64Array.from(p, () => (random.uniform() < 0.5 ? 1 : 0));
    const g = p.map((pi, i) => pi - y[i]!);
    const h = p.map((pi) => pi * (1 - pi));
    const q = quantiseGradients(g, h);
    let worstG = 0;
    let worstH = 0;
    for (let i = 0; i < p.length; i++) {
      worstG = Math.max(worstG, Math.abs(q.g[i]! / 2 ** 12 - g[i]!));
      worstH = Math.max(worstH, Math.abs(q.h[i]! / 2 ** 14 - h[i]!));
    }
    expect(worstG).toBeLessThanOrEqual(2 ** -13);
    expect(worstH).toBeLessThanOrEqual(2 ** -15);
    expect(Math.min(...q.g)).toBeGreaterThanOrEqual(-4096);
    expect(Math.max(...q.g)).toBeLessThanOrEqual(4096);
    expect(Math.min(...q.h)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...q.h)).toBeLessThanOrEqual(4096);
    expect(() => quantiseGradients(Float64Array.from([Number.NaN]), Float64Array.from([0]))).toThrow(
      RangeError,
    );
    expect(() => quantiseGradients(new Float64Array(2), new Float64Array(1))).toThrow(RangeError);
  });

  it('dequantises integer sums exactly and starts from the log-odds of the positive rate', () => {
    expect(dequantiseSums(-12_345, 67_890)).toEqual({ g: -12_345 / 4096, h: 67_890 / 16_384 });
    // A million rows at the largest values stay exact integers, so the scaled sums are exact too.
    expect(dequantiseSums(4096 * 1_000_000, 4096 * 1_000_000)).toEqual({ g: 1_000_000, h: 250_000 });
    const labels = Uint8Array.from([1, 0, 0, 0, 1, 1]);
    expect(baseMargin(labels, [0, 1, 2, 3])).toBe(Math.log(1 / 3));
    expect(() => baseMargin(labels, [1, 2])).toThrow(RangeError);
    expect(() => baseMargin(labels, [6])).toThrow(RangeError);
  });
});
