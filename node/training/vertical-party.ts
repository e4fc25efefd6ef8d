/**
 * What both kinds of vertical run (vertical-run.ts: logistic regression; tree-run.ts: boosted trees) do alike: accept
 * with a signed box key, handle the coordinator's calls one at a time in arrival order, open the box channels to the
 * other parties from the keys the coordinator relays, record a round's metrics in the job, and on the job's end
 * register the part (naming its lineage) or record why it failed.
 */
import {
  type ModelLineage,
  type RoundReport,
  type TrainingJobRecord,
  trainingEndedWith,
} from '../../platform/store/training-types.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import { X25519KeyPair } from '../../primitives/secagg/key-agreement.js';
import type { TrainingEnd } from '../../primitives/training/job-protocol.js';
import type { VerticalSpec } from '../../primitives/training/spec.js';
import { boxKeyMessage, PartyChannel } from '../../primitives/vertical/channel.js';
import type {
  EpochMetrics,
  SignedBoxKey,
  VerticalAcceptance,
  VerticalCall,
} from '../../primitives/vertical/protocol.js';
import type { VerticalData } from './vertical-data.js';
import type { VerticalRunDeps } from './vertical-run.js';

/**
 * A channel to every other party of `job`, each from its signed box key (checked against the consortium CA);
 * ACCORD_VERTICAL_KEY_INVALID naming the party whose key is missing, unsigned or unusable.
 */
export function partyChannels(
  deps: Pick<VerticalRunDeps, 'self' | 'verifier'>,
  job: TrainingJobRecord,
  boxKey: X25519KeyPair,
  keys: readonly SignedBoxKey[],
): Map<string, PartyChannel> {
  const byMember = new Map(keys.map((k) => [k.member, k]));
  const channels = new Map<string, PartyChannel>();
  for (const member of job.participants.filter((m) => m !== deps.self)) {
    const key = byMember.get(member);
    if (!key) throw new AccordError('ACCORD_VERTICAL_KEY_INVALID', { member, reason: 'it is missing' });
    const reason = deps.verifier(
      member,
      key.certificatePem,
      boxKeyMessage(job.id, member, job.specDigest, key.boxKey),
      key.signature,
    );
    if (reason) throw new AccordError('ACCORD_VERTICAL_KEY_INVALID', { member, reason });
    try {
      channels.set(member, new PartyChannel(deps.self, member, boxKey, key.boxKey));
    } catch {
      throw new AccordError('ACCORD_VERTICAL_KEY_INVALID', { member, reason: 'not a usable X25519 key' });
    }
  }
  return channels;
}

/** The job's record after round `round` (an epoch or a tree) with `metrics` (null: not published to this party). */
export function recordRound(
  deps: Pick<VerticalRunDeps, 'jobs'>,
  job: TrainingJobRecord,
  data: VerticalData,
  evaluatedBy: string,
  round: number,
  metrics: EpochMetrics | null,
): Promise<TrainingJobRecord> {
  const report: RoundReport | null = metrics
    ? {
        round,
        members: job.participants,
        evaluatedBy: [evaluatedBy],
        loss: metrics.logLoss,
        metrics,
        clipped: 0,
      }
    : null;
  return deps.jobs.update(job.id, {
    round,
    history: report ? [...job.history.filter((h) => h.round !== round), report] : job.history,
    local: {
      trainingRows: data.trainingRows.length,
      validationRows: data.validationRows.length,
      missingValues: data.missingValues,
      otherValues: data.otherValues,
    },
  });
}

/** The lineage of a vertical job's part: the job, its parties, this party's data and every party's fingerprint. */
export function verticalLineage(
  job: TrainingJobRecord,
  spec: VerticalSpec,
  data: VerticalData,
  fingerprints: Readonly<Record<string, string>>,
): ModelLineage {
  return {
    job: job.id,
    initiator: job.initiator,
    participants: job.participants,
    finalMembers: job.participants,
    dataset: { name: data.dataset, fingerprint: data.fingerprint, rows: data.alignedRows },
    fingerprints: { ...fingerprints },
    spec,
  };
}

