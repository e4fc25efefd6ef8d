/**
 * Regenerates the ONNX known-bytes vector in this folder: a tiny model that uses every kind of node the export writes
 * (numeric imputation and scaling, a one-hot categorical column, a categorical column without categories, a ReLU
 * layer, the sigmoid output). It refuses to write unless ONNX Runtime loads the bytes and scores the sample rows as the
 * independent float64 reference does (test/unit/onnx/reference.ts). Run once:
 *   node --import tsx test/vectors/onnx/generate.ts
 * The bytes are a fixture: a change to them means the encoding or the graph changed, which should be deliberate
 * (bump ONNX_EXPORT_VERSION in models/onnx/export.ts when the graph changes).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { exportOnnx } from '../../../models/onnx/export.js';
import type { RawCell, TrainedModel } from '../../../models/types.js';
import { maxAbsDiff, ortScores, referenceScores } from '../../unit/onnx/reference.js';

const model: TrainedModel = {
  spec: { type: 'mlp', hidden: [2] },
  preprocessing: {
    columns: [
      { name: 'age', kind: 'numeric', mean: 40, std: 12.5 },
      { name: 'job', kind: 'categorical', categories: ['admin.', 'technician'] },
      { name: 'region', kind: 'categorical', categories: [] },
    ],
  },
  // Width 1 + 3 + 1 = 5: W1 [5][2], b1 [2], W2 [2][1], b2 [1]; dyadic values, exact in any format.
  parameters: Float64Array.from([
    0.5, -0.25, 1, 0.75, -0.5, 0.125, 0.25, -1, 0.0625, 0.375, 0.5, -0.125, 1.5, -2, 0.25,
  ]),
};
const metadata = { modelId: 'model-0001', job: 'job-2024-0001', producer: 'test/vectors/onnx/generate.ts' };
const rows: Record<string, RawCell[]> = {
  age: [31, null, 52.5, 40, 18, 77],
  job: ['admin.', 'technician', 'retired', null, ' admin. ', ''],
  region: ['north', null, 'south', 'north', '', 'east'],
};
const count = 6;

const bytes = exportOnnx(model, metadata);
const raw = new Map(Object.entries(rows));
const scores = await ortScores(bytes, model, raw, count);
const reference = referenceScores(model, raw, count);
if (!(maxAbsDiff(scores, reference) < 1e-12)) {
  throw new Error('ONNX Runtime disagrees with the reference; not written');
}

writeFileSync(
  new URL('tiny-model.json', import.meta.url),
  JSON.stringify(
    {
      description:
        'exportOnnx(model, metadata) for a tiny MLP; the bytes load in ONNX Runtime and score `rows` as the ' +
        'float64 reference does (to 1e-12); `scores` are ONNX Runtime’s.',
      onnxruntime: ort.env.versions.node,
      model: { ...model, parameters: Array.from(model.parameters) },
      metadata,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: Buffer.from(bytes).toString('hex'),
      rows,
      scores: Array.from(scores),
    },
    null,
    2,
  ) + '\n',
);
