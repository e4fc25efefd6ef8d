/**
 * One training job at the coordinator: invitations and acceptances, then the aggregations in order (stats once;
 * train and eval each round; primitives/training/job-protocol.ts), each over the members connected when it starts.
 * The coordinator decodes each sum and sends it to every participant; it keeps which members took part in each
 * aggregation. It never sees a member's own update: only masked vectors and their sum.
 */
import { aggregationPlan, decodeAggregate } from '../../models/federated/aggregates.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import {
  type AggregationId,
  type AggregationTask,
  aggregationKey,
  sameAggregation,
  type StepReply,
  TRAINING_OUTCOME,
  type TrainingEvent,
  type TrainingOutcome,
} from '../../primitives/training/job-protocol.js';
import {
  asHorizontal,
  type HorizontalSpec,
  specDigest,
  type TrainingSpec,
} from '../../primitives/training/spec.js';
import type { CipherSuite } from '../../primitives/he/index.js';
import type { VerticalAcceptance, VerticalReply } from '../../primitives/vertical/protocol.js';
import { Aggregation } from './aggregation.js';
import { TreeRelay } from './tree-relay.js';
import { VerticalEngine, VerticalFailed } from './vertical.js';

export interface JobDeps {
  deliver(member: string, event: TrainingEvent): Promise<void>;
  isConnected(member: string): boolean;
  readonly stageTimeoutMs: number;
  readonly vectorTimeoutMs: number;
  /** Called once when the job ends, after every participant was told. */
  onEnd(job: CoordinatorJob, outcome: TrainingOutcome, error: AccordError | null, by: string | null): void;
  /** Called after each aggregation with who contributed (for the audit log). */
  onAggregated(job: CoordinatorJob, id: AggregationId, contributors: readonly string[]): void;
  /** The end could not be delivered to `member` (its inbox stalled or closed): deliver it when it is back. */
  onEndUndelivered?(member: string, event: TrainingEvent): void;
  /** Vertical jobs: the homomorphic encryption the coordinator decrypts with. */
  cipher(): Promise<CipherSuite>;
}

export class CoordinatorJob {
  readonly digest: string;
  private readonly accepted = new Set<string>();
  private current: Aggregation | null = null;
  private ended = false;
  /** The latest stats and train sums: a member that comes back gets them before its next aggregation. */
  private readonly latest = new Map<AggregationTask, TrainingEvent>();
  /** Per member, the aggregate events it has been sent since it last connected. */
  private readonly delivered = new Map<string, Set<string>>();
  /**
   * Members whose rows are in the statistics: only they take part in training and evaluation (a member whose rows
   * are not in the total would weigh itself against a total that leaves it out).
   */
  private statsMembers: ReadonlySet<string> | null = null;
  /** The member whose malformed answer failed the job (told to everyone as `by`). */
  private culprit: string | null = null;
  /** Vertical jobs: each party's aligned row count and box key, and the engine once running. */
  private readonly verticalAcceptances = new Map<string, VerticalAcceptance>();
  private vertical: VerticalEngine | TreeRelay | null = null;
  /** The epoch under way (vertical), for the error that names where a party was lost. */
  private epoch = 1;

  constructor(
    readonly id: string,
    readonly initiator: string,
    readonly participants: readonly string[],
    readonly spec: TrainingSpec,
    initiatorFingerprint: string,
    private readonly deps: JobDeps,
    initiatorVertical?: VerticalAcceptance,
  ) {
    this.digest = specDigest(spec);
    this.accepted.add(initiator);
    this.fingerprints.set(initiator, initiatorFingerprint);
    if (spec.kind === 'vertical') {
      if (spec.labelHolder !== initiator)
        throw new AccordError('ACCORD_TRAINING_PEER_INVALID', {
          problem: 'the label holder must open the job',
        });
      if (!initiatorVertical)
        throw new AccordError('ACCORD_VERTICAL_PROTOCOL', {
          reason: 'a vertical job opens with its alignment',
        });
      this.verticalAcceptances.set(initiator, initiatorVertical);
    }
  }

  /** Each participant's dataset fingerprint, as it sent it with its Open or acceptance. */
  private readonly fingerprints = new Map<string, string>();

