/**
 * `accord psi --config node.json --peer bank-b [--peer bank-c] --dataset customers [--column id] [--kind phone]
 *  [--mode intersection|cardinality] [--reveal initiator|all]`: starts a PSI job on the node and follows it with a
 * progress bar until it ends.
 */
import { AccordError } from '../../primitives/errors/index.js';
import { nodeApi } from '../node-api.js';
import { ProgressBar } from '../progress.js';

interface JobView {
  id: string;
  state: string;
  progress: { processed: number; total: number };
  result: { size: number; alignment: boolean } | null;
  error: { code: string; message: string } | null;
  skippedRows: number;
}

export interface PsiCommand {
  config: string;
  url?: string | undefined;
  token?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  peers: string[];
  dataset: string;
  column?: string | undefined;
  kind?: string | undefined;
  mode?: string | undefined;
  reveal?: string | undefined;
}

export async function runPsi(command: PsiCommand): Promise<void> {
  if (command.peers.length === 0)
    throw new AccordError('ACCORD_USAGE', { problem: 'name at least one --peer' });
  const api = nodeApi({
    config: command.config,
    url: command.url,
    token: command.token,
    ca: command.ca,
    cert: command.cert,
    key: command.key,
    roles: ['risk', 'admin'],
  });
  let job = await api.call<JobView>('POST', '/v1/psi', {
    peers: command.peers,
    dataset: command.dataset,
    ...(command.column ? { idColumn: command.column } : {}),
    ...(command.kind ? { idKind: command.kind } : {}),
    ...(command.mode ? { mode: command.mode } : {}),
    ...(command.reveal ? { reveal: command.reveal } : {}),
  });
  process.stderr.write(`PSI job ${job.id} with ${command.peers.join(', ')}\n`);
  const bar = new ProgressBar('psi');
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  process.once('SIGINT', onInterrupt);
  try {
    while (job.state === 'waiting' || job.state === 'running' || job.state === 'pending_approval') {
      if (interrupted) {
        job = await api.call<JobView>('DELETE', `/v1/psi/${job.id}`);
        break;
      }
      bar.update(job.progress.processed, job.progress.total, job.state);
      await new Promise((r) => setTimeout(r, 250));
      job = await api.call<JobView>('GET', `/v1/psi/${job.id}`);
    }
    bar.update(job.progress.total, job.progress.total, job.state);
  } finally {
    bar.finish();
    process.off('SIGINT', onInterrupt);
  }
  if (job.state !== 'done') throw AccordError.fromWire(job.error?.code ?? 'ACCORD_PSI_CANCELLED', {});
  const size = job.result ? `${job.result.size} shared` : 'done (this node does not learn the result)';
  process.stdout.write(
    `${size}${job.skippedRows ? `; ${job.skippedRows} rows skipped (invalid or repeated ids)` : ''}\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ job: job.id, state: job.state, size: job.result?.size ?? null })}\n`,
  );
}
