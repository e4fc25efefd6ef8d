/**
 * A feature holder's histogram worker threads (node/training/histogram-pool.ts) give exactly the histograms of the
 * suite on the main thread, in feature order, and pass the suite's coded refusal back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { HistogramPool } from '../../../node/training/histogram-pool.js';
import { createHistogramSuite } from '../../../primitives/he/histogram.js';
import { rejected } from '../../helpers/thrown.js';

describe('histogram worker threads', () => {
  const pool = new HistogramPool(2);
  afterAll(() => pool.close());

  it('decrypt to the same sums as the main thread, in feature order, and refuse a changed block', async () => {
    const suite = await createHistogramSuite();
    const { publicKey, secretKey } = suite.generateKeys();
    const rows = 600;
    const gq = Int32Array.from({ length: rows }, (_, i) => ((i * 37) % 8193) - 4096);
    const hq = Int32Array.from({ length: rows }, (_, i) => (i * 91) % 4097);
    const blocks = suite.encryptGradients(secretKey, gq, hq);
    const rowsPerBlock = blocks.map((_, k) => Math.min(256, rows - 256 * k));
    const positions = [3, 7, 11].map((m) => Uint8Array.from({ length: rows }, (_, i) => (i * m) % 32));
    const outputs = await pool.histograms(publicKey, blocks, rowsPerBlock, positions);
    expect(outputs).toHaveLength(3);
    positions.forEach((column, f) => {
      const { g, h } = suite.decryptHistogram(secretKey, outputs[f]!);
      const eg = new Float64Array(32);
      const eh = new Float64Array(32);
      for (let i = 0; i < rows; i++) {
        eg[column[i]!]! += gq[i]!;
        eh[column[i]!]! += hq[i]!;
      }
      expect(Array.from(g)).toEqual(Array.from(eg));
      expect(Array.from(h)).toEqual(Array.from(eh));
    });
    const changed = blocks.map((b, k) => (k === 1 ? b.subarray(0, b.length - 1) : b));
    const error = await rejected(pool.histograms(publicKey, changed, rowsPerBlock, positions));
    expect(error.code).toBe('ACCORD_HE_CIPHERTEXT_INVALID');
    secretKey.delete();
  });
});
