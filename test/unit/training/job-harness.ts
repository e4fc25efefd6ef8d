/**
 * Runs a real CoordinatorJob (coordinator/training/job.ts) in process with real members: for each, a
 * SecAggParticipant per aggregation (node/training/secagg-participant.ts) that signs with a certificate of a test CA
 * and checks the others' against it. The job's `deliver(member, event)` is each member's inbox: the member answers a
 * step on the next turn of the event loop with `job.step`, contributing known values (`valuesOf`) encoded for the
 * aggregation's task. Every event, every step call and every reply is recorded.
 *
 * A script per member changes what it does: stay silent, lose its inbox, answer late, or have the relay (the test
 * playing a dishonest coordinator) alter a call before the member sees it or a reply after it left. When a
 * member's participant refuses a step, the member does what a node does (node/training/training-run.ts): it fails
 * the job for everyone, here by `job.end(failed, error, member)` as the coordinator's Cancel handler would.
 */
import { randomUUID } from 'node:crypto';
import { encodeAggregate, aggregationValues } from '../../../models/federated/aggregates.js';
import { CoordinatorJob } from '../../../coordinator/training/job.js';
import type { TlsMaterial } from '../../../platform/tls/credentials.js';
import { createAuthority } from '../../../platform/tls/issue.js';
import {
  type MemberSigner,
  type MemberVerifier,
  memberSigner,
  memberVerifier,
} from '../../../platform/tls/member-signature.js';
import { AccordError, toAccordError } from '../../../primitives/errors/index.js';
import { SECAGG_STAGE } from '../../../primitives/secagg/stages.js';
import {
  type AggregationId,
  aggregationKey,
  type StepCall,
  type StepReply,
  TRAINING_OUTCOME,
  type TrainingEvent,
  type TrainingOutcome,
} from '../../../primitives/training/job-protocol.js';
import { cipherSuite } from '../../../primitives/he/index.js';
import {
  specDigest,
  type HorizontalSpec as TrainingSpec,
  horizontalSpecSchema as trainingSpecSchema,
} from '../../../primitives/training/spec.js';
import { SecAggParticipant } from '../../../node/training/secagg-participant.js';
import { type Authority, memberTls } from '../../helpers/test-pki.js';
import { seeded } from '../secagg/harness.js';

export { seeded };

export const CONSORTIUM = 'test-consortium';

/** A small spec: 2 numeric columns and one categorical (5 inputs), logistic regression. */
export function tinySpec(overrides: Partial<Record<string, unknown>> = {}): TrainingSpec {
  return trainingSpecSchema.parse({
    kind: 'horizontal',
    label: 'defaulted',
    model: { type: 'logistic' },
    rounds: 1,
    learningRate: 0.1,
    validation: { fraction: 0.2, seed: 7 },
    minParticipants: 2,
    purpose: 'risk',
    features: [
      { name: 'income', kind: 'numeric' },
      { name: 'utilisation', kind: 'numeric' },
      { name: 'segment', kind: 'categorical', categories: ['retail', 'sme'] },
    ],
    initSeed: '5a'.repeat(32),
    ...overrides,
  });
}

export function memberNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `bank-${String.fromCharCode(97 + i)}`);
}

/** One CA; a signer per member; one verifier against the CA (what every node holds). */
export class TestPki {
  readonly ca: Authority = createAuthority(CONSORTIUM);
  readonly tls = new Map<string, TlsMaterial>();
  readonly verifier: MemberVerifier = memberVerifier(Buffer.from(this.ca.certPem));

  signer(member: string): MemberSigner {
    let tls = this.tls.get(member);
    if (!tls) {
      tls = memberTls(this.ca, CONSORTIUM, member);
      this.tls.set(member, tls);
    }
    return memberSigner(tls);
  }
}

function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * The values `member` contributes to aggregation `id`: fixed by (member, task, round), of the task's length, in a
 * range the task's codec takes (train values within the clip, so that nothing is clipped).
 */
