/**
 * One training job as it runs on this node: its rows, the agreed preprocessing, the current global model, and its
 * part in each aggregation (primitives/training/job-protocol.ts). It answers the coordinator's steps through the
 * SecAgg+ participant (`secagg-participant.ts`), so what leaves the node is only ever a masked vector, signed public
 * keys, encrypted shares and the shares of secrets the protocol says to reveal. On the job's end it registers the
 * model with its ONNX export and lineage, in one transaction with the job's completion.
 */
import { randomUUID } from 'node:crypto';
import { evaluationSums, EVAL_BINS, metricsFromHistogram } from '../../models/metrics.js';
import { fedAvgContribution, fedAvgFromSum } from '../../models/fedavg.js';
import { aggregationValues, encodeAggregate } from '../../models/federated/aggregates.js';
import { initialParameters, predict } from '../../models/network.js';
import { exportOnnx } from '../../models/onnx/export.js';
import {
  encodeRows,
  localColumnStats,
  localStatsLayout,
  preprocessingFromSums,
} from '../../models/preprocessing.js';
import { deriveSeed } from '../../models/random.js';
import { trainLocal } from '../../models/train-local.js';
import type { Preprocessing } from '../../models/types.js';
import type { Logger } from '../../platform/log/logger.js';
import type {
  RoundReport,
  TrainingJobRecord,
  TrainingJobStore,
} from '../../platform/store/training-types.js';
import { trainingEndedWith } from '../../platform/store/training-types.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import {
  type AggregateResult,
  aggregationKey,
  type AggregationId,
  type StepCall,
  type StepReply,
  type TrainingEnd,
} from '../../primitives/training/job-protocol.js';
import { SECAGG_STAGE } from '../../primitives/secagg/stages.js';
import { asHorizontal, type HorizontalSpec } from '../../primitives/training/spec.js';
import type { LocalData } from './local-data.js';
import type { SecAggParticipant } from './secagg-participant.js';

export interface TrainingRunDeps {
  readonly self: string;
  readonly jobs: TrainingJobStore;
  readonly log: Logger;
  /** A fresh SecAgg+ participant for one aggregation. */
  participant(id: AggregationId): SecAggParticipant;
  /** Answers the coordinator. */
  reply(reply: StepReply): Promise<void>;
  /** Called once when the run has settled (done, failed or cancelled). */
  onSettled(id: string): void;
}

interface Encoded {
  readonly X: Float64Array;
  readonly width: number;
}

export class TrainingRun {
  private preprocessing: Preprocessing | null = null;
  private training: Encoded | null = null;
  private validation: Encoded | null = null;
  private totalRows = 0;
  private global: Float64Array | null = null;
  private readonly rounds = new Map<number, { members: readonly string[]; loss: number }>();
  private readonly applied = new Set<string>();
  private readonly participants = new Map<string, SecAggParticipant>();
  /**
   * Aggregations this node has set up: it takes part in each (task, round) once. Two sums of one round over member
   * sets that differ by one member would give that member's update away, so a second setup is refused.
   */
  private readonly joined = new Set<string>();
  private clippedByRound = new Map<number, number>();
  private lastTrainMembers: readonly string[] = [];
  /** The round of the global model this node holds: 0 after the statistics, r after train round r's sum. */
  private modelRound = -1;
  private settled = false;
  /**
   * Steps, sums and the end run one at a time, in arrival order (a vector step may train for a while), so that a sum
   * is never applied while a step reads the model and the end sees every sum that came before it.
   */
  private queue: Promise<void> = Promise.resolve();

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  constructor(
    private readonly deps: TrainingRunDeps,
    public job: TrainingJobRecord,
    private readonly data: LocalData,
  ) {}

  get spec(): HorizontalSpec {
    return asHorizontal(this.job.spec);
  }

  /** A step of an aggregation: answered in order; a failure here fails the job for everyone (by the caller). */
  onStep(call: StepCall, fail: (error: AccordError) => void): void {
    void this.enqueue(async () => {
      if (this.settled) return;
      let reply: StepReply | null;
      try {
        reply = await this.answer(call);
      } catch (err) {
        fail(toAccordError(err));
        return;
      }
      if (reply === null) return;
      // A reply the coordinator refuses (it came after the stage's deadline) leaves this node out of that
      // aggregation only; it takes part again in the next one.
      await this.deps.reply(reply).catch((err) =>
        this.deps.log.warn('a secure-aggregation answer was refused', {
          job: this.job.id,
          stage: call.stage,
          code: toAccordError(err).code,
        }),
      );
    });
  }

