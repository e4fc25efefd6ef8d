/**
 * `accord score --config node.json --model <id> [--dataset <name> | --alignment <psi job>]`: scores a population with a
 * registered model (a vertical label holder's part asks its partners for their partial logits of the aligned
 * customers) and follows the job with a progress bar. `--customer <id>` instead scores one customer now and prints
 * where each partner's partial came from (live, or its last batch when the partner is slow or down).
 */
import { AccordError } from '../../primitives/errors/index.js';
import { type NodeApiOptions, nodeApi } from '../node-api.js';
import { ProgressBar } from '../progress.js';

export interface ScoreCommand {
  readonly connection: Omit<NodeApiOptions, 'roles'>;
  readonly model: string;
  readonly dataset?: string | undefined;
  readonly alignment?: string | undefined;
  readonly customer?: string | undefined;
}

interface ScoringJobView {
  id: string;
  state: 'running' | 'done' | 'failed';
  progress: { scored: number; total: number; partials: { received: number; total: number } | null };
  fingerprint: string | null;
  error: { code: string; message: string } | null;
  timings: { seconds: number | null };
}

export async function runScore(command: ScoreCommand): Promise<void> {
  const api = nodeApi({ ...command.connection, roles: ['risk', 'marketing'] });
  const model = encodeURIComponent(command.model);
  if (command.customer) {
    const answer = await api.call('POST', `/v1/models/${model}/score`, { customer: command.customer });
    process.stdout.write(`${JSON.stringify(answer)}\n`);
    return;
  }
  if (command.dataset && command.alignment)
    throw new AccordError('ACCORD_USAGE', { problem: 'give --dataset or --alignment, not both' });
  const population = command.dataset
    ? { dataset: command.dataset }
    : command.alignment
      ? { alignment: command.alignment }
      : undefined;
  const { job: id } = await api.call<{ job: string }>('POST', '/v1/scoring', {
    model: command.model,
    ...(population ? { population } : {}),
  });
  process.stderr.write(`scoring job ${id}\n`);
  const bar = new ProgressBar('score');
  let job: ScoringJobView;
  try {
    for (;;) {
      job = await api.call<ScoringJobView>('GET', `/v1/scoring/${id}`);
      const gathering = job.progress.partials;
      if (gathering) bar.update(gathering.received, gathering.total, 'partners’ partial logits');
      else bar.update(job.progress.scored, job.progress.total, job.state);
      if (job.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    bar.finish();
  }
  if (job.state !== 'done') throw AccordError.fromWire(job.error?.code ?? 'ACCORD_INTERNAL', {});
  process.stdout.write(
    `${JSON.stringify({ job: job.id, state: job.state, scored: job.progress.scored, seconds: job.timings.seconds, fingerprint: job.fingerprint })}\n`,
  );
}
