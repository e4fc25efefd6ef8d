/**
 * The vertical protocol in one process: the coordinator's engine (coordinator/training/vertical.ts) and one
 * VerticalRun per bank (node/training/vertical-run.ts), wired through in-memory queues instead of gRPC, with real
 * BFV. Hooks let a test change any call or reply in flight, as a misbehaving relay or party would. Party signatures
 * are HMACs keyed per member (the certificate path is the integration test's).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VerticalEngine, VerticalFailed } from '../../../coordinator/training/vertical.js';
import type { FeatureColumn, RawCell } from '../../../models/types.js';
import { silentLog } from '../../helpers/log.js';
import type { MemberSigner, MemberVerifier } from '../../../platform/tls/member-signature.js';
import type {
  ModelRecord,
  TrainingJobRecord,
  TrainingJobStore,
} from '../../../platform/store/training-types.js';
import { newTrainingJob } from '../../../platform/store/training-types.js';
import { type CipherKind, cipherSuite } from '../../../primitives/he/index.js';
import { type AccordError, toAccordError } from '../../../primitives/errors/index.js';
import { type VerticalSpec, verticalSpecSchema } from '../../../primitives/training/spec.js';
import type {
  VerticalAcceptance,
  VerticalCall,
  VerticalReply,
} from '../../../primitives/vertical/protocol.js';
import { prepareVerticalData, type VerticalData } from '../../../node/training/vertical-data.js';
import { VerticalRun } from '../../../node/training/vertical-run.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
export const PARTIES = ['bank-a', 'bank-b', 'bank-c'] as const;

function table(file: string): { header: string[]; rows: string[][] } {
  const [head, ...lines] = readFileSync(join(FIXTURES, file), 'utf8').trim().split('\n');
  return { header: head!.split(','), rows: lines.map((l) => l.split(',')) };
}

/** bank-a: y and guest x0..x9; bank-b: host x0..x9; bank-c: host x10..x19; all 569 rows aligned in file order. */
export function partyColumns(): Record<string, { columns: Map<string, RawCell[]>; label: RawCell[] | null }> {
  const guest = table('breast_hetero_guest.csv');
  const host = table('breast_hetero_host.csv');
  const cols = (t: ReturnType<typeof table>, names: string[]) =>
    new Map(names.map((n) => [n, t.rows.map((r) => r[t.header.indexOf(n)]!)] as const));
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `x${from + i}`);
  return {
    'bank-a': { columns: cols(guest, range(0, 10)), label: guest.rows.map((r) => r[1]!) },
    'bank-b': { columns: cols(host, range(0, 10)), label: null },
    'bank-c': { columns: cols(host, range(10, 20)), label: null },
  };
}

export function spec(overrides: Record<string, unknown> = {}): VerticalSpec {
  const numeric = (names: string[]): FeatureColumn[] => names.map((name) => ({ name, kind: 'numeric' }));
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `x${from + i}`);
  return verticalSpecSchema.parse({
    kind: 'vertical',
    label: 'y',
    model: { type: 'logistic' },
    alignment: randomUUID(),
    epochs: 2,
    batchSize: 160,
    learningRate: 0.5,
    validation: { fraction: 0.2, seed: 7 },
    purpose: 'risk',
    labelHolder: 'bank-a',
    features: {
      'bank-a': numeric(range(0, 10)),
      'bank-b': numeric(range(0, 10)),
      'bank-c': numeric(range(10, 20)),
    },
    initSeed: '5a'.repeat(32),
    ...overrides,
  });
}

export function dataOf(s: VerticalSpec, member: string): VerticalData {
  const { columns, label } = partyColumns()[member]!;
  const features = s.features[member];
  if (!Array.isArray(features)) throw new Error('the harness lists columns');
  const rows = columns.values().next().value!.length;
  return prepareVerticalData({
    dataset: 'clients',
    alignment: s.alignment,
    features,
    columns,
    label: label ? { name: 'y', cells: label } : null,
    rowKeys: Array.from({ length: rows }, (_, i) => i + 2),
    validation: s.validation,
  });
}

export class MemoryJobs implements TrainingJobStore {
  readonly jobs = new Map<string, TrainingJobRecord>();
  readonly models: ModelRecord[] = [];
  readonly onnx: Uint8Array[] = [];
  async create(r: TrainingJobRecord) {
    this.jobs.set(r.id, r);
  }
  async update(id: string, patch: Partial<TrainingJobRecord>) {
    const next = { ...this.jobs.get(id)!, ...patch };
    this.jobs.set(id, next);
    return next;
  }
  async get(id: string) {
    return this.jobs.get(id) ?? null;
  }
  async list() {
    return [...this.jobs.values()];
  }
  async complete(id: string, model: ModelRecord, onnx: Uint8Array) {
    this.models.push(model);
    this.onnx.push(onnx);
    return this.update(id, { state: 'done', modelId: model.id });
  }
  async failUnfinished() {
    return 0;
  }
}

