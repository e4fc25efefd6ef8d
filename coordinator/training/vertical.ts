/**
 * The coordinator's side of a vertical job (primitives/vertical/protocol.ts): it makes the job's BFV key pair,
 * relays the parties' boxes one at a time as they arrive (it cannot open them), decrypts only masked ciphertexts and
 * returns each party its masked sums. It drives every batch of every epoch and each epoch's evaluation; every party is
 * needed at every step, so a party that leaves, stalls or sends something malformed fails the job for everyone.
 */
import { type CipherSuite, slotSum } from '../../primitives/he/index.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import type { TrainingEvent } from '../../primitives/training/job-protocol.js';
import type { VerticalSpec } from '../../primitives/training/spec.js';
import {
  type BatchId,
  type Box,
  type MaskedCiphertext,
  sameBatch,
  batchSizes,
  MAX_EVAL_CHUNKS,
  MIN_ROWS_PER_COLUMN,
  splitSizes,
  VERTICAL_STAGE,
  type VerticalAcceptance,
  type VerticalCall,
  type VerticalReply,
} from '../../primitives/vertical/protocol.js';

export interface VerticalEngineDeps {
  deliver(member: string, event: TrainingEvent): Promise<void>;
  readonly cipher: CipherSuite;
  /** Deadline of one batch (or one evaluation), all parties together. */
  readonly stageTimeoutMs: number;
  /** Called after each epoch's evaluation (for the audit log). */
  onEpoch?(epoch: number): void;
}

/** Thrown out of `run` with the member to blame (null: nobody in particular). */
export class VerticalFailed extends Error {
  constructor(
    readonly error: AccordError,
    readonly by: string | null,
  ) {
    super(error.message);
  }
}

/** What one batch (or evaluation) is waiting for; resolves when everything arrived and was answered. */
interface Pending {
  readonly batch: BatchId;
  readonly chunks: number;
  /** Boxes received per (stage, sender, receiver). */
  readonly boxes: Map<string, Set<number>>;
  /** Decrypted masked sums (train) or slots (eval) per sender, by index. */
  readonly decrypted: Map<string, { count: number; values: Map<number, bigint | BigUint64Array> }>;
  /** Members whose part of this batch is complete. */
  readonly complete: Set<string>;
  /** Feature holders the label holder's report was relayed to (evaluation). */
  readonly reported: Set<string>;
  resolve(): void;
  reject(failure: VerticalFailed): void;
}

const call = (c: VerticalCall): TrainingEvent => ({ kind: 'vertical', call: c });

export class VerticalEngine {
  readonly labelHolder: string;
  readonly featureHolders: readonly string[];
  private pending: Pending | null = null;
  private failed: VerticalFailed | null = null;
  /** Each party's gradient column count, as it accepted the job: it is held to it. */
  private readonly columns: ReadonlyMap<string, number>;
  private readonly trainingRows: number;
  private readonly validationRows: number;
  private secretKey: ReturnType<CipherSuite['generateKeys']>['secretKey'] | null = null;
  /** Payload bytes the coordinator received and sent for the job (ciphertexts, boxes, keys, sums, slots). */
  bytes = 0;

  constructor(
    readonly jobId: string,
    readonly participants: readonly string[],
    readonly spec: VerticalSpec,
    private readonly acceptances: ReadonlyMap<string, VerticalAcceptance>,
    private readonly deps: VerticalEngineDeps,
  ) {
    this.labelHolder = spec.labelHolder;
    this.featureHolders = participants.filter((m) => m !== spec.labelHolder);
    this.columns = new Map([...acceptances].map(([m, a]) => [m, a.columns]));
    const rows = acceptances.get(this.labelHolder)!.alignedRows;
    ({ trainingRows: this.trainingRows, validationRows: this.validationRows } = splitSizes(
      rows,
      spec.validation.fraction,
    ));
  }

  /**
   * The job can start: every party aligned the same rows, every training batch has enough rows for the widest party's
   * columns (else a party could solve its gradient sums for the residuals), and the validation rows fit the
   * evaluation's ciphertexts. Throws VerticalFailed naming the party (or nobody, for the batch and validation sizes).
   */
  static checkShape(
    spec: VerticalSpec,
    acceptances: ReadonlyMap<string, VerticalAcceptance>,
    slots: number,
  ): void {
    const expected = acceptances.get(spec.labelHolder)?.alignedRows ?? 0;
    for (const [member, a] of acceptances)
      if (a.alignedRows !== expected)
        throw new VerticalFailed(
          new AccordError('ACCORD_VERTICAL_ROW_COUNT_MISMATCH', { member, rows: a.alignedRows, expected }),
          member,
        );
    const { trainingRows, validationRows } = splitSizes(expected, spec.validation.fraction);
    const columns = Math.max(...[...acceptances.values()].map((a) => a.columns));
    const smallest = Math.min(...batchSizes(trainingRows, spec.batchSize));
    const needed = MIN_ROWS_PER_COLUMN * columns;
    if (smallest < needed)
      throw new VerticalFailed(
        new AccordError('ACCORD_VERTICAL_BATCH_TOO_SMALL', { rows: smallest, columns, needed }),
        null,
      );
    if (validationRows > MAX_EVAL_CHUNKS * slots)
      throw new VerticalFailed(
        new AccordError('ACCORD_VERTICAL_VALIDATION_TOO_LARGE', {
          rows: validationRows,
          limit: MAX_EVAL_CHUNKS * slots,
        }),
        null,
      );
  }

