/**
 * One vertical job as it runs on this node (primitives/vertical/protocol.ts): its aligned rows and its own model part,
 * and its answer to each stage. A feature holder encrypts its partial logits for the label holder and returns masked
 * gradients of its columns; the label holder forms the encrypted residuals, returns its own masked gradients, and
 * evaluates each epoch on the validation rows. What leaves the node is only ever a BFV ciphertext under the
 * coordinator's key inside a box only the receiving party opens, a masked ciphertext for the coordinator, or the
 * metrics the label holder chooses to publish. On the job's end it registers its part (preprocessing, weights, and
 * for the label holder how partial logits combine into the score) with its ONNX export, in one transaction with the
 * job's completion.
 */
import { randomUUID } from 'node:crypto';
import { auc, confusion, ks, logLoss } from '../../models/metrics.js';
import { sigmoid } from '../../models/network.js';
import { exportVerticalPartOnnx } from '../../models/onnx/vertical-export.js';
import {
  epochBatches,
  fixedColumns,
  fixedLogits,
  gradientFromSum,
  newPartyModel,
  type PartyModel,
  partyStep,
  verticalOptimiser,
  weightsOf,
  logitFromFixed,
  partialLogitsOf,
  residualOffsets,
} from '../../models/vertical/coordinated-lr.js';
import type { VerticalPart } from '../../models/vertical/part.js';
import type { Logger } from '../../platform/log/logger.js';
import type { MemberSigner, MemberVerifier } from '../../platform/tls/member-signature.js';
import type { TrainingJobRecord, TrainingJobStore } from '../../platform/store/training-types.js';
import { AccordError } from '../../primitives/errors/index.js';
import {
  type CipherSuite,
  centreLift,
  cipherSuite,
  type PublicKeyHandle,
  uniformMask,
} from '../../primitives/he/index.js';
import { asVertical, canonicalJson, type VerticalSpec } from '../../primitives/training/spec.js';
import {
  type BatchId,
  type Box,
  batchKey,
  batchSizes,
  type EpochMetrics,
  reportSchema,
  VERTICAL_STAGE,
  type VerticalCall,
  type VerticalReply,
} from '../../primitives/vertical/protocol.js';
import type { VerticalData } from './vertical-data.js';
import { recordRound, VerticalParty, verticalLineage } from './vertical-party.js';

/** Largest |Σ_P z_P| the label holder accepts for a validation row (a logit of 1 000 is certainty many times over). */
const MAX_PARTNER_LOGIT = 1_000;

export interface VerticalRunDeps {
  readonly self: string;
  readonly jobs: TrainingJobStore;
  readonly log: Logger;
  readonly signer: MemberSigner;
  readonly verifier: MemberVerifier;
  /** Whether this node takes part in a job whose "encryption" is the plaintext stand-in (benchmarks only). */
  readonly allowUnencrypted: boolean;
  /** Boosted trees: worker threads for a feature holder's histograms (0: the main thread; absent: the default). */
  readonly histogramWorkers?: number | undefined;
  reply(reply: VerticalReply): Promise<void>;
  onSettled(id: string): void;
  /**
   * Tests only: called with every boosted-tree round message this node opened (its sender and plaintext), so that a
   * test can search what a party learns from the others. Never set by the node.
   */
  readonly observeOpened?: (from: string, message: Uint8Array) => void;
}

/** Boxes of one stage gathered from their senders until every part is in. */
class BoxGather {
  private readonly parts = new Map<string, Uint8Array[]>();
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly senders: readonly string[],
    /** Ciphertexts each sender sends: one per 8 192 rows of the batch. */
    private readonly chunks: number,
  ) {}

  /** Adds an opened box; true when every sender's every part is in. */
  add(box: Box, payload: Uint8Array): boolean {
    const have = this.parts.get(box.from) ?? new Array<Uint8Array>(box.parts);
    if (
      !this.senders.includes(box.from) ||
      box.parts !== this.chunks ||
      have[box.part] !== undefined ||
      have.length !== box.parts
    )
      throw new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason: `an unexpected box from ${box.from}` });
    have[box.part] = payload;
    this.parts.set(box.from, have);
    this.counts.set(box.from, (this.counts.get(box.from) ?? 0) + 1);
    return this.senders.every((s) => this.parts.has(s) && this.counts.get(s) === this.parts.get(s)!.length);
  }

  /** Each sender's ciphertexts, in sender order. */
  all(): Uint8Array[][] {
    return this.senders.map((s) => this.parts.get(s)!);
  }
}

