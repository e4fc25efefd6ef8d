/**
 * One boosted-tree job as it runs on this node (primitives/vertical/secureboost.ts). Both roles bin their own
 * features on their own training rows. The label holder drives the rounds (tree-driver.ts); a feature holder answers
 * each: its features' kinds, encrypted histograms of the nodes asked for, the rows that go left at the splits it wins
 * (keeping each split's threshold under its own split id), and its splits' decisions for the validation rows. What
 * leaves a feature holder is only ever ciphertexts under the label holder's key (re-randomised, flooded, 32
 * coefficients each) and row partitions, inside boxes only the label holder opens. On the job's end each party
 * registers its part, with its ONNX export, in one transaction with the job's completion.
 */
import { randomUUID } from 'node:crypto';
import { exportTreePartOnnx, treePartColumns } from '../../models/onnx/tree-export.js';
import { binColumns, fitBinning, ruleOf, valueBins } from '../../models/trees/binning.js';
import { goesLeft } from '../../models/trees/split.js';
import type { SplitCandidate, SplitRule, TreePart } from '../../models/trees/types.js';
import type { Preprocessing } from '../../models/types.js';
import type { TrainingJobRecord } from '../../platform/store/training-types.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { PublicKeyHandle } from '../../primitives/he/cipher.js';
import { createHistogramSuite, type HistogramSuite, ROWS_PER_BLOCK } from '../../primitives/he/histogram.js';
import { isTreeSpec, type TreeSpec } from '../../primitives/training/spec.js';
import { type BatchId, VERTICAL_STAGE, type VerticalCall } from '../../primitives/vertical/protocol.js';
import {
  blobAt,
  decodeTreeMessage,
  encodeTreeMessage,
  MIN_NODE_ROWS,
  packBits,
  rowsFromBytes,
  requestBlobs,
  type TreeRequest,
  type TreeResponse,
  treeRequestSchema,
} from '../../primitives/vertical/secureboost.js';
import { defaultHistogramWorkers, HistogramPool } from './histogram-pool.js';
import { TreeDriver } from './tree-driver.js';
import { TreeRounds } from './tree-rounds.js';
import type { VerticalData } from './vertical-data.js';
import { recordRound, VerticalParty, verticalLineage } from './vertical-party.js';
import type { VerticalRunDeps } from './vertical-run.js';

const refuse = (reason: string) => new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason });

/** Throws ACCORD_TRAINING_MODEL_UNEXPORTABLE unless `part` exports to ONNX (checked before the job ends). */
export function exportable(part: TreePart): void {
  try {
    exportTreePartOnnx(part, {});
  } catch (err) {
    throw new AccordError('ACCORD_TRAINING_MODEL_UNEXPORTABLE', { reason: (err as Error).message });
  }
}

/** A split this node owns: the rule it keeps and the bin-level decision it was made from. */
export interface OwnSplit {
  readonly rule: SplitRule;
  readonly feature: number;
  readonly candidate: SplitCandidate;
}

/** This party's binned features: what both roles compute at the start, from their own training rows only. */
export interface BinnedData {
  readonly binning: ReturnType<typeof fitBinning>;
  /** Per feature, per aligned row: its histogram position. */
  readonly bins: Uint8Array[];
  readonly isTraining: Uint8Array;
}

export class TreeRun extends VerticalParty {
  readonly spec: TreeSpec;
  readonly isLabelHolder: boolean;
  private rounds: TreeRounds | null = null;
  readonly binned: BinnedData;
  /** Splits this node made, by split id. */
  readonly splits: OwnSplit[] = [];
  /** Feature holder: the label holder's public key for the job, and the worker threads that compute histograms. */
  private publicKey: { bytes: Uint8Array; handle: PublicKeyHandle } | null = null;
  private pool: HistogramPool | null = null;
  private suite: HistogramSuite | null = null;
  /** Label holder: the driver; feature holder: the split ids the kept trees use, once told. */
  private driver: TreeDriver | null = null;
  private keptSplits: number | null = null;
  /** Feature holder: split ids whose validation decisions were given (each range once, in order). */
  private validated = 0;