  private chunksOf(rows: number): number {
    return Math.max(1, Math.ceil(rows / this.deps.cipher.slots));
  }

  /** Runs every epoch; throws VerticalFailed. */
  async run(): Promise<void> {
    const { cipher } = this.deps;
    const keys = cipher.generateKeys();
    this.secretKey = keys.secretKey;
    try {
      const start: BatchId = { jobId: this.jobId, epoch: 1, batch: 0, phase: 'train' };
      this.bytes += keys.publicKey.length * this.participants.length;
      await this.broadcast(
        call({
          stage: VERTICAL_STAGE.START,
          batch: start,
          heParameterId: cipher.parameterId,
          publicKey: keys.publicKey,
          keys: this.participants.map((m) => this.acceptances.get(m)!.key),
        }),
      );
      const sizes = batchSizes(this.trainingRows, this.spec.batchSize);
      for (let epoch = 1; epoch <= this.spec.epochs; epoch++) {
        for (const [b, rows] of sizes.entries())
          await this.stage({ jobId: this.jobId, epoch, batch: b, phase: 'train' }, this.chunksOf(rows));
        await this.stage(
          { jobId: this.jobId, epoch, batch: 0, phase: 'eval' },
          this.chunksOf(this.validationRows),
        );
        this.deps.onEpoch?.(epoch);
      }
    } finally {
      keys.secretKey.delete();
      this.secretKey = null;
    }
  }

  private async broadcast(event: TrainingEvent, to: readonly string[] = this.participants): Promise<void> {
    await Promise.all(to.map((m) => this.send(m, event)));
  }

  private send(member: string, event: TrainingEvent): Promise<void> {
    return this.deps.deliver(member, event).catch((err) => {
      throw new VerticalFailed(toAccordError(err), member);
    });
  }