  private async answer(call: StepCall): Promise<StepReply | null> {
    const key = aggregationKey(call.aggregation);
    const aggregation = call.aggregation;
    if (call.stage === SECAGG_STAGE.SETUP) {
      if (this.admit(aggregation, call.members) === 'behind') {
        this.deps.log.info('sitting out an aggregation: this node has not received the model it needs yet', {
          job: this.job.id,
          task: aggregation.task,
          round: aggregation.round,
        });
        return null;
      }
      this.joined.add(key);
      // One aggregation at a time: a new setup ends (and wipes) the previous round's participant.
      const participant = this.deps.participant(aggregation);
      this.participants.clear();
      this.participants.set(key, participant);
      return { stage: call.stage, aggregation, keys: participant.setup(call.members) };
    }
    const participant = this.participants.get(key);
    if (!participant)
      throw new AccordError('ACCORD_SECAGG_PROTOCOL', {
        reason: `no setup for ${aggregation.task} ${aggregation.round}`,
      });
    switch (call.stage) {
      case SECAGG_STAGE.SHARE_KEYS:
        return { stage: call.stage, aggregation, boxes: participant.shareKeys(call.keys) };
      case SECAGG_STAGE.COLLECT_MASKED_VECTORS:
        return {
          stage: call.stage,
          aggregation,
          masked: participant.mask(call.boxes, this.contribution(aggregation)),
        };
      case SECAGG_STAGE.CONSISTENCY_CHECK:
        return { stage: call.stage, aggregation, signature: participant.consistencyCheck(call.survivors) };
      case SECAGG_STAGE.UNMASK: {
        const response = participant.unmask(call);
        this.participants.delete(key);
        return { stage: call.stage, aggregation, ...response };
      }
    }
  }

  /**
   * Whether this node may take part in an aggregation: each (task, round) once, in the job's order (statistics first;
   * train round r from the model of round r - 1; eval round r of the model of round r), among members of the job
   * only. A coordinator that asks out of order, or twice, could difference two sums over member sets that differ by
   * one bank and isolate that bank's update or histogram.
   */
  private admit(id: AggregationId, members: readonly string[]): 'join' | 'behind' {
    const refuse = (reason: string) => new AccordError('ACCORD_SECAGG_PROTOCOL', { reason });
    if (this.joined.has(aggregationKey(id))) throw refuse(`${id.task} round ${id.round} was set up before`);
    if (members.some((m) => !this.job.participants.includes(m)) || new Set(members).size !== members.length)
      throw refuse('the members named are not distinct members of the job');
    if (id.task === 'stats' ? id.round !== 0 : id.round < 1 || id.round > this.spec.rounds)
      throw refuse(`${id.task} round ${id.round} is not in the job`);
    // The model round this aggregation needs: none for the statistics, r - 1 to train round r, r to evaluate it.
    const needs = id.task === 'stats' ? -1 : id.task === 'train' ? id.round - 1 : id.round;
    if (this.modelRound > needs)
      throw refuse(`${id.task} round ${id.round} comes after this node's model of round ${this.modelRound}`);
    // Behind (a sum that has not reached this node yet): sit this one out, as a dropped member would.
    return this.modelRound < needs ? 'behind' : 'join';
  }

  /** What this node contributes to an aggregation, encoded for masking. */
  private contribution(id: AggregationId): Uint32Array {
    const spec = this.spec;
    const values = new Float64Array(aggregationValues(spec, id.task));
    if (id.task === 'stats') {
      values.set(localColumnStats(spec.features, this.data.training.raw));
      const at = localStatsLayout(spec.features).length;
      values[at] = this.data.training.rows;
      values[at + 1] = this.data.training.labels.reduce((n, y) => n + y, 0);
      return encodeAggregate(spec, 'stats', values).lanes;
    }
    const training = this.requireEncoded();
    if (id.task === 'train') {
      const result = trainLocal({
        spec: spec.model,
        parameters: this.global!,
        X: training.X,
        y: this.data.training.labels,
        rows: this.data.training.rows,
        width: training.width,
        epochs: spec.localEpochs,
        batchSize: spec.batchSize,
        learningRate: spec.learningRate,
        optimizer: spec.optimizer,
        l2: spec.l2,
        seed: deriveSeed(spec.initSeed, `${this.deps.self} round ${id.round}`),
      });
      const contribution = fedAvgContribution(result.parameters, this.data.training.rows, this.totalRows);
      values.set(contribution);
      values[contribution.length] = (result.loss * this.data.training.rows) / this.totalRows;
      const { lanes, clipped } = encodeAggregate(spec, 'train', values);
      this.clippedByRound.set(id.round, clipped);
      return lanes;
    }
    const validation = this.validation!;
    const scores = predict(
      this.global!,
      spec.model,
      validation.X,
      this.data.validation.rows,
      validation.width,
    );
    values.set(evaluationSums(scores, this.data.validation.labels, EVAL_BINS));
    values[2 * EVAL_BINS + 1] = this.clippedByRound.get(id.round) ?? 0;
    return encodeAggregate(spec, 'eval', values).lanes;
  }

  private requireEncoded(): Encoded {
    if (!this.training || !this.global)
      throw new AccordError('ACCORD_SECAGG_PROTOCOL', { reason: 'training asked for before the statistics' });
    return this.training;
  }

  /** An aggregated sum from the coordinator (each applied once, even when sent again on a reconnect). */
  onAggregate(aggregate: AggregateResult): Promise<void> {
    return this.enqueue(() => this.apply(aggregate));
  }

