/**
 * The boosted-tree protocol in one process: the coordinator's relay (coordinator/training/tree-relay.ts) and one
 * TreeRun per bank (node/training/tree-run.ts), wired through in-memory queues instead of gRPC, with real BFV
 * (primitives/he/histogram.ts). Hooks let a test change any call or reply in flight, as a misbehaving relay or party
 * would. Data and signatures as harness.ts (the breast-cancer fixture split across three banks).
 */
import { randomUUID } from 'node:crypto';
import { VerticalFailed } from '../../../coordinator/training/vertical.js';
import { TreeRelay } from '../../../coordinator/training/tree-relay.js';
import { TreeRun } from '../../../node/training/tree-run.js';
import { type AccordError, toAccordError } from '../../../primitives/errors/index.js';
import type { VerticalSpec } from '../../../primitives/training/spec.js';
import type { VerticalCall, VerticalReply } from '../../../primitives/vertical/protocol.js';
import { silentLog } from '../../helpers/log.js';
import { dataOf, type MemoryJobs, PARTIES, partyStore, signerOf, spec, verifier } from './harness.js';

/** A small tree job's spec over the fixture (3 trees of depth 3). */
export function treeSpec(
  model: Record<string, unknown> = {},
  overrides: Record<string, unknown> = {},
): VerticalSpec {
  return spec({
    model: {
      type: 'gbdt',
      trees: 3,
      depth: 3,
      learningRate: 0.3,
      bins: 16,
      minChildWeight: 1,
      l2: 1,
      ...model,
    },
    ...overrides,
  });
}

export interface TreeHarnessOptions {
  readonly spec?: VerticalSpec;
  /** Changes (or drops, with null) a reply on its way to the coordinator. */
  readonly onReply?: (member: string, reply: VerticalReply) => VerticalReply | null;
  /** Changes a call on its way to a party; several calls deliver it several times (a replaying relay). */
  readonly onCall?: (member: string, call: VerticalCall) => VerticalCall | VerticalCall[];
  readonly stageTimeoutMs?: number;
  readonly histogramWorkers?: number;
  /** Every round message a party opened: receiver, sender, plaintext. */
  readonly observe?: (to: string, from: string, message: Uint8Array) => void;
}

export interface TreeHarnessResult {
  readonly failure: { error: AccordError; by: string | null } | null;
  readonly runs: Record<string, TreeRun>;
  readonly stores: Record<string, MemoryJobs>;
  readonly spec: VerticalSpec;
}

/** Runs a whole tree job; resolves with the failure (if any) once every party has settled. */
export async function runTrees(options: TreeHarnessOptions = {}): Promise<TreeHarnessResult> {
  const s = options.spec ?? treeSpec();
  const jobId = randomUUID();
  const runs: Record<string, TreeRun> = {};
  const stores: Record<string, MemoryJobs> = {};
  let relay: TreeRelay | null = null;
  const later = (f: () => void) => setImmediate(f);
  for (const m of PARTIES) {
    const { store, job } = await partyStore(s, jobId, m);
    stores[m] = store;
    runs[m] = new TreeRun(
      {
        self: m,
        jobs: store,
        log: silentLog,
        signer: signerOf(m),
        verifier,
        allowUnencrypted: false,
        // In one process the histograms stay on the main thread (the integration tests run the worker threads).
        histogramWorkers: options.histogramWorkers ?? 0,
        reply: async (reply) => {
          const changed = options.onReply ? options.onReply(m, reply) : reply;
          if (changed)
            later(() => {
              try {
                relay?.reply(m, changed);
              } catch {
                // The relay failed the job and blamed the sender; the run learns it from the end.
              }
            });
        },
        onSettled: () => undefined,
        ...(options.observe ? { observeOpened: (from, message) => options.observe!(m, from, message) } : {}),
      },
      job,
      dataOf(s, m),
    );
  }
  const acceptances = new Map(PARTIES.map((m) => [m, runs[m]!.acceptance()] as const));
  let failure: TreeHarnessResult['failure'] = null;
  try {
    TreeRelay.checkShape(s, acceptances);
    relay = new TreeRelay(jobId, [...PARTIES], s, acceptances, {
      stageTimeoutMs: options.stageTimeoutMs ?? 20_000,
      deliver: async (member, event) => {
        if (event.kind !== 'vertical') return;
        const calls = options.onCall ? options.onCall(member, event.call) : event.call;
        for (const call of Array.isArray(calls) ? calls : [calls])
          later(() => runs[member]!.onCall(call, (error) => relay?.fail(error, member)));
      },
    });
    await relay.run();
  } catch (err) {
    failure =
      err instanceof VerticalFailed
        ? { error: err.error, by: err.by }
        : { error: toAccordError(err), by: null };
  }
  const end = failure
    ? { jobId, outcome: 'failed' as const, error: failure.error, by: failure.by, fingerprints: {} }
    : { jobId, outcome: 'done' as const, error: null, by: null, fingerprints: {} };
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.all(PARTIES.map((m) => runs[m]!.onEnd(end)));
  return { failure, runs, stores, spec: s };
}