/** What this node keeps about the batch under way. */
interface BatchState {
  readonly id: BatchId;
  readonly rows: readonly number[];
  /** Ciphertexts the batch's rows fill. */
  readonly chunks: number;
  gather: BoxGather | null;
  /** Stages this node has answered for the batch: each once (a relay replaying one would get a second answer). */
  readonly done: Set<string>;
  /** Per column: Σ of the mask's slots modulo t (train), or per chunk the masks (eval). */
  maskSums: bigint[] | null;
  masks: BigUint64Array[] | null;
  /** Label holder: its own logits of the batch rows (with the intercept). */
  zA: Float64Array | null;
}

export class VerticalRun extends VerticalParty {
  readonly spec: VerticalSpec;
  private readonly isLabelHolder: boolean;
  private cipher: CipherSuite | null = null;
  private publicKey: PublicKeyHandle | null = null;
  private model: PartyModel;
  private current: BatchState | null = null;
  /** The training batches of the epoch under way. */
  private epochRows: { readonly epoch: number; readonly batches: number[][] } | null = null;
  /** Gradient steps taken: the part is registered only after every batch of every epoch. */
  private steps = 0;

  constructor(deps: VerticalRunDeps, job: TrainingJobRecord, data: VerticalData) {
    super(deps, job, data);
    this.spec = asVertical(job.spec);
    this.isLabelHolder = deps.self === this.spec.labelHolder;
    this.model = newPartyModel(data.width, this.isLabelHolder, verticalOptimiser(this.spec, 1));
  }

  private get featureHolders(): string[] {
    return this.job.participants.filter((m) => m !== this.spec.labelHolder);
  }

  protected columns(): number {
    return this.data.width + (this.isLabelHolder ? 1 : 0);
  }

  protected async handle(call: VerticalCall): Promise<void> {
    switch (call.stage) {
      case VERTICAL_STAGE.START:
        return this.start(call);
      case VERTICAL_STAGE.PARTIALS:
        return this.partials(call.batch);
      case VERTICAL_STAGE.RESIDUALS:
        this.phase(call.batch, 'train', call.stage);
        return this.gatherPartials(call.batch, call.boxes);
      case VERTICAL_STAGE.SCORE:
        this.phase(call.batch, 'eval', call.stage);
        return this.gatherPartials(call.batch, call.boxes);
      case VERTICAL_STAGE.GRADIENTS:
        this.phase(call.batch, 'train', call.stage);
        return this.gradientsFromResiduals(call.batch, call.boxes);
      case VERTICAL_STAGE.UPDATE:
        this.phase(call.batch, 'train', call.stage);
        return this.update(call.batch, call.sums);
      case VERTICAL_STAGE.SCORES:
        this.phase(call.batch, 'eval', call.stage);
        return this.scores(call.batch, call.slots);
      case VERTICAL_STAGE.PROGRESS:
        this.phase(call.batch, 'eval', call.stage);
        return this.progress(call.batch, call.boxes);
      default:
        throw this.refuse(`${call.stage} belongs to a boosted-tree job`);
    }
  }