  private get horizontalSpec(): HorizontalSpec {
    return asHorizontal(this.spec);
  }

  get running(): boolean {
    return !this.ended;
  }

  /** Records an acceptance; true when everyone has accepted (the job can start). */
  accept(member: string, digest: string, fingerprint: string, vertical?: VerticalAcceptance): boolean {
    // One answer per member, before the start: a second acceptance would start the job again.
    if (this.accepted.has(member) || this.started)
      throw new AccordError('ACCORD_TRAINING_INVITATION_NOT_FOUND', { job: this.id });
    if (digest !== this.digest) throw new AccordError('ACCORD_TRAINING_SPEC_MISMATCH', { member });
    if (this.spec.kind === 'vertical') {
      if (!vertical)
        throw new AccordError('ACCORD_VERTICAL_PROTOCOL', {
          reason: 'a vertical acceptance carries its alignment',
        });
      if (vertical.key.member !== member)
        throw new AccordError('ACCORD_VERTICAL_KEY_INVALID', { member, reason: 'it names another member' });
      this.verticalAcceptances.set(member, vertical);
    }
    this.accepted.add(member);
    this.fingerprints.set(member, fingerprint);
    return this.participants.every((m) => this.accepted.has(m));
  }

  /**
   * A member's answer to a step. A late or unexpected one is refused to its sender only (the member is out of that
   * stage, as a dropped one would be); a malformed one fails the aggregation, and with it the job, for everyone.
   */
  step(member: string, reply: StepReply): void {
    const current = this.current;
    let accepted = false;
    if (current && sameAggregation(current.id, reply.aggregation)) {
      try {
        accepted = current.reply(member, reply);
      } catch (err) {
        const error = toAccordError(err);
        this.culprit ??= member;
        current.abort(error);
        throw error;
      }
    }
    if (!accepted)
      throw new AccordError('ACCORD_SECAGG_PROTOCOL', {
        reason: `no ${reply.stage} answer for ${reply.aggregation.task} ${reply.aggregation.round} is expected now`,
      });
  }

  /** Vertical jobs: payload bytes the coordinator received and sent (for the audit of the job's end). */
  get verticalBytes(): number | null {
    return this.vertical?.bytes ?? null;
  }

