/**
 * `accord train` flags for a boosted-tree job: the model's hyper-parameters go inside `model` (the learning rate is the
 * trees' shrinkage), and the request passes the vertical settings' schema.
 */
import { describe, expect, it } from 'vitest';
import { trainBodyFromFlags } from '../../../cli/commands/train.js';
import { verticalSettingsSchema } from '../../../primitives/training/spec.js';

describe('accord train --model gbdt', () => {
  it('puts the trees’ hyper-parameters in the model and gives a valid vertical request', () => {
    const body = trainBodyFromFlags({
      alignment: '6f1c1d6e-2f1e-4c8e-9a55-1b0e8d7f3a10',
      peer: ['bank-b'],
      label: 'y',
      model: 'gbdt',
      trees: '25',
      depth: '5',
      'learning-rate': '0.3',
      'early-stopping': '5',
      purpose: 'risk',
      'validation-fraction': '0.2',
      seed: '42',
    });
    expect(body['model']).toEqual({ type: 'gbdt', trees: 25, depth: 5, learningRate: 0.3, earlyStopping: 5 });
    expect(body['learningRate']).toBeUndefined();
    const { peers: _peers, ...settings } = body;
    const parsed = verticalSettingsSchema.parse(settings);
    expect(parsed.model).toMatchObject({ type: 'gbdt', bins: 31, minChildWeight: 1, l2: 1 });
  });
});