export function valuesOf(spec: TrainingSpec, member: string, id: AggregationId): Float64Array {
  const next = seeded(seedOf(`${member}/${id.task}/${id.round}`));
  const out = new Float64Array(aggregationValues(spec, id.task));
  const scale = id.task === 'train' ? 2 : 5_000;
  for (let i = 0; i < out.length; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}

/**
 * The most a decoded sum of `members` contributions may differ from the float sum, per value: half a unit of the
 * codec's resolution per member (train: the finest 2^-f with 16 x clip x 2^f < 2^31; stats and eval: 2^-16).
 */
export function sumBound(spec: TrainingSpec, task: AggregationId['task'], members: number): number {
  let f = 16;
  if (task === 'train') for (f = 30; 16 * Math.ceil(spec.clip * 2 ** f) >= 2 ** 31; f--);
  return members * 2 ** -(f + 1);
}

/** What a member does when a step is delivered to it. */
export type StepAction =
  /** Answers on the next turn of the event loop. */
  | 'answer'
  /** Never answers this step (its inbox stays open). */
  | 'silent'
  /** Its inbox is gone: this delivery and every later one rejects. */
  | 'gone'
  /** Never answers, and the coordinator learns its inbox closed (`job.memberLost`). */
  | 'lost'
  /** Answers after `lateMs`. */
  | 'late';

export interface MemberScript {
  onStep?(call: StepCall): StepAction;
  /** The relay alters the call before the member sees it. */
  tamperCall?(call: StepCall): StepCall;
  /** The member (or the relay) alters its reply before the coordinator gets it. */
  tamperReply?(reply: StepReply): StepReply;
}

export interface JobEnd {
  readonly outcome: TrainingOutcome;
  readonly error: AccordError | null;
  readonly by: string | null;
}

export interface HarnessOptions {
  readonly spec?: TrainingSpec;
  readonly members?: readonly string[];
  /** Members not connected when the job starts. */
  readonly offline?: readonly string[];
  readonly scripts?: Readonly<Record<string, MemberScript>>;
  readonly stageTimeoutMs?: number;
  readonly vectorTimeoutMs?: number;
  readonly lateMs?: number;
  readonly pki?: TestPki;
  /** Called after each aggregation, before its sum is delivered (e.g. to bring a member back). */
  readonly onAggregated?: (id: AggregationId, contributors: readonly string[]) => void;
}

/** A member's stand-in dataset fingerprint (64 hex digits from its name). */
export const fingerprintOf = (member: string): string =>
  Buffer.from(member.padEnd(32, '.')).subarray(0, 32).toString('hex');

export class JobHarness {
  readonly spec: TrainingSpec;
  readonly members: readonly string[];
  readonly pki: TestPki;
  readonly job: CoordinatorJob;
  readonly connected: Set<string>;
  /** Every event delivered to each member (step calls as the member saw them, after any tampering). */
  readonly events = new Map<string, TrainingEvent[]>();
  /** Every step call the coordinator sent (before any tampering), in order. */
  readonly calls: { member: string; call: StepCall }[] = [];
  /** Every reply handed to the coordinator, in order. */
  readonly replies: { member: string; reply: StepReply }[] = [];
  /** What each member encoded into its masked vector, by aggregation key. */
  readonly contributed = new Map<string, Map<string, Float64Array>>();
  /** The first error each member's participant threw. */
  readonly participantErrors = new Map<string, AccordError>();
  /** Errors `job.step` threw at a member's reply. */
  readonly stepErrors: { member: string; error: AccordError }[] = [];
  /** `onAggregated` calls, in order. */
  readonly aggregated: { id: AggregationId; contributors: readonly string[] }[] = [];
  readonly ended: Promise<JobEnd>;
  #participants = new Map<string, SecAggParticipant>();
  #signers = new Map<string, MemberSigner>();
  #gone = new Set<string>();
  readonly #scripts: Readonly<Record<string, MemberScript>>;
  readonly #lateMs: number;

  constructor(opts: HarnessOptions = {}) {
    this.spec = opts.spec ?? tinySpec();
    this.members = opts.members ?? memberNames(3);
    this.pki = opts.pki ?? new TestPki();
    this.#scripts = opts.scripts ?? {};
    this.#lateMs = opts.lateMs ?? 0;
    const offline = new Set(opts.offline ?? []);
    this.connected = new Set(this.members.filter((m) => !offline.has(m)));
    for (const m of this.members) {
      this.events.set(m, []);
      this.#signers.set(m, this.pki.signer(m));
    }
    let settle: (end: JobEnd) => void = () => undefined;
    this.ended = new Promise((resolve) => {
      settle = resolve;
    });
    this.job = new CoordinatorJob(
      randomUUID(),
      this.members[0]!,
      this.members,
      this.spec,
      fingerprintOf(this.members[0]!),
      {
        deliver: (member, event) => this.#deliver(member, event),
        cipher: () => cipherSuite('bfv'),
        isConnected: (member) => this.connected.has(member),
        stageTimeoutMs: opts.stageTimeoutMs ?? 5_000,
        vectorTimeoutMs: opts.vectorTimeoutMs ?? opts.stageTimeoutMs ?? 5_000,
        onEnd: (_job, outcome, error, by) => settle({ outcome, error, by }),
        onAggregated: (_job, id, contributors) => {
          this.aggregated.push({ id, contributors: [...contributors] });
          opts.onAggregated?.(id, contributors);
        },
      },
    );
  }

  /** Every peer accepts the spec; the job runs to its end. */
  async run(): Promise<JobEnd> {
    for (const m of this.members.slice(1)) this.job.accept(m, specDigest(this.spec), fingerprintOf(m));
    await this.job.run();
    return this.ended;
  }

  /** The aggregate results `member` received, in order. */
  aggregatesOf(member: string) {
    return this.events
      .get(member)!
      .flatMap((e) => (e.kind === 'aggregate' ? [e.aggregate] : []))
      .map((a) => ({ key: aggregationKey(a.aggregation), ...a }));
  }

  /** The end events `member` received. */
  endsOf(member: string) {
    return this.events.get(member)!.flatMap((e) => (e.kind === 'end' ? [e.end] : []));
  }

  /** Connects a member again (its inbox is back). */
  reconnect(member: string): void {
    this.#gone.delete(member);
    this.connected.add(member);
  }

  #deliver(member: string, event: TrainingEvent): Promise<void> {
    if (this.#gone.has(member) || !this.connected.has(member))
      return Promise.reject(new Error('inbox closed'));
    if (event.kind !== 'step') {
      this.events.get(member)!.push(event);
      return Promise.resolve();
    }
    this.calls.push({ member, call: event.step });
    const script = this.#scripts[member] ?? {};
    const action = script.onStep?.(event.step) ?? 'answer';
    if (action === 'gone') {
      this.#gone.add(member);
      this.connected.delete(member);
      return Promise.reject(new Error('inbox closed'));
    }
    const call = script.tamperCall ? script.tamperCall(event.step) : event.step;
    this.events.get(member)!.push({ kind: 'step', step: call });
    if (action === 'lost') {
      setImmediate(() => {
        this.connected.delete(member);
        this.job.memberLost(member);
      });
    } else if (action === 'answer' || action === 'late') {
      const answer = () => this.#answer(member, call, script);
      if (action === 'late') setTimeout(answer, this.#lateMs);
      else setImmediate(answer);
    }
    return Promise.resolve();
  }

  #answer(member: string, call: StepCall, script: MemberScript): void {
    let reply: StepReply;
    try {
      reply = this.#reply(member, call);
    } catch (err) {
      const error = toAccordError(err);
      if (!this.participantErrors.has(member)) this.participantErrors.set(member, error);
      this.job.end(TRAINING_OUTCOME.FAILED, error, member);
      return;
    }
    if (script.tamperReply) reply = script.tamperReply(reply);
    this.replies.push({ member, reply });
    try {
      this.job.step(member, reply);
    } catch (err) {
      this.stepErrors.push({ member, error: toAccordError(err) });
    }
  }

  #reply(member: string, call: StepCall): StepReply {
    const id = call.aggregation;
    const key = `${member} ${aggregationKey(id)}`;
    if (call.stage === SECAGG_STAGE.SETUP) {
      const p = new SecAggParticipant(member, this.spec, id, this.#signers.get(member)!, this.pki.verifier);
      this.#participants.set(key, p);
      return { stage: call.stage, aggregation: id, keys: p.setup(call.members) };
    }
    const p = this.#participants.get(key);
    if (!p) throw new AccordError('ACCORD_SECAGG_PROTOCOL', { reason: 'no setup' });
    switch (call.stage) {
      case SECAGG_STAGE.SHARE_KEYS:
        return { stage: call.stage, aggregation: id, boxes: p.shareKeys(call.keys) };
      case SECAGG_STAGE.COLLECT_MASKED_VECTORS: {
        const values = valuesOf(this.spec, member, id);
        const masked = p.mask(call.boxes, encodeAggregate(this.spec, id.task, values).lanes);
        const byMember = this.contributed.get(aggregationKey(id)) ?? new Map<string, Float64Array>();
        byMember.set(member, values);
        this.contributed.set(aggregationKey(id), byMember);
        return { stage: call.stage, aggregation: id, masked };
      }
      case SECAGG_STAGE.CONSISTENCY_CHECK:
        return { stage: call.stage, aggregation: id, signature: p.consistencyCheck(call.survivors) };
      case SECAGG_STAGE.UNMASK:
        return { stage: call.stage, aggregation: id, ...p.unmask(call) };
    }
  }
}