  /** A party's message in a vertical job; a malformed one fails the job (thrown to its sender too). */
  verticalStep(member: string, reply: VerticalReply): void {
    if (!this.vertical)
      throw new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason: 'the job is not training' });
    this.vertical.reply(member, reply);
  }

  memberLost(member: string): void {
    this.delivered.delete(member);
    this.current?.memberLost(member);
    this.vertical?.memberLost(member, this.epoch);
  }

  /** The member's inbox opened again: what it was sent before may be lost with the old stream. */
  memberBack(member: string): void {
    this.delivered.delete(member);
  }

  /** The job's End event: with every participant's dataset fingerprint when done (the model's lineage). */
  endEvent(outcome: TrainingOutcome, error: AccordError | null, by: string | null): TrainingEvent {
    const fingerprints = outcome === TRAINING_OUTCOME.DONE ? Object.fromEntries(this.fingerprints) : {};
    return { kind: 'end', end: { jobId: this.id, outcome, error, by, fingerprints } };
  }

  /** Ends the job once for everyone. */
  end(outcome: TrainingOutcome, error: AccordError | null, by: string | null): void {
    if (this.ended) return;
    this.ended = true;
    if (error) {
      this.current?.abort(error);
      this.vertical?.fail(error, by);
    }
    const event = this.endEvent(outcome, error, by);
    // A member whose inbox does not take the end now gets it when it subscribes again.
    for (const m of this.participants)
      void this.deps.deliver(m, event).catch(() => this.deps.onEndUndelivered?.(m, event));
    this.deps.onEnd(this, outcome, error, by);
  }

  /** Runs every aggregation; ends the job done, or failed with the first error. */
  /** Set when the job starts: no acceptance is taken after it. */
  private started = false;

  async run(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.spec.kind === 'vertical') return this.runVertical();
    const spec = asHorizontal(this.spec);
    try {
      await this.aggregate('stats', 0);
      for (let round = 1; round <= spec.rounds && !this.ended; round++) {
        await this.aggregate('train', round);
        await this.aggregate('eval', round);
      }
      this.end(TRAINING_OUTCOME.DONE, null, null);
    } catch (err) {
      this.end(TRAINING_OUTCOME.FAILED, toAccordError(err), this.culprit);
    }
  }

  /** A vertical job: every party's alignment agrees, then every epoch (`vertical.ts`). */
  private async runVertical(): Promise<void> {
    const spec = this.spec;
    if (spec.kind !== 'vertical') return;
    try {
      if (spec.model.type === 'gbdt') {
        // Boosted trees: the label holder makes the HE key and drives the rounds; the coordinator only relays.
        TreeRelay.checkShape(spec, this.verticalAcceptances);
        this.vertical = new TreeRelay(this.id, this.participants, spec, this.verticalAcceptances, {
          deliver: this.deps.deliver,
          stageTimeoutMs: this.deps.stageTimeoutMs,
          onEpoch: (tree) => {
            this.epoch = tree;
          },
        });
        await this.vertical.run();
        this.end(TRAINING_OUTCOME.DONE, null, null);
        return;
      }
      const cipher = await this.deps.cipher();
      VerticalEngine.checkShape(spec, this.verticalAcceptances, cipher.slots);
      this.vertical = new VerticalEngine(this.id, this.participants, spec, this.verticalAcceptances, {
        deliver: this.deps.deliver,
        cipher,
        stageTimeoutMs: this.deps.stageTimeoutMs,
        onEpoch: (epoch) => {
          this.epoch = epoch + 1;
        },
      });
      await this.vertical.run();
      this.end(TRAINING_OUTCOME.DONE, null, null);
    } catch (err) {
      if (err instanceof VerticalFailed) this.end(TRAINING_OUTCOME.FAILED, err.error, err.by);
      else this.end(TRAINING_OUTCOME.FAILED, toAccordError(err), null);
    }
  }

  /** Sends a member the latest sums it missed while away, so that it rejoins from the current model. */
  private async catchUp(member: string): Promise<void> {
    const seen = this.delivered.get(member) ?? new Set<string>();
    this.delivered.set(member, seen);
    for (const event of this.latest.values()) {
      if (event.kind !== 'aggregate') continue;
      const key = aggregationKey(event.aggregate.aggregation);
      if (seen.has(key)) continue;
      await this.deps.deliver(member, event);
      seen.add(key);
    }
  }

  private async aggregate(task: AggregationTask, round: number): Promise<void> {
    if (this.ended) return;
    const id: AggregationId = { jobId: this.id, task, round };
    const connected = this.participants
      .filter((m) => this.deps.isConnected(m) && (task === 'stats' || this.statsMembers?.has(m)))
      .sort();
    // A member that could not be brought up to date holds an older model: it sits this aggregation out.
    const members: string[] = [];
    for (const m of connected)
      await this.catchUp(m).then(
        () => members.push(m),
        () => this.delivered.delete(m),
      );
    const aggregation = new Aggregation(id, aggregationPlan(this.horizontalSpec, id, members), {
      stageTimeoutMs: this.deps.stageTimeoutMs,
      vectorTimeoutMs: this.deps.vectorTimeoutMs,
      deliver: (m, call) => this.deps.deliver(m, { kind: 'step', step: call }),
    });
    this.current = aggregation;
    const { sum, contributors } = await aggregation.run();
    this.current = null;
    if (task === 'stats') this.statsMembers = new Set(contributors);
    const event: TrainingEvent = {
      kind: 'aggregate',
      aggregate: { aggregation: id, sum: decodeAggregate(this.horizontalSpec, task, sum), contributors },
    };
    this.deps.onAggregated(this, id, contributors);
    if (task !== 'eval') this.latest.set(task, event);
    const key = aggregationKey(id);
    await Promise.all(
      this.participants
        .filter((m) => this.deps.isConnected(m))
        .map((m) =>
          this.deps
            .deliver(m, event)
            .then(() => this.delivered.get(m)?.add(key))
            .catch(() => undefined),
        ),
    );
  }
}
