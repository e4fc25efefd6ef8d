/**
 * `accord psi --config node.json --peer bank-b [--peer bank-c] --dataset customers [--column id] [--kind phone]
 *  [--mode intersection|cardinality] [--reveal initiator|all]`: starts a PSI job on the node and follows it with a
 * progress bar until it ends.
 */
import { AccordError } from '../../primitives/errors/index.js';
import { nodeApi } from '../node-api.js';
import { followJob } from '../follow-job.js';

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
  const api = nodeApi({ ...command, roles: ['risk', 'admin'] });
  let job = await api.call<JobView>('POST', '/v1/psi', {
    peers: command.peers,
    dataset: command.dataset,
    ...(command.column ? { idColumn: command.column } : {}),
    ...(command.kind ? { idKind: command.kind } : {}),
    ...(command.mode ? { mode: command.mode } : {}),
    ...(command.reveal ? { reveal: command.reveal } : {}),
  });
  process.stderr.write(`PSI job ${job.id} with ${command.peers.join(', ')}\n`);
  job = await followJob(
    api,
    '/v1/psi',
    job,
    'psi',
    (j) => ({
      done: j.state === 'done' ? j.progress.total : j.progress.processed,
      total: j.progress.total,
      note: j.state,
    }),
    'ACCORD_PSI_CANCELLED',
  );
  const size = job.result ? `${job.result.size} shared` : 'done (this node does not learn the result)';
  process.stdout.write(
    `${size}${job.skippedRows ? `; ${job.skippedRows} rows skipped (invalid or repeated ids)` : ''}\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ job: job.id, state: job.state, size: job.result?.size ?? null })}\n`,
  );
}
