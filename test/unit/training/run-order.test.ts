/**
 * The node's rule for taking part in aggregations (node/training/training-run.ts): each (task, round) once, in the
 * job's order (statistics first; train round r from the model of round r - 1; eval round r of the model of round r),
 * among members of the job only. A coordinator that asks twice, or out of order, could difference two sums over
 * member sets that differ by one bank; a node that is merely behind sits the aggregation out without failing the job.
 * Driven through a real TrainingRun with real SecAgg+ participants; the store is an in-memory stand-in.
 */
import { describe, expect, it } from 'vitest';
import type { RawCell } from '../../../models/types.js';
import type { LocalData, RowSplit } from '../../../node/training/local-data.js';
import { SecAggParticipant } from '../../../node/training/secagg-participant.js';
import { TrainingRun } from '../../../node/training/training-run.js';
import {
  newTrainingJob,
  type TrainingJobRecord,
  type TrainingJobStore,
} from '../../../platform/store/training-types.js';
import type { AccordError } from '../../../primitives/errors/index.js';
import type { AggregationId, AggregationTask, StepReply } from '../../../primitives/training/job-protocol.js';
import { silentLog } from '../../helpers/log.js';
import { TestPki, tinySpec } from './job-harness.js';

const JOB = '1d5e2c44-3b7a-4c8e-9f10-2a6b8c0d4e51';
const MEMBERS = ['bank-a', 'bank-b', 'bank-c'];

function rows(n: number): RowSplit {
  const raw = new Map<string, RawCell[]>([
    ['income', Array.from({ length: n }, (_, i) => 1000 + 37 * i)],
    ['utilisation', Array.from({ length: n }, (_, i) => (i % 10) / 10)],
    ['segment', Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'retail' : 'sme'))],
    ['defaulted', Array.from({ length: n }, (_, i) => i % 2)],
  ]);
  return { raw, labels: Uint8Array.from({ length: n }, (_, i) => i % 2), rows: n };
}

function harness() {
  const spec = tinySpec({ rounds: 2 });
  const pki = new TestPki();
  let job: TrainingJobRecord = {
    ...newTrainingJob({ id: JOB, role: 'participant', initiator: 'bank-a', participants: MEMBERS, spec }),
    dataset: 'loans',
    state: 'waiting',
  };
  const store = {
    update: async (_id: string, patch: Partial<TrainingJobRecord>) => {
      job = { ...job, ...patch };
      return job;
    },
    get: async () => job,
  } as unknown as TrainingJobStore;
  const data: LocalData = { training: rows(40), validation: rows(10), fingerprint: 'f'.repeat(64), rows: 50 };
  const replies: StepReply[] = [];
  const failures: AccordError[] = [];
  const run = new TrainingRun(
    {
      self: 'bank-b',
      jobs: store,
      log: silentLog,
      participant: (id) => new SecAggParticipant('bank-b', spec, id, pki.signer('bank-b'), pki.verifier),
      reply: async (r) => void replies.push(r),
      onSettled: () => undefined,
    },
    job,
    data,
  );
  /** Sends a setup for (task, round) among `members` and returns what came of it. */
  const setup = async (task: AggregationTask, round: number, members = MEMBERS) => {
    const before = { replies: replies.length, failures: failures.length };
    const aggregation: AggregationId = { jobId: JOB, task, round };
    run.onStep({ stage: 'setup', aggregation, members }, (e) => failures.push(e));
    // An answer (keys), a refusal, or nothing (sitting out): wait for one of the first two, at most 300 ms.
    for (let waited = 0; waited < 300; waited += 10) {
      if (replies.length > before.replies || failures.length > before.failures) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    if (failures.length > before.failures) return { refused: failures.at(-1)! };
    return { joined: replies.length > before.replies };
  };
  /** The statistics sum arriving: the node then holds the model of round 0. */
  const stats = () => {
    const values = new Float64Array(3 + 3 + 1 + 2);
    values.set([100_000, 2e9, 100, 50, 30, 100, 20, 150, 60]);
    return run.onAggregate({
      aggregation: { jobId: JOB, task: 'stats', round: 0 },
      sum: values,
      contributors: MEMBERS,
    });
  };
  return { setup, stats };
}

describe('a node takes part in aggregations once, in the job order', () => {
  it('joins the statistics, refuses them a second time, and refuses an aggregation naming a stranger', async () => {
    const h = harness();
    expect(await h.setup('stats', 0)).toEqual({ joined: true });
    expect((await h.setup('stats', 0)).refused?.code).toBe('ACCORD_SECAGG_PROTOCOL');
    const other = harness();
    expect((await other.setup('stats', 0, ['bank-a', 'bank-b', 'bank-x'])).refused?.code).toBe(
      'ACCORD_SECAGG_PROTOCOL',
    );
  });

  it('sits out training while it lacks the model it needs, without failing the job; then joins in order', async () => {
    const h = harness();
    // No statistics yet: train round 1 needs the model of round 0. Behind: no answer, no failure.
    expect(await h.setup('train', 1)).toEqual({ joined: false });
    await h.stats();
    // Eval of round 1 before train round 1's sum: behind as well.
    expect(await h.setup('eval', 1)).toEqual({ joined: false });
    expect(await h.setup('train', 1)).toEqual({ joined: true });
    // The same train round again: refused (two sums of one round would difference one bank's update).
    expect((await h.setup('train', 1)).refused?.code).toBe('ACCORD_SECAGG_PROTOCOL');
  });

  it('refuses rounds outside the job and aggregations that come after its model', async () => {
    const h = harness();
    await h.stats();
    expect((await h.setup('train', 3)).refused?.code).toBe('ACCORD_SECAGG_PROTOCOL');
    expect((await h.setup('stats', 0)).refused?.code).toBe('ACCORD_SECAGG_PROTOCOL');
  });
});