  private refuse(reason: string): AccordError {
    return new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason });
  }

  private async start(call: Extract<VerticalCall, { stage: 'start' }>): Promise<void> {
    if (this.cipher) throw this.refuse('the job started twice');
    const bfv = await cipherSuite('bfv');
    let cipher = bfv;
    if (call.heParameterId !== bfv.parameterId) {
      const plain = await cipherSuite('plain');
      if (call.heParameterId !== plain.parameterId || !this.deps.allowUnencrypted)
        throw new AccordError('ACCORD_HE_KEY_INVALID', {
          reason: `parameter set ${call.heParameterId.slice(0, 16)} is not the one primitives/he/bfv.ts names`,
        });
      cipher = plain;
    }
    const publicKey = cipher.loadPublicKey(call.publicKey);
    this.openChannels(call.keys);
    this.cipher = cipher;
    this.publicKey = publicKey;
    this.job = await this.deps.jobs.update(this.job.id, { state: 'running' });
  }

  private requireCipher(): { cipher: CipherSuite; publicKey: PublicKeyHandle } {
    if (!this.cipher || !this.publicKey) throw this.refuse('a stage before the start');
    return { cipher: this.cipher, publicKey: this.publicKey };
  }

  /** The rows of a batch, as every party computes them. */
  private rowsOf(id: BatchId): readonly number[] {
    if (id.jobId !== this.job.id || id.epoch < 1 || id.epoch > this.spec.epochs)
      throw this.refuse(`batch ${batchKey(id)} is not in the job`);
    if (id.phase === 'eval') return this.data.validationRows;
    // One shuffle an epoch, not one a batch.
    if (this.epochRows?.epoch !== id.epoch)
      this.epochRows = {
        epoch: id.epoch,
        batches: epochBatches(this.spec.initSeed, id.epoch, this.data.trainingRows, this.spec.batchSize),
      };
    const rows = this.epochRows.batches[id.batch];
    if (!rows) throw this.refuse(`epoch ${id.epoch} has no batch ${id.batch}`);
    return rows;
  }

  /** Starts a batch, refusing one that is not the next in order (a relay replaying a batch learns a second answer). */
  private begin(id: BatchId): BatchState {
    const prev = this.current?.id;
    if (prev && batchKey(prev) === batchKey(id)) return this.current!;
    const order = (b: BatchId) => b.epoch * 2_000_000 + (b.phase === 'eval' ? 1_000_001 : b.batch);
    if (prev && order(id) <= order(prev))
      throw this.refuse(`batch ${batchKey(id)} comes after ${batchKey(prev)}`);
    const rows = this.rowsOf(id);
    const chunks = Math.max(1, Math.ceil(rows.length / this.requireCipher().cipher.slots));
    this.current = { id, rows, chunks, gather: null, done: new Set(), maskSums: null, masks: null, zA: null };
    return this.current;
  }

  private requireCurrent(id: BatchId): BatchState {
    if (!this.current || batchKey(this.current.id) !== batchKey(id))
      throw this.refuse(`no batch ${batchKey(id)} under way`);
    return this.current;
  }

  /** Marks `stage` answered for the batch; a second time is refused. */
  private once(state: BatchState, stage: string): void {
    if (state.done.has(stage)) throw this.refuse(`${stage} of ${batchKey(state.id)} again`);
    state.done.add(stage);
  }

  /** Refuses a stage that does not belong to the batch's phase. */
  private phase(id: BatchId, phase: BatchId['phase'], stage: string): void {
    if (id.phase !== phase) throw this.refuse(`${stage} in a ${id.phase} step`);
  }

  private seal(to: string, id: BatchId, stage: string, parts: Uint8Array[]): VerticalReply[] {
    const channel = this.channels.get(to)!;
    return parts.map((payload, part) => {
      const box: Box = {
        from: this.deps.self,
        to,
        part,
        parts: parts.length,
        box: channel.seal({ batch: id, stage, part, parts: parts.length }, payload),
      };
      return stage === VERTICAL_STAGE.PARTIALS
        ? { stage: VERTICAL_STAGE.PARTIALS, batch: id, box }
        : stage === VERTICAL_STAGE.REPORT
          ? { stage: VERTICAL_STAGE.REPORT, batch: id, box }
          : { stage: VERTICAL_STAGE.RESIDUALS, batch: id, box };
    });
  }

  private async send(replies: readonly VerticalReply[]): Promise<void> {
    for (const r of replies) await this.deps.reply(r);
  }

  /** Feature holder: its encrypted partial logits for the batch, boxed for the label holder. */
  private async partials(id: BatchId): Promise<void> {
    if (this.isLabelHolder) throw this.refuse('the label holder sends no partial logits');
    const { cipher, publicKey } = this.requireCipher();
    const state = this.begin(id);
    this.once(state, VERTICAL_STAGE.PARTIALS);
    const z = partialLogitsOf(this.data.X, this.data.width, state.rows, weightsOf(this.model).weights, 0);
    const cts = cipher.encrypt(publicKey, fixedLogits(z));
    await this.send(this.seal(this.spec.labelHolder, id, VERTICAL_STAGE.PARTIALS, cts));
  }

  /** Label holder: gathers the feature holders' boxes; when all are in, answers the stage. */
  private async gatherPartials(id: BatchId, boxes: readonly Box[]): Promise<void> {
    if (!this.isLabelHolder) throw this.refuse('partial logits go to the label holder');
    const state = this.begin(id);
    if (state.done.has('answered')) throw this.refuse(`partial logits of ${batchKey(id)} again`);
    state.gather ??= new BoxGather(this.featureHolders, state.chunks);
    let complete = false;
    for (const box of boxes) {
      const stage = VERTICAL_STAGE.PARTIALS;
      const payload = this.channels
        .get(box.from)
        ?.open({ batch: id, stage, part: box.part, parts: box.parts }, box.box);
      if (!payload) throw this.refuse(`a box from ${box.from}, who is not a party`);
      complete = state.gather.add(box, payload);
    }
    if (!complete) return;
    this.once(state, 'answered');
    const { cipher } = this.requireCipher();
    const perParty = state.gather.all();
    state.gather = null;
    let sum = perParty[0]!;
    for (const cts of perParty.slice(1)) sum = cipher.add(sum, cts);
    if (id.phase === 'train') await this.residuals(state, sum);
    else await this.maskedScores(state, sum);
  }

  /** Label holder: [[4d]] = Σ[[z_P]] + (z_A + 2 − 4y), boxed for every feature holder; then its own gradients. */
  private async residuals(state: BatchState, zSum: Uint8Array[]): Promise<void> {
    const { cipher } = this.requireCipher();
    const zA = this.ownLogits(state.rows);
    const fourD = cipher.addPlain(zSum, residualOffsets(zA, this.data.labels!, state.rows));
    const replies = this.featureHolders.flatMap((p) =>
      this.seal(p, state.id, VERTICAL_STAGE.RESIDUALS, fourD),
    );
    await this.send(replies);
    await this.maskedGradients(state, fourD);
  }

  /** Feature holder: opens the residual boxes; when all are in, returns its masked gradients. */
  private async gradientsFromResiduals(id: BatchId, boxes: readonly Box[]): Promise<void> {
    if (this.isLabelHolder) throw this.refuse('residuals go to feature holders');
    const state = this.requireCurrent(id);
    if (state.done.has('answered')) throw this.refuse(`residuals of ${batchKey(id)} again`);
    state.gather ??= new BoxGather([this.spec.labelHolder], state.chunks);
    let complete = false;
    for (const box of boxes) {
      const stage = VERTICAL_STAGE.RESIDUALS;
      const channel = this.channels.get(box.from);
      if (!channel) throw this.refuse(`a box from ${box.from}, who is not a party`);
      complete = state.gather.add(
        box,
        channel.open({ batch: id, stage, part: box.part, parts: box.parts }, box.box),
      );
    }
    if (!complete) return;
    this.once(state, 'answered');
    const fourD = state.gather.all()[0]!;
    state.gather = null;
    await this.maskedGradients(state, fourD);
  }

  /** Σ_i x_ij·4d_i + m_j per column under encryption, for the coordinator to decrypt; keeps Σ m_j. */
  private async maskedGradients(state: BatchState, fourD: Uint8Array[]): Promise<void> {
    const { cipher, publicKey } = this.requireCipher();
    const columns = fixedColumns(this.data.X, this.data.width, state.rows, this.isLabelHolder);
    const masks = columns.map(() => uniformMask(cipher.plainModulus, cipher.slots));
    state.maskSums = masks.map((m) => m.reduce((s, v) => (s + v) % cipher.plainModulus, 0n));
    const cts = cipher.maskedInnerProducts(publicKey, fourD, columns, masks);
    await this.send(
      cts.map((ciphertext, index) => ({
        stage: VERTICAL_STAGE.GRADIENTS,
        batch: state.id,
        masked: { index, count: cts.length, ciphertext },
      })),
    );
  }

  /** The coordinator's decryption of this node's masked gradients: unmask, step. */
  private async update(id: BatchId, sums: readonly bigint[]): Promise<void> {
    const state = this.requireCurrent(id);
    const { cipher } = this.requireCipher();
    const maskSums = state.maskSums;
    if (!maskSums || sums.length !== maskSums.length)
      throw this.refuse('an update that answers no gradients');
    this.once(state, VERTICAL_STAGE.UPDATE);
    state.maskSums = null;
    this.steps++;
    const t = cipher.plainModulus;
    const gradient = Float64Array.from(sums, (s, j) =>
      gradientFromSum(centreLift((((s - maskSums[j]!) % t) + t) % t, t), state.rows.length),
    );
    this.model = partyStep(this.model, gradient, verticalOptimiser(this.spec, id.epoch), this.spec.l2);
  }

  /** Label holder, evaluation: Σ[[z_P]] + m per chunk, for the coordinator to decrypt. */
  private async maskedScores(state: BatchState, zSum: Uint8Array[]): Promise<void> {
    const { cipher, publicKey } = this.requireCipher();
    state.masks = zSum.map(() => uniformMask(cipher.plainModulus, cipher.slots));
    state.zA = this.ownLogits(state.rows);
    const cts = cipher.maskedVector(publicKey, zSum, state.masks);
    await this.send(
      cts.map((ciphertext, index) => ({
        stage: VERTICAL_STAGE.SCORE,
        batch: state.id,
        masked: { index, count: cts.length, ciphertext },
      })),
    );
  }

  /** Label holder: unmasks the joint partials, scores the validation rows, records and (maybe) publishes. */
  private async scores(id: BatchId, slots: readonly BigUint64Array[]): Promise<void> {
    const state = this.requireCurrent(id);
    const { cipher } = this.requireCipher();
    const { masks, zA } = state;
    if (!this.isLabelHolder || !masks || !zA || slots.length !== masks.length)
      throw this.refuse('scores that answer no evaluation');
    const t = cipher.plainModulus;
    const rows = state.rows;
    const scores = new Float64Array(rows.length);
    const labels = Uint8Array.from(rows, (r) => this.data.labels![r]!);
    for (let i = 0; i < rows.length; i++) {
      const chunk = Math.floor(i / cipher.slots);
      const slot = i % cipher.slots;
      const partners = logitFromFixed(
        centreLift((((slots[chunk]![slot]! - masks[chunk]![slot]!) % t) + t) % t, t),
      );
      // No honest sum of partial logits comes near this: the coordinator forged or garbled the slots.
      if (!(Math.abs(partners) <= MAX_PARTNER_LOGIT)) throw this.refuse('scores out of any model’s range');
      scores[i] = sigmoid(zA[i]! + partners);
    }
    state.masks = null;
    state.zA = null;
    const metrics: EpochMetrics = {
      auc: auc(scores, labels),
      ks: ks(scores, labels),
      logLoss: logLoss(scores, labels),
      threshold: this.spec.threshold,
      confusion: confusion(scores, labels, this.spec.threshold),
      positives: labels.reduce((n, y) => n + y, 0),
      negatives: labels.length - labels.reduce((n, y) => n + y, 0),
    };
    await this.record(id.epoch, metrics);
    // Each feature holder gets the published metrics (or none) in a box the coordinator cannot read.
    const report = new TextEncoder().encode(
      canonicalJson({ metrics: this.spec.publishMetrics ? metrics : null }),
    );
    for (const p of this.featureHolders) {
      const [reply] = this.seal(p, id, VERTICAL_STAGE.REPORT, [report]);
      await this.deps.reply(reply!);
    }
  }

  /** Feature holder: the epoch is over; the label holder's metrics if it published them. */
  private async progress(id: BatchId, boxes: readonly Box[]): Promise<void> {
    if (this.isLabelHolder) throw this.refuse('progress goes to feature holders');
    const state = this.requireCurrent(id);
    const box = boxes[0];
    if (boxes.length !== 1 || box?.from !== this.spec.labelHolder || box.parts !== 1)
      throw this.refuse('progress is one box from the label holder');
    this.once(state, VERTICAL_STAGE.PROGRESS);
    const payload = this.channels
      .get(box.from)!
      .open({ batch: id, stage: VERTICAL_STAGE.REPORT, part: 0, parts: 1 }, box.box);
    let report: { metrics: EpochMetrics | null };
    try {
      report = reportSchema.parse(JSON.parse(new TextDecoder().decode(payload)));
    } catch {
      throw new AccordError('ACCORD_VERTICAL_BOX_INVALID', { from: box.from, reason: 'not a report' });
    }
    await this.record(id.epoch, report.metrics);
  }

  private async record(epoch: number, metrics: EpochMetrics | null): Promise<void> {
    this.job = await recordRound(this.deps, this.job, this.data, this.spec.labelHolder, epoch, metrics);
  }

  /** This party's logits of `rows` (with the intercept for the label holder). */
  private ownLogits(rows: readonly number[]): Float64Array {
    const { weights, bias } = weightsOf(this.model);
    return partialLogitsOf(this.data.X, this.data.width, rows, weights, bias);
  }

  /** This party's model part. */
  part(): VerticalPart {
    const { weights, bias } = weightsOf(this.model);
    return {
      role: this.isLabelHolder ? 'label-holder' : 'feature-holder',
      preprocessing: this.data.preprocessing,
      weights: Float64Array.from(weights),
      bias,
      partners: this.isLabelHolder ? this.featureHolders : [],
    };
  }

  protected async complete(fingerprints: Readonly<Record<string, string>>): Promise<void> {
    if (this.settled) return;
    const batches = batchSizes(this.data.trainingRows.length, this.spec.batchSize).length;
    if (this.job.round !== this.spec.epochs || this.steps !== this.spec.epochs * batches) {
      await this.markFailed('failed', new AccordError('ACCORD_TRAINING_LOST'));
      return;
    }
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    const part = this.part();
    const onnx = exportVerticalPartOnnx(part, {
      model_id: id,
      job: this.job.id,
      purpose: this.spec.purpose,
      label: this.spec.label,
      role: part.role,
      created_at: createdAt,
    });
    const parameters = new Float64Array(part.weights.length + 1);
    parameters.set(part.weights);
    parameters[part.weights.length] = part.bias;
    await this.deps.jobs.complete(
      this.job.id,
      {
        id,
        createdAt,
        purpose: this.spec.purpose,
        label: this.spec.label,
        model: this.spec.model,
        preprocessing: part.preprocessing,
        parameters,
        history: this.job.history,
        vertical: { role: part.role, labelHolder: this.spec.labelHolder, partners: [...part.partners] },
        lineage: verticalLineage(this.job, this.spec, this.data, fingerprints),
      },
      onnx,
    );
    this.settle();
  }

  /** Frees the public key's WebAssembly memory and drops the box channels. */
  protected release(): void {
    this.publicKey?.delete();
    this.publicKey = null;
    this.channels.clear();
    this.current = null;
  }
}