  /** One batch or evaluation: asks the feature holders for their partial logits and waits for the rest to follow. */
  private stage(batch: BatchId, chunks: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.fail(
            new AccordError('ACCORD_TRAINING_TIMEOUT', {
              what: `every party's ${batch.phase} step ${batch.epoch}.${batch.batch}`,
            }),
            null,
          ),
        this.deps.stageTimeoutMs,
      );
      this.pending = {
        batch,
        chunks,
        boxes: new Map(),
        decrypted: new Map(),
        complete: new Set(),
        reported: new Set(),
        resolve: () => {
          clearTimeout(timer);
          this.pending = null;
          resolve();
        },
        reject: (failure) => {
          clearTimeout(timer);
          this.pending = null;
          reject(failure);
        },
      };
      for (const p of this.featureHolders)
        this.send(p, call({ stage: VERTICAL_STAGE.PARTIALS, batch })).catch((f: VerticalFailed) =>
          this.fail(f.error, f.by),
        );
    });
  }

  /** Fails the job (the stage under way rejects; the next one refuses to start). */
  fail(error: AccordError, by: string | null): void {
    const failure = new VerticalFailed(error, by);
    this.failed ??= failure;
    this.pending?.reject(failure);
  }

  memberLost(member: string, epoch: number): void {
    if (this.participants.includes(member))
      this.fail(new AccordError('ACCORD_VERTICAL_PARTY_LOST', { member, epoch }), member);
  }

  /**
   * A party's message. One that does not belong to the batch under way, comes from the wrong party, repeats, or does
   * not decrypt fails the job, blaming its sender (thrown to the sender as well).
   */
  reply(member: string, reply: VerticalReply): void {
    const pending = this.pending;
    const refuse = (reason: string) => new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason });
    try {
      if (!pending || !sameBatch(pending.batch, reply.batch))
        throw refuse(
          `no answer for ${reply.batch.phase} ${reply.batch.epoch}.${reply.batch.batch} is expected now`,
        );
      this.accept(pending, member, reply);
    } catch (err) {
      const error = toAccordError(err);
      this.fail(error, member);
      throw error;
    }
  }

  private accept(pending: Pending, member: string, reply: VerticalReply): void {
    const refuse = (reason: string) => new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason });
    const isLabelHolder = member === this.labelHolder;
    const train = pending.batch.phase === 'train';
    switch (reply.stage) {
      case VERTICAL_STAGE.PARTIALS:
        if (isLabelHolder) throw refuse('the label holder sends no partial logits');
        this.relay(
          pending,
          member,
          reply.box,
          this.labelHolder,
          train ? VERTICAL_STAGE.RESIDUALS : VERTICAL_STAGE.SCORE,
        );
        return;
      case VERTICAL_STAGE.RESIDUALS:
        if (!isLabelHolder || !train) throw refuse('residuals come from the label holder while training');
        if (!this.featureHolders.includes(reply.box.to)) throw refuse('residuals go to a feature holder');
        this.relay(pending, member, reply.box, reply.box.to, VERTICAL_STAGE.GRADIENTS);
        return;
      case VERTICAL_STAGE.GRADIENTS:
        if (!train) throw refuse('no gradients during evaluation');
        this.decrypt(pending, member, reply.masked, true);
        return;
      case VERTICAL_STAGE.SCORE:
        if (!isLabelHolder || train) throw refuse('scores come from the label holder during evaluation');
        if (reply.masked.count !== pending.chunks) throw refuse(`scores come in ${pending.chunks} chunks`);
        this.decrypt(pending, member, reply.masked, false);
        return;
      case VERTICAL_STAGE.REPORT: {
        // One box per feature holder, sealed by the label holder: the coordinator relays the metrics unread.
        const box = reply.box;
        if (!isLabelHolder || train || !pending.complete.has(member))
          throw refuse('a report comes from the label holder after its scores');
        if (box.from !== member || !this.featureHolders.includes(box.to) || box.parts !== 1 || box.part !== 0)
          throw refuse('a report is one box for each feature holder');
        const key = `report/${box.to}`;
        if (pending.boxes.has(key)) throw refuse(`a second report for ${box.to}`);
        pending.boxes.set(key, new Set([0]));
        this.bytes += 2 * box.box.length;
        this.send(box.to, call({ stage: VERTICAL_STAGE.PROGRESS, batch: pending.batch, boxes: [box] })).then(
          () => {
            pending.reported.add(box.to);
            if (this.featureHolders.every((p) => pending.reported.has(p))) pending.resolve();
          },
          (f: VerticalFailed) => this.fail(f.error, f.by),
        );
        return;
      }
      default:
        throw refuse(`${reply.stage} belongs to a boosted-tree job`);
    }
  }

  /** Checks a box's place and forwards it to its receiver as `stage`. */
  private relay(
    pending: Pending,
    member: string,
    box: Box,
    to: string,
    stage: 'residuals' | 'gradients' | 'score',
  ): void {
    const refuse = (reason: string) => new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason });
    if (box.from !== member || box.to !== to) throw refuse(`a box from ${member} must be addressed to ${to}`);
    if (box.parts !== pending.chunks) throw refuse(`this batch travels in ${pending.chunks} parts`);
    const key = `${stage}/${member}/${to}`;
    const seen = pending.boxes.get(key) ?? new Set<number>();
    if (seen.has(box.part)) throw refuse(`part ${box.part} repeated`);
    seen.add(box.part);
    pending.boxes.set(key, seen);
    this.bytes += 2 * box.box.length;
    this.send(to, call({ stage, batch: pending.batch, boxes: [box] })).catch((f: VerticalFailed) =>
      this.fail(f.error, f.by),
    );
  }

  /** Decrypts one masked ciphertext; when a party's set is complete, answers it. */
  private decrypt(pending: Pending, member: string, masked: MaskedCiphertext, gradient: boolean): void {
    const refuse = (reason: string) => new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason });
    const { cipher } = this.deps;
    if (gradient && masked.count !== this.columns.get(member))
      throw refuse(`${member} accepted the job with ${this.columns.get(member)} columns`);
    const entry = pending.decrypted.get(member) ?? { count: masked.count, values: new Map() };
    if (entry.count !== masked.count || entry.values.has(masked.index))
      throw refuse(`ciphertext ${masked.index} of ${masked.count} repeated or miscounted`);
    pending.decrypted.set(member, entry);
    this.bytes += masked.ciphertext.length + (gradient ? 8 : 8 * cipher.slots);
    let slots: BigUint64Array;
    try {
      slots = cipher.decrypt(this.secretKey!, masked.ciphertext);
    } catch (err) {
      const error = toAccordError(err);
      throw error.code === 'ACCORD_HE_CIPHERTEXT_INVALID'
        ? error.withParams({ from: member })
        : new AccordError('ACCORD_HE_CIPHERTEXT_INVALID', { from: member, reason: 'it does not decrypt' });
    }
    entry.values.set(masked.index, gradient ? slotSum(slots, cipher.plainModulus) : slots);
    if (entry.values.size < entry.count) return;
    pending.complete.add(member);
    const ordered = Array.from({ length: entry.count }, (_, i) => entry.values.get(i)!);
    const event = gradient
      ? call({ stage: VERTICAL_STAGE.UPDATE, batch: pending.batch, sums: ordered as bigint[] })
      : call({ stage: VERTICAL_STAGE.SCORES, batch: pending.batch, slots: ordered as BigUint64Array[] });
    this.send(member, event).then(
      () => {
        if (gradient && this.participants.every((m) => pending.complete.has(m))) pending.resolve();
      },
      (f: VerticalFailed) => this.fail(f.error, f.by),
    );
  }
}