  constructor(deps: VerticalRunDeps, job: TrainingJobRecord, data: VerticalData) {
    super(deps, job, data);
    if (!isTreeSpec(job.spec)) throw new TypeError('a boosted-tree job was expected');
    this.spec = job.spec;
    this.isLabelHolder = deps.self === this.spec.labelHolder;
    const binning = fitBinning(data.features, data.raw, data.trainingRows, this.spec.model.bins);
    const isTraining = new Uint8Array(data.alignedRows);
    for (const r of data.trainingRows) isTraining[r] = 1;
    this.binned = { binning, bins: binColumns(binning, data.raw, data.alignedRows), isTraining };
  }

  get featureHolders(): string[] {
    return this.job.participants.filter((m) => m !== this.spec.labelHolder);
  }

  protected columns(): number {
    return this.binned.binning.length;
  }

  protected async handle(call: VerticalCall): Promise<void> {
    switch (call.stage) {
      case VERTICAL_STAGE.START:
        return this.start(call);
      case VERTICAL_STAGE.ROUND: {
        const rounds = this.rounds;
        if (!rounds) throw refuse('a round before the start');
        for (const { from, message } of rounds.receive(call.batch, call.boxes)) {
          this.deps.observeOpened?.(from, message);
          if (this.driver) this.driver.answer(call.batch, from, message);
          else if (from === this.spec.labelHolder) await this.answer(call.batch, message);
          else throw refuse(`a round message from ${from}, who does not drive the job`);
        }
        return;
      }
      default:
        throw refuse(`${call.stage} belongs to a logistic-regression job`);
    }
  }

  private async start(call: Extract<VerticalCall, { stage: 'start' }>): Promise<void> {
    if (this.rounds) throw refuse('the job started twice');
    if (call.heParameterId !== '' || call.publicKey.length !== 0)
      throw refuse('a boosted-tree job starts without a coordinator key');
    this.openChannels(call.keys);
    this.rounds = new TreeRounds(this.deps.self, this.job.id, this.channels, (r) => this.deps.reply(r));
    this.suite = await createHistogramSuite();
    const workers = this.deps.histogramWorkers ?? defaultHistogramWorkers();
    if (!this.isLabelHolder && workers > 0) {
      // The workers' suites start while the label holder makes its key: the first node does not wait for them.
      this.pool = new HistogramPool(workers);
      this.pool.warm().catch(() => undefined);
    }
    this.job = await this.deps.jobs.update(this.job.id, { state: 'running' });
    if (this.isLabelHolder) {
      this.driver = new TreeDriver(this, this.rounds, this.suite);
      this.driver.run().catch((err) => this.failed(err, 'round'));
    }
  }

  // ---- Feature holder ----

  /** Answers one request of the label holder (see the flow in secureboost.ts). */
  private async answer(batch: BatchId, message: Uint8Array): Promise<void> {
    if (this.keptSplits !== null) throw refuse('a request after the final round');
    const { header, blobs } = decodeTreeMessage(message, treeRequestSchema, requestBlobs);
    const suite = this.suite!;
    const response: TreeResponse & Record<string, unknown> = {};
    const out: Uint8Array[] = [];
    const put = (bytes: Uint8Array) => out.push(bytes) - 1;
    if (header.publicKey !== undefined) {
      if (this.publicKey) throw refuse('a second public key');
      const bytes = Uint8Array.from(blobAt(blobs, header.publicKey));
      this.publicKey = { bytes, handle: suite.loadPublicKey(bytes) };
      response.features = this.binned.binning.map((b) => ({ kind: b.kind, valueBins: valueBins(b) }));
    }
    if (header.report) await this.recordReport(header.report);
    if (header.splits) response.splits = header.splits.map((s) => this.applySplit(s, blobs, put));
    if (header.histograms) response.histograms = await this.histograms(header.histograms, blobs, put);
    if (header.validationBits) response.validationBits = put(this.validationBits(header.validationBits));
    if (header.final) {
      if (header.final.splits > this.splits.length) throw refuse('the kept trees name split ids never made');
      this.keptSplits = header.final.splits;
      // The part must export before this party says it is ready: a failure now fails the job for everyone.
      const part = this.part();
      if (part && part.role === 'feature-holder' && part.rules.length > 0) exportable(part);
      response.final = { splits: header.final.splits };
    }
    await this.rounds!.send(this.spec.labelHolder, batch, encodeTreeMessage(response, out));
  }

