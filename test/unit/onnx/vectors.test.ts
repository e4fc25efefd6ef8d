/**
 * The known-bytes vector (test/vectors/onnx/tiny-model.json, written by its generate.ts after ONNX Runtime loaded the
 * bytes): the export must reproduce the bytes exactly, and the stored bytes must still score the stored rows.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exportOnnx } from '../../../models/onnx/export.js';
import type { RawCell, TrainedModel } from '../../../models/types.js';
import vector from '../../vectors/onnx/tiny-model.json' with { type: 'json' };
import { maxAbsDiff, ortScores, referenceScores } from './reference.js';

const model = { ...vector.model, parameters: Float64Array.from(vector.model.parameters) } as TrainedModel;
const raw = new Map<string, RawCell[]>(Object.entries(vector.rows));
const rows = vector.scores.length;

describe('ONNX known-bytes vector', () => {
  it('exports the tiny model to exactly the stored bytes', () => {
    const bytes = exportOnnx(model, vector.metadata);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(vector.sha256);
    expect(Buffer.from(bytes).toString('hex')).toBe(vector.bytes);
  });

  it('the stored bytes load in ONNX Runtime and score the stored rows as stored and as the reference', async () => {
    const scores = await ortScores(Buffer.from(vector.bytes, 'hex'), model, raw, rows);
    expect(maxAbsDiff(scores, vector.scores)).toBeLessThan(1e-12);
    expect(maxAbsDiff(scores, referenceScores(model, raw, rows))).toBeLessThan(1e-12);
  });
});