  private async apply(aggregate: AggregateResult): Promise<void> {
    const key = aggregationKey(aggregate.aggregation);
    if (this.applied.has(key) || this.settled) return;
    const spec = this.spec;
    const { sum } = aggregate;
    const { task, round } = aggregate.aggregation;
    if (sum.length !== aggregationValues(spec, task) || !sum.every(Number.isFinite))
      throw new AccordError('ACCORD_SECAGG_PROTOCOL', {
        reason: `a ${task} sum of the wrong length or not finite`,
      });
    if (
      task === 'train'
        ? round <= this.modelRound || this.modelRound < 0
        : task === 'stats' && this.modelRound >= 0
    )
      return; // an older sum sent again on a reconnect
    this.applied.add(key);
    if (task === 'stats') {
      const at = localStatsLayout(spec.features).length;
      this.preprocessing = preprocessingFromSums(spec.features, sum.subarray(0, at));
      this.totalRows = Math.round(sum[at]!);
      // This node's own counts of cells that fell back to the mean or to "other": kept here, never sent.
      let missingValues = 0;
      let unknownValues = 0;
      const encode = (split: LocalData['training']): Encoded => {
        const e = encodeRows(this.preprocessing!, split.raw, split.rows);
        for (const n of e.missingCount.values()) missingValues += n;
        for (const n of e.otherCount.values()) unknownValues += n;
        return { X: e.X, width: e.width };
      };
      this.training = encode(this.data.training);
      this.validation = encode(this.data.validation);
      this.global ??= initialParameters(spec.model, this.training.width, spec.initSeed);
      this.modelRound = 0;
      const otherValues: Record<string, number> = {};
      const layout = localStatsLayout(spec.features);
      spec.features.forEach((f, c) => {
        if (f.kind === 'categorical') otherValues[f.name] = Math.round(sum[layout.offsets[c]!]!);
      });
      this.job = await this.deps.jobs.update(this.job.id, {
        state: 'running',
        preprocessing: { trainingRows: this.totalRows, otherValues },
        local: {
          trainingRows: this.data.training.rows,
          validationRows: this.data.validation.rows,
          missingValues,
          otherValues: unknownValues,
        },
      });
      return;
    }
    if (task === 'train') {
      const parameters = fedAvgFromSum(sum.subarray(0, sum.length - 1));
      const weight = sum[sum.length - 2]!;
      this.global = parameters;
      this.modelRound = round;
      this.lastTrainMembers = aggregate.contributors;
      this.rounds.set(round, { members: aggregate.contributors, loss: sum[sum.length - 1]! / weight });
      return;
    }
    const m = metricsFromHistogram(sum.subarray(0, 2 * EVAL_BINS + 1), EVAL_BINS, spec.threshold);
    const trained = this.rounds.get(round);
    // An evaluation of a round whose model this node never received (it was away): not this node's to report.
    if (!trained) return;
    const report: RoundReport = {
      round,
      members: trained.members,
      evaluatedBy: aggregate.contributors,
      loss: trained.loss,
      metrics: {
        auc: m.auc,
        ks: m.ks,
        logLoss: m.logLoss,
        threshold: m.threshold,
        confusion: m.confusion,
        positives: m.positives,
        negatives: m.negatives,
      },
      clipped: Math.round(sum[2 * EVAL_BINS + 1]!),
    };
    this.job = await this.deps.jobs.update(this.job.id, {
      round,
      history: [...this.job.history.filter((h) => h.round !== round), report],
    });
  }

  /** The coordinator ended the job: register the model if done, else record why it failed. */
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

  private async complete(fingerprints: Readonly<Record<string, string>>): Promise<void> {
    if (this.settled) return;
    const spec = this.spec;
    // The final round's model is what every member registers; a member that was away for some evaluations has
    // fewer rounds in its history, not another model.
    if (!this.preprocessing || !this.global || this.modelRound !== spec.rounds) {
      await this.markFailed('failed', new AccordError('ACCORD_TRAINING_LOST'));
      return;
    }
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    const model = { spec: spec.model, preprocessing: this.preprocessing, parameters: this.global };
    const onnx = exportOnnx(model, {
      model_id: id,
      job: this.job.id,
      purpose: spec.purpose,
      label: spec.label,
      created_at: createdAt,
    });
    await this.deps.jobs.complete(
      this.job.id,
      {
        id,
        createdAt,
        purpose: spec.purpose,
        label: spec.label,
        model: spec.model,
        preprocessing: this.preprocessing,
        parameters: this.global,
        history: this.job.history,
        lineage: {
          job: this.job.id,
          initiator: this.job.initiator,
          participants: this.job.participants,
          finalMembers: this.lastTrainMembers,
          dataset: { name: this.job.dataset, fingerprint: this.data.fingerprint, rows: this.data.rows },
          fingerprints: { ...fingerprints },
          spec,
        },
      },
      onnx,
    );
    this.settled = true;
    this.participants.clear();
    this.deps.onSettled(this.job.id);
  }

  /** Ends the run without a model (idempotent). */
  async markFailed(state: 'failed' | 'cancelled', error: AccordError): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    this.participants.clear();
    this.job = await this.deps.jobs.update(this.job.id, trainingEndedWith(state, error));
    this.deps.onSettled(this.job.id);
  }
}