  /** Rows of a node: ascending training positions, at least MIN_NODE_ROWS of them. */
  private nodeRows(bytes: Uint8Array): Int32Array {
    const rows = rowsFromBytes(bytes, this.data.alignedRows);
    for (const r of rows)
      if (!this.binned.isTraining[r]) throw refuse('a node names a row that does not train');
    if (rows.length < MIN_NODE_ROWS) throw refuse(`a node of fewer than ${MIN_NODE_ROWS} rows`);
    return rows;
  }

  private applySplit(
    s: NonNullable<TreeRequest['splits']>[number],
    blobs: readonly Uint8Array[],
    put: (b: Uint8Array) => number,
  ): NonNullable<TreeResponse['splits']>[number] {
    const binning = this.binned.binning[s.feature];
    if (!binning) throw refuse(`split on feature ${s.feature}, which this party does not have`);
    const bins = valueBins(binning);
    if (
      s.leftBins.length === 0 ||
      s.leftBins.some((b) => b >= bins) ||
      new Set(s.leftBins).size !== s.leftBins.length
    )
      throw refuse('a split names positions the feature does not have');
    const candidate: SplitCandidate = {
      feature: s.feature,
      leftBins: [...s.leftBins].sort((a, b) => a - b),
      missingLeft: s.missingLeft,
      gain: 0,
      left: { g: 0, h: 0 },
      right: { g: 0, h: 0 },
    };
    const rule = ruleOf(binning, candidate);
    const rows = this.nodeRows(blobAt(blobs, s.rows));
    const column = this.binned.bins[s.feature]!;
    const left = new Uint8Array(rows.length);
    for (let i = 0; i < rows.length; i++) left[i] = goesLeft(candidate, column[rows[i]!]!) ? 1 : 0;
    this.splits.push({ rule, feature: s.feature, candidate });
    return { node: s.node, splitId: this.splits.length - 1, left: put(packBits(left)) };
  }

  private async histograms(
    h: NonNullable<TreeRequest['histograms']>,
    blobs: readonly Uint8Array[],
    put: (b: Uint8Array) => number,
  ): Promise<NonNullable<TreeResponse['histograms']>> {
    if (!this.publicKey) throw refuse('histograms before the public key');
    const features = h.features;
    if (features.some((f) => f >= this.binned.bins.length) || new Set(features).size !== features.length)
      throw refuse('histograms of features this party does not have');
    const level = h.nodes.map((n) => {
      const rows = this.nodeRows(blobAt(blobs, n.rows));
      // Copies: a view posted to a worker would take the whole round message's buffer with it.
      const blocks = n.blocks.map((b) => blobAt(blobs, b).slice());
      if (blocks.length !== Math.ceil(rows.length / ROWS_PER_BLOCK))
        throw refuse(`a node of ${rows.length} rows comes in ${blocks.length} blocks`);
      const rowsPerBlock = blocks.map((_, k) => Math.min(ROWS_PER_BLOCK, rows.length - k * ROWS_PER_BLOCK));
      // Each feature's positions of the node's rows, in row order: block k holds rows 256k .. 256k + 255.
      const positions = features.map((f) => {
        const column = this.binned.bins[f]!;
        return Uint8Array.from(rows, (r) => column[r]!);
      });
      return { blocks, rowsPerBlock, positions };
    });
    // The worker threads started with the job (histogramWorkers > 0), or this thread.
    const outputs = this.pool
      ? await this.pool.level(this.publicKey.bytes, level)
      : level.map(({ blocks, rowsPerBlock, positions }) => {
          const suite = this.suite!;
          try {
            return suite.histograms(
              this.publicKey!.handle,
              blocks,
              rowsPerBlock,
              (block, f) =>
                positions[f]!.subarray(block * ROWS_PER_BLOCK, block * ROWS_PER_BLOCK + rowsPerBlock[block]!),
              features.length,
            );
          } finally {
            suite.releaseBlocks();
          }
        });
    return h.nodes.map((n, i) => ({ node: n.node, outputs: outputs[i]!.map(put) }));
  }