/** Party `m`'s job store, holding the job as it waits to start (bank-a initiated it). */
export async function partyStore(
  s: VerticalSpec,
  jobId: string,
  m: string,
): Promise<{ store: MemoryJobs; job: TrainingJobRecord }> {
  const store = new MemoryJobs();
  const job: TrainingJobRecord = {
    ...newTrainingJob({
      id: jobId,
      role: m === 'bank-a' ? 'initiator' : 'participant',
      initiator: 'bank-a',
      participants: [...PARTIES],
      spec: s,
    }),
    dataset: 'clients',
    state: 'waiting',
  };
  await store.create(job);
  return { store, job };
}

const hmacKey = (member: string) => `test signing key of ${member}`;
export const signerOf = (member: string): MemberSigner => ({
  certificatePem: member,
  sign: (message) => createHmac('sha256', hmacKey(member)).update(message).digest(),
});
export const verifier: MemberVerifier = (member, certificatePem, message, signature) =>
  certificatePem === member &&
  createHmac('sha256', hmacKey(member)).update(message).digest().equals(Buffer.from(signature))
    ? null
    : 'the signature does not verify';

export interface HarnessOptions {
  readonly spec?: VerticalSpec;
  readonly cipher?: CipherKind;
  readonly allowUnencrypted?: boolean;
  /** Changes (or drops, with null) a reply on its way to the coordinator. */
  readonly onReply?: (member: string, reply: VerticalReply) => VerticalReply | null;
  /** Changes a call on its way to a party; several calls deliver it several times (a replaying relay). */
  readonly onCall?: (member: string, call: VerticalCall) => VerticalCall | VerticalCall[];
  /** Changes an acceptance before the coordinator sees it. */
  readonly onAccept?: (member: string, acceptance: VerticalAcceptance) => VerticalAcceptance;
}

export interface HarnessResult {
  readonly failure: { error: AccordError; by: string | null } | null;
  readonly runs: Record<string, VerticalRun>;
  readonly stores: Record<string, MemoryJobs>;
  readonly spec: VerticalSpec;
}

/** Runs a whole job; resolves with the failure (if any) once every party has settled. */
export async function runVertical(options: HarnessOptions = {}): Promise<HarnessResult> {
  const s = options.spec ?? spec();
  const jobId = randomUUID();
  const log = silentLog;
  const runs: Record<string, VerticalRun> = {};
  const stores: Record<string, MemoryJobs> = {};
  let engine: VerticalEngine | null = null;
  const later = (f: () => void) => setImmediate(f);
  for (const m of PARTIES) {
    const { store, job } = await partyStore(s, jobId, m);
    stores[m] = store;
    runs[m] = new VerticalRun(
      {
        self: m,
        jobs: store,
        log,
        signer: signerOf(m),
        verifier,
        allowUnencrypted: options.allowUnencrypted ?? false,
        reply: async (reply) => {
          const changed = options.onReply ? options.onReply(m, reply) : reply;
          if (changed)
            later(() => {
              try {
                engine?.reply(m, changed);
              } catch {
                // The engine failed the job and blamed the sender; the run learns it from the end.
              }
            });
        },
        onSettled: () => undefined,
      },
      job,
      dataOf(s, m),
    );
  }
  const acceptances = new Map(
    PARTIES.map((m) => {
      const a = runs[m]!.acceptance();
      return [m, options.onAccept ? options.onAccept(m, a) : a] as const;
    }),
  );
  let failure: HarnessResult['failure'] = null;
  try {
    const cipher = await cipherSuite(options.cipher ?? 'bfv');
    VerticalEngine.checkShape(s, acceptances, cipher.slots);
    engine = new VerticalEngine(jobId, [...PARTIES], s, acceptances, {
      cipher,
      stageTimeoutMs: 20_000,
      deliver: async (member, event) => {
        if (event.kind !== 'vertical') return;
        const calls = options.onCall ? options.onCall(member, event.call) : event.call;
        for (const call of Array.isArray(calls) ? calls : [calls])
          later(() => runs[member]!.onCall(call, (error) => engine?.fail(error, member)));
      },
    });
    await engine.run();
  } catch (err) {
    failure =
      err instanceof VerticalFailed
        ? { error: err.error, by: err.by }
        : { error: toAccordError(err), by: null };
  }
  const end = failure
    ? { jobId, outcome: 'failed' as const, error: failure.error, by: failure.by, fingerprints: {} }
    : { jobId, outcome: 'done' as const, error: null, by: null, fingerprints: {} };
  // The end comes after every call delivered before it, as on an inbox stream.
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.all(PARTIES.map((m) => runs[m]!.onEnd(end)));
  return { failure, runs, stores, spec: s };
}