/** One party's run of a vertical job: the calls' queue, acceptance, the end; the protocol is the subclass's. */
export abstract class VerticalParty {
  protected readonly boxKey = X25519KeyPair.generate();
  protected readonly channels = new Map<string, PartyChannel>();
  protected settled = false;
  private queue: Promise<void> = Promise.resolve();
  /** Fails the job for everyone (given with every call): for work that runs outside a call. */
  private failJob: ((error: AccordError) => void) | null = null;

  constructor(
    readonly deps: VerticalRunDeps,
    public job: TrainingJobRecord,
    readonly data: VerticalData,
  ) {}

  /** The columns this party accepts the job with (the coordinator holds it to them). */
  protected abstract columns(): number;
  /** Handles one call of the coordinator. */
  protected abstract handle(call: VerticalCall): Promise<void>;
  /** The job ended done: registers this party's part (or marks the job failed if it cannot). */
  protected abstract complete(fingerprints: Readonly<Record<string, string>>): Promise<void>;
  /** Frees what the run holds (WebAssembly objects, channels, threads). */
  protected abstract release(): void;

  /** The aligned row count, column count and signed box key this node accepts (or opens) the job with. */
  acceptance(): VerticalAcceptance {
    const boxKey = this.boxKey.publicKey;
    return {
      alignedRows: this.data.alignedRows,
      columns: this.columns(),
      key: {
        member: this.deps.self,
        boxKey,
        signature: this.deps.signer.sign(
          boxKeyMessage(this.job.id, this.deps.self, this.job.specDigest, boxKey),
        ),
        certificatePem: this.deps.signer.certificatePem,
      },
    };
  }

  /** A stage from the coordinator, handled in arrival order; a failure fails the job for everyone (by `fail`). */
  onCall(call: VerticalCall, fail: (error: AccordError) => void): void {
    this.failJob = fail;
    this.enqueue(async () => {
      if (this.settled) return;
      try {
        await this.handle(call);
      } catch (err) {
        this.failed(err, call.stage);
      }
    });
  }

  /** Logs a stage's failure here and fails the job. */
  protected failed(err: unknown, stage: string): void {
    const error = toAccordError(err);
    this.deps.log.warn('a vertical training stage failed here', {
      job: this.job.id,
      stage,
      code: error.code,
      ...(error.code === 'ACCORD_INTERNAL' ? { cause: (err as Error).message } : {}),
    });
    this.failJob?.(error);
  }

  /** Opens the box channels from the keys the coordinator relays (ACCORD_VERTICAL_KEY_INVALID naming a party). */
  protected openChannels(keys: readonly SignedBoxKey[]): void {
    for (const [member, channel] of partyChannels(this.deps, this.job, this.boxKey, keys))
      this.channels.set(member, channel);
  }

  /** The coordinator ended the job: register this party's part if done, else record why it failed. */
  onEnd(end: TrainingEnd): Promise<void> {
    return this.enqueue(async () => {
      if (end.outcome !== 'done') {
        await this.markFailed(end.outcome, end.error ?? new AccordError('ACCORD_TRAINING_LOST'));
        return;
      }
      try {
        await this.complete(end.fingerprints);
      } catch (err) {
        await this.markFailed('failed', toAccordError(err));
      }
    });
  }

  /** Ends the run: what it holds released, the node told (once). */
  protected settle(): void {
    this.settled = true;
    this.release();
    this.deps.onSettled(this.job.id);
  }

  /** Ends the run without a model part (idempotent). */
  async markFailed(state: 'failed' | 'cancelled', error: AccordError): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    this.release();
    this.job = await this.deps.jobs.update(this.job.id, trainingEndedWith(state, error));
    this.deps.onSettled(this.job.id);
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