  /** The validation rows' decisions of split ids [from, to), bit-packed row-major; each split id asked once. */
  private validationBits(range: { from: number; to: number }): Uint8Array {
    const { from, to } = range;
    if (from > to || to > this.splits.length) throw refuse('validation bits of split ids never made');
    if (from !== this.validated) throw refuse('validation bits of split ids asked before, or skipped');
    this.validated = to;
    const rows = this.data.validationRows;
    const width = to - from;
    const bits = new Uint8Array(rows.length * width);
    for (let k = from; k < to; k++) {
      const { feature, candidate } = this.splits[k]!;
      const column = this.binned.bins[feature]!;
      for (let i = 0; i < rows.length; i++)
        bits[i * width + (k - from)] = goesLeft(candidate, column[rows[i]!]!) ? 1 : 0;
    }
    return packBits(bits);
  }

  /** Records a tree's progress (and the label holder's published metrics, if any). */
  async recordReport(report: NonNullable<TreeRequest['report']>): Promise<void> {
    const { tree, metrics } = report;
    if (tree < 1 || tree > this.spec.model.trees) throw refuse(`a report of tree ${tree}`);
    this.job = await recordRound(this.deps, this.job, this.data, this.spec.labelHolder, tree, metrics);
  }

  // ---- End of the job ----

  /** This party's part: the label holder's from its driver; a feature holder's rules of the kept split ids. */
  part(): TreePart | null {
    if (this.isLabelHolder) return this.driver?.part() ?? null;
    if (this.keptSplits === null) return null;
    return { role: 'feature-holder', rules: this.splits.slice(0, this.keptSplits).map((s) => s.rule) };
  }

  protected async complete(fingerprints: Readonly<Record<string, string>>): Promise<void> {
    if (this.settled) return;
    const part = this.part();
    if (!part) {
      await this.markFailed('failed', new AccordError('ACCORD_TRAINING_LOST'));
      return;
    }
    if (part.role === 'feature-holder' && part.rules.length === 0) {
      // None of this party's splits is in the kept trees: the model does not read it, so there is no part to keep.
      this.deps.log.info('the kept trees use none of this party’s splits: no part registered', {
        job: this.job.id,
      });
      this.settled = true;
      this.release();
      this.job = await this.deps.jobs.update(this.job.id, {
        state: 'done',
        finishedAt: new Date().toISOString(),
      });
      this.deps.onSettled(this.job.id);
      return;
    }
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    const onnx = exportTreePartOnnx(part, {
      model_id: id,
      job: this.job.id,
      purpose: this.spec.purpose,
      label: this.spec.label,
      role: part.role,
      created_at: createdAt,
    });
    const preprocessing: Preprocessing = {
      columns: treePartColumns(part).map((c) =>
        c.kind === 'numeric' ? { name: c.name, kind: 'numeric', mean: 0, std: 1 } : c,
      ),
    };
    await this.deps.jobs.complete(
      this.job.id,
      {
        id,
        createdAt,
        purpose: this.spec.purpose,
        label: this.spec.label,
        model: this.spec.model,
        preprocessing,
        parameters: new Float64Array(0),
        trees: part,
        history: this.job.history,
        vertical: {
          role: part.role,
          labelHolder: this.spec.labelHolder,
          partners: part.role === 'label-holder' ? part.partners.map((p) => p.member) : [],
        },
        lineage: verticalLineage(this.job, this.spec, this.data, fingerprints),
      },
      onnx,
    );
    this.settle();
  }

  protected release(): void {
    this.publicKey?.handle.delete();
    this.publicKey = null;
    void this.pool?.close();
    this.pool = null;
    this.driver?.release();
    this.channels.clear();
  }
}
