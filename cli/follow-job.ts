/**
 * Follows a long job on the node (PSI, training) with a progress bar until it leaves its waiting and running states;
 * Ctrl-C cancels it for every participant (DELETE) instead of leaving it running unseen. Throws the job's coded
 * error unless it ended done.
 */
import { AccordError } from '../primitives/errors/index.js';
import type { nodeApi } from './node-api.js';
import { ProgressBar } from './progress.js';

interface FollowedJob {
  id: string;
  state: string;
  error: { code: string; message: string } | null;
}

export async function followJob<J extends FollowedJob>(
  api: ReturnType<typeof nodeApi>,
  path: string,
  started: J,
  label: string,
  progress: (job: J) => { done: number; total: number; note: string },
  cancelledCode: string,
): Promise<J> {
  let job = started;
  const bar = new ProgressBar(label);
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  const show = () => {
    const p = progress(job);
    bar.update(p.done, p.total, p.note);
  };
  process.once('SIGINT', onInterrupt);
  try {
    while (['waiting', 'running', 'pending_approval'].includes(job.state)) {
      if (interrupted) {
        job = await api.call<J>('DELETE', `${path}/${job.id}`);
        break;
      }
      show();
      await new Promise((r) => setTimeout(r, 250));
      job = await api.call<J>('GET', `${path}/${job.id}`);
    }
    show();
  } finally {
    bar.finish();
    process.off('SIGINT', onInterrupt);
  }
  if (job.state !== 'done') throw AccordError.fromWire(job.error?.code ?? cancelledCode, {});
  return job;
}
