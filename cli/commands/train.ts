/**
 * `accord train --config node.json --peer bank-b [--peer bank-c] --dataset credit --label y [--model mlp --hidden 32]
 *  [--rounds 10 --local-epochs 1 --batch-size 64 --learning-rate 0.01 --min-participants 2 --purpose risk]
 *  [--spec job.json]`: starts a horizontal federated training job on the node and follows it with a progress bar per
 * round (pooled validation AUC as the note), until it ends; prints the model id. `--spec` reads the whole request body
 * from a JSON file (flags override its fields). With `--alignment <psi job> [--epochs N --optimizer sgd|adam]` the job
 * is vertical (this bank holds the label), and the bar moves per epoch; with `--model gbdt --trees 25 --depth 5
 * --learning-rate 0.3 [--bins 31 --min-child-weight 1 --l2 1 --feature-subsample 0.8 --early-stopping 5]` it trains
 * boosted trees (SecureBoost) and the bar moves per tree.
 */
import { readFileSync } from 'node:fs';
import { AccordError } from '../../primitives/errors/index.js';
import { nodeApi } from '../node-api.js';
import { followJob } from '../follow-job.js';

interface JobView {
  id: string;
  state: string;
  progress: { round: number; rounds: number };
  rounds: { round: number; members: string[]; loss: number; metrics: { auc: number; ks: number } }[];
  modelId: string | null;
  error: { code: string; message: string } | null;
}

export interface TrainCommand {
  config: string;
  url?: string | undefined;
  token?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  spec?: string | undefined;
  body: Record<string, unknown>;
}

function readSpec(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new AccordError('ACCORD_USAGE', { problem: `--spec ${file}: ${(err as Error).message}` });
  }
}

export async function runTrain(command: TrainCommand): Promise<void> {
  const body = { ...(command.spec ? readSpec(command.spec) : {}), ...command.body };
  if (!Array.isArray(body['peers']) || body['peers'].length === 0)
    throw new AccordError('ACCORD_USAGE', { problem: 'name at least one --peer' });
  const api = nodeApi({ ...command, roles: ['risk', 'marketing', 'admin'] });
  let job = await api.call<JobView>('POST', '/v1/training', body);
  process.stderr.write(`training job ${job.id} with ${(body['peers'] as string[]).join(', ')}\n`);
  const note = (j: JobView) => {
    const last = j.rounds.at(-1);
    return last ? `${j.state} AUC ${last.metrics.auc.toFixed(4)} (${last.members.length} members)` : j.state;
  };
  job = await followJob(
    api,
    '/v1/training',
    job,
    'train',
    (j) => ({ done: j.progress.round, total: j.progress.rounds, note: note(j) }),
    'ACCORD_TRAINING_CANCELLED',
  );
  for (const r of job.rounds)
    process.stdout.write(
      `${body['kind'] === 'vertical' ? 'epoch' : 'round'} ${r.round}: AUC ${r.metrics.auc.toFixed(4)} KS ${r.metrics.ks.toFixed(4)} loss ${r.loss.toFixed(4)} (${r.members.join(', ')})\n`,
    );
  process.stdout.write(`${JSON.stringify({ job: job.id, state: job.state, model: job.modelId })}\n`);
}

/** The request body from the CLI flags (only those given). */
export function trainBodyFromFlags(values: Record<string, string | string[] | boolean | undefined>) {
  const num = (flag: string) => {
    const v = values[flag];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new AccordError('ACCORD_USAGE', { problem: `--${flag} must be a number` });
    return n;
  };
  // An alignment (a PSI job) makes the job vertical: same customers, other columns at each peer.
  const body: Record<string, unknown> = { kind: values['alignment'] ? 'vertical' : 'horizontal' };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) body[key] = value;
  };
  set('peers', values['peer']);
  set('dataset', values['dataset']);
  set('label', values['label']);
  const model = values['model'] as string | undefined;
  if (model === 'gbdt') {
    // Boosted trees (vertical only): the learning rate is the trees' shrinkage, inside the model.
    const trees: Record<string, unknown> = { type: 'gbdt' };
    for (const [flag, key] of [
      ['trees', 'trees'],
      ['depth', 'depth'],
      ['learning-rate', 'learningRate'],
      ['bins', 'bins'],
      ['min-child-weight', 'minChildWeight'],
      ['l2', 'l2'],
      ['feature-subsample', 'featureSubsample'],
      ['early-stopping', 'earlyStopping'],
    ] as const) {
      const v = num(flag);
      if (v !== undefined) trees[key] = v;
    }
    body['model'] = trees;
  } else if (model)
    body['model'] = model === 'mlp' ? { type: 'mlp', hidden: [num('hidden') ?? 32] } : { type: model };
  set('alignment', values['alignment']);
  set('epochs', num('epochs'));
  set('optimizer', values['optimizer']);
  set('rounds', num('rounds'));
  set('localEpochs', num('local-epochs'));
  set('batchSize', num('batch-size'));
  if (model !== 'gbdt') set('learningRate', num('learning-rate'));
  set('minParticipants', num('min-participants'));
  set('purpose', values['purpose']);
  const fraction = num('validation-fraction');
  if (fraction !== undefined) body['validation'] = { fraction, seed: num('seed') ?? 1 };
  const features = values['features'] as string | undefined;
  if (features) body['features'] = features.split(',').map((f) => f.trim());
  return body;
}
