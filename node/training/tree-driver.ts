/**
 * The label holder's side of a boosted-tree job (primitives/vertical/secureboost.ts): it makes the job's BFV key pair
 * (the secret key never leaves this node), and drives every round: the histograms of each level's nodes (its own in
 * the clear, its partners' under encryption), the splits its partners win, each tree's validation decisions, and the
 * final round. Tree growth itself is models/trees/grow.ts, the same grower the plaintext trainer uses; this file only
 * answers its two questions (histograms, splits) with rounds of messages.
 */
import { auc, confusion, ks, logLoss } from '../../models/metrics.js';
import { sigmoid } from '../../models/network.js';
import { featureMask } from '../../models/trees/train-plain.js';
import {
  baseMargin,
  dequantiseSums,
  logisticGradients,
  quantiseGradients,
} from '../../models/trees/gradients.js';
import {
  type GrowAccess,
  growTree,
  type NodeRows,
  type PartyFeatures,
  type SplitRequest,
  type SplitResult,
} from '../../models/trees/grow.js';
import { goesLeft, plainHistograms, emptyHistogram } from '../../models/trees/split.js';
import { ruleOf, valueBins } from '../../models/trees/binning.js';
import {
  HISTOGRAM_POSITIONS,
  type Histogram,
  type Tree,
  type TreeLabelHolderPart,
} from '../../models/trees/types.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import type { SecretKeyHandle } from '../../primitives/he/cipher.js';
import { type HistogramSuite, MAX_HISTOGRAM_ROWS } from '../../primitives/he/histogram.js';
import type { BatchId } from '../../primitives/vertical/protocol.js';
import {
  blobAt,
  decodeTreeMessage,
  encodeTreeMessage,
  rowsToBytes,
  responseBlobs,
  type TreeMetrics,
  type TreeRequest,
  type TreeResponse,
  treeResponseSchema,
  unpackBits,
} from '../../primitives/vertical/secureboost.js';
import type { TreeRounds } from './tree-rounds.js';
import { recordRound } from './vertical-party.js';
import { exportable, type TreeRun } from './tree-run.js';

const refuse = (reason: string) => new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason });

/** The most ciphertext bytes one feature holder's histogram answer may carry: a level's nodes go in several rounds. */
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;
/** What an answer may carry besides its ciphertexts and bit lists: headers, split ids. */
const ANSWER_ALLOWANCE_BYTES = 1024 * 1024;

/** Integer sums of gq and hq per position, as decrypted. */
const emptySums = () => ({
  g: new Float64Array(HISTOGRAM_POSITIONS),
  h: new Float64Array(HISTOGRAM_POSITIONS),
});

/** A round's answers: per feature holder, its response header and blobs. */
type Answers = Map<string, { header: TreeResponse; blobs: Uint8Array[] }>;

/** One tree as kept: its nodes and, per feature holder, the split ids it had made when the tree was done. */
interface KeptTree {
  readonly tree: Tree;
  readonly splitsAfter: ReadonlyMap<string, number>;
  readonly ownSplitsAfter: number;
}

export class TreeDriver {
  private secretKey: SecretKeyHandle | null = null;
  private waiting: {
    batch: BatchId;
    answers: Answers;
    resolve(a: Answers): void;
    reject(e: unknown): void;
  } | null = null;
  private tree = 1;
  private round = 0;
  /** Per feature holder: its features as it declared them. */
  private partnerFeatures = new Map<string, PartyFeatures['features']>();
  /** Per feature holder: split ids it has made. */
  private partnerSplits = new Map<string, number>();
  private readonly trees: KeptTree[] = [];
  private base = 0;
  private bestTrees = 0;
  /** Where the current tree's time went (ms), logged when it is done: what an operator tuning a job looks at. */
  private time = { encrypt: 0, exchange: 0, decrypt: 0, own: 0, rounds: 0 };
  /** The report of the last finished tree, sent with the next message. */
  private report: TreeRequest['report'] | undefined;

  constructor(
    private readonly party: TreeRun,
    private readonly rounds: TreeRounds,
    private readonly suite: HistogramSuite,
  ) {}

  private get partners(): string[] {
    return this.party.featureHolders;
  }

  /** A feature holder's complete round message. */
  answer(batch: BatchId, from: string, message: Uint8Array): void {
    const w = this.waiting;
    if (!w || w.batch.epoch !== batch.epoch || w.batch.batch !== batch.batch)
      throw refuse(`an answer from ${from} no round waits for`);
    if (w.answers.has(from)) throw refuse(`a second answer from ${from}`);
    try {
      w.answers.set(from, decodeTreeMessage(message, treeResponseSchema, responseBlobs));
    } catch (err) {
      w.reject(err);
      throw err;
    }
    if (w.answers.size === this.partners.length) {
      this.waiting = null;
      w.resolve(w.answers);
    }
  }

  /** Sends each feature holder its request of the next round and waits for every answer. */
  private async exchange(
    build: (member: string) => { header: TreeRequest; blobs: Uint8Array[] },
    /** The most bytes of ciphertexts each feature holder's answer may carry (beyond a small allowance). */
    answerBytes: (member: string) => number = () => 0,
  ): Promise<Answers> {
    const batch: BatchId = {
      jobId: this.party.job.id,
      epoch: this.tree,
      batch: this.round++,
      phase: 'train',
    };
    const answers = new Promise<Answers>((resolve, reject) => {
      this.waiting = { batch, answers: new Map(), resolve, reject };
    });
    // Rejected when the job ends while this round is under way: the run's failure is reported where it ended.
    answers.catch(() => undefined);
    const report = this.report;
    this.report = undefined;
    const started = performance.now();
    for (const member of this.partners) {
      // Bit lists of every training row at most, and the ciphertexts asked for: a longer answer is refused on its
      // first box, before it is buffered.
      this.rounds.expect(member, answerBytes(member) + this.party.data.alignedRows + ANSWER_ALLOWANCE_BYTES);
      const { header, blobs } = build(member);
      const withReport = report ? { ...header, report } : header;
      await this.rounds.send(member, batch, encodeTreeMessage(withReport, blobs));
    }
    this.time.rounds++;
    return answers.finally(() => {
      this.time.exchange += performance.now() - started;
    });
  }

  /** Every tree, then the final round; ends by telling the coordinator it has finished. */
  async run(): Promise<void> {
    const { data, spec, binned } = this.party;
    const model = spec.model;
    const keys = this.suite.generateKeys();
    this.secretKey = keys.secretKey;
    // Round 0: the public key out, every feature holder's feature kinds back.
    const first = await this.exchange(() => ({ header: { publicKey: 0 }, blobs: [keys.publicKey] }));
    for (const member of this.partners) {
      const features = first.get(member)!.header.features;
      if (!features || features.length === 0) throw refuse(`${member} declared no features`);
      this.partnerFeatures.set(member, features);
      this.partnerSplits.set(member, 0);
    }
    const labels = data.labels!;
    const training = Int32Array.from(data.trainingRows);
    const validation = data.validationRows;
    const validationLabels = Uint8Array.from(validation, (r) => labels[r]!);
    this.base = baseMargin(labels, training);
    const margins = new Float64Array(data.alignedRows).fill(this.base);
    const self = this.party.deps.self;
    const parties: PartyFeatures[] = [
      { party: self, features: binned.binning.map((b) => ({ kind: b.kind, valueBins: valueBins(b) })) },
      ...this.partners.map((m) => ({ party: m, features: this.partnerFeatures.get(m)! })),
    ];
    let bestAuc = -1;
    for (this.tree = 1; this.tree <= model.trees; this.tree++) {
      if (this.tree > 1) this.round = 0;
      const { g, h } = logisticGradients(labels, margins, data.trainingRows);
      const q = quantiseGradients(g, h);
      const gq = new Int32Array(data.alignedRows);
      const hq = new Int32Array(data.alignedRows);
      training.forEach((r, i) => {
        gq[r] = q.g[i]!;
        hq[r] = q.h[i]!;
      });
      const allowed = parties.map((p) =>
        model.featureSubsample === undefined
          ? p.features.map(() => true)
          : featureMask(spec.initSeed, this.tree, p.party, p.features.length, model.featureSubsample),
      );
      const grown = await growTree({
        params: model,
        parties,
        allowed,
        rows: training,
        gq,
        hq,
        access: this.access(gq, hq, allowed),
      });
      grown.leafOfRow.forEach((leaf, i) => {
        const node = grown.tree.nodes[leaf]!;
        if (node.kind === 'leaf') margins[training[i]!]! += node.weight;
      });
      await this.validate(grown.tree, margins);
      const t = this.time;
      this.party.deps.log.info('tree grown', {
        job: this.party.job.id,
        tree: this.tree,
        rounds: t.rounds,
        encryptMs: Math.round(t.encrypt),
        exchangeMs: Math.round(t.exchange),
        decryptMs: Math.round(t.decrypt),
        ownHistogramsMs: Math.round(t.own),
      });
      this.time = { encrypt: 0, exchange: 0, decrypt: 0, own: 0, rounds: 0 };
      this.trees.push({
        tree: grown.tree,
        splitsAfter: new Map(this.partnerSplits),
        ownSplitsAfter: this.party.splits.length,
      });
      const scores = Float64Array.from(validation, (r) => sigmoid(margins[r]!));
      const positives = validationLabels.reduce((n, y) => n + y, 0);
      const metrics: TreeMetrics = {
        auc: auc(scores, validationLabels),
        ks: ks(scores, validationLabels),
        logLoss: logLoss(scores, validationLabels),
        threshold: spec.threshold,
        confusion: confusion(scores, validationLabels, spec.threshold),
        positives,
        negatives: validationLabels.length - positives,
      };
      await this.record(this.tree, metrics);
      this.report = { tree: this.tree, metrics: spec.publishMetrics ? metrics : null };
      if (metrics.auc > bestAuc) {
        bestAuc = metrics.auc;
        this.bestTrees = this.tree;
      } else if (model.earlyStopping !== undefined && this.tree - this.bestTrees >= model.earlyStopping)
        break;
    }
    if (model.earlyStopping === undefined) this.bestTrees = this.trees.length;
    // Final round: how many split ids the kept trees use, per feature holder.
    this.tree = Math.min(this.tree, model.trees) + 1;
    this.round = 0;
    const kept = this.trees[this.bestTrees - 1]!;
    // The part must export before anyone is told the job is over: a failure now fails the job for everyone.
    exportable(this.part()!);
    const last = await this.exchange((m) => ({
      header: { final: { splits: kept.splitsAfter.get(m) ?? 0 } },
      blobs: [],
    }));
    for (const [m, a] of last)
      if (a.header.final?.splits !== (kept.splitsAfter.get(m) ?? 0))
        throw refuse(`${m} did not acknowledge the end`);
    await this.party.deps.reply({
      stage: 'finish',
      batch: { jobId: this.party.job.id, epoch: this.tree, batch: this.round, phase: 'train' },
    });
  }

  /** The grower's questions, answered with rounds. */
  private access(gq: Int32Array, hq: Int32Array, allowed: readonly (readonly boolean[])[]): GrowAccess {
    const self = this.party.deps.self;
    const { binned } = this.party;
    return {
      histograms: async (nodes: readonly NodeRows[]): Promise<Histogram[][][]> => {
        let at = performance.now();
        const own = nodes.map((n) => plainHistograms(binned.bins, n.rows, gq, hq));
        this.time.own += performance.now() - at;
        const features = new Map(
          this.partners.map((m, p) => [m, allowed[p + 1]!.flatMap((ok, f) => (ok ? [f] : []))] as const),
        );
        // A node of more rows than one histogram sums goes in pieces, whose decrypted sums add up exactly.
        const pieces = nodes.flatMap((n, i) => {
          const out: { node: number; index: number; rows: Int32Array }[] = [];
          for (let from = 0; from < n.rows.length; from += MAX_HISTOGRAM_ROWS)
            out.push({ node: n.node, index: i, rows: n.rows.subarray(from, from + MAX_HISTOGRAM_ROWS) });
          return out;
        });
        // Rounds small enough for the wire: each feature holder's answer within MAX_ANSWER_BYTES.
        const widest = Math.max(1, ...[...features.values()].map((f) => f.length));
        const perRound = Math.max(1, Math.floor(MAX_ANSWER_BYTES / (widest * this.suite.outputBytes)));
        const sums = nodes.map(() =>
          this.partners.map((m) => this.partnerFeatures.get(m)!.map(() => emptySums())),
        );
        for (let from = 0; from < pieces.length; from += perRound) {
          const batch = pieces.slice(from, from + perRound);
          at = performance.now();
          // Each piece's g/h encrypted once; every feature holder gets the same ciphertexts.
          const blobs: Uint8Array[] = [];
          const refs = batch.map((piece) => {
            const g = Int32Array.from(piece.rows, (r) => gq[r]!);
            const h = Int32Array.from(piece.rows, (r) => hq[r]!);
            const rows = blobs.push(rowsToBytes(piece.rows)) - 1;
            const blocks = this.suite.encryptGradients(this.secretKey!, g, h).map((b) => blobs.push(b) - 1);
            return { node: piece.node, rows, blocks };
          });
          this.time.encrypt += performance.now() - at;
          const answers = await this.exchange(
            (m) => ({ header: { histograms: { features: features.get(m)!, nodes: refs } }, blobs }),
            (m) => batch.length * features.get(m)!.length * this.suite.outputBytes,
          );
          at = performance.now();
          batch.forEach((piece, i) => {
            this.partners.forEach((m, p) => {
              const { header, blobs: got } = answers.get(m)!;
              const entry = header.histograms?.[i];
              const wanted = features.get(m)!;
              if (
                header.histograms?.length !== batch.length ||
                entry?.node !== piece.node ||
                entry.outputs.length !== wanted.length
              )
                throw refuse(`${m} answered histograms of other nodes or features`);
              wanted.forEach((f, k) => {
                let decrypted: { g: Float64Array; h: Float64Array };
                try {
                  decrypted = this.suite.decryptHistogram(this.secretKey!, blobAt(got, entry.outputs[k]!));
                } catch (err) {
                  // Blame the sender, not the relay or this node.
                  const error = toAccordError(err);
                  throw error.code === 'ACCORD_HE_CIPHERTEXT_INVALID' ? error.withParams({ from: m }) : error;
                }
                const into = sums[piece.index]![p]![f]!;
                for (let b = 0; b < decrypted.g.length; b++) {
                  into.g[b]! += decrypted.g[b]!;
                  into.h[b]! += decrypted.h[b]!;
                }
              });
            });
          });
          this.time.decrypt += performance.now() - at;
        }
        return nodes.map((n, i) => {
          // Every feature's positions hold every row of the node once: its sums are the node's, which this node
          // knows. A feature holder that added anything to a histogram is caught here.
          let gSum = 0;
          let hSum = 0;
          for (const r of n.rows) {
            gSum += gq[r]!;
            hSum += hq[r]!;
          }
          return [
            own[i]!,
            ...this.partners.map((m, p) =>
              sums[i]![p]!.map((feature, f) => {
                if (features.get(m)!.includes(f)) {
                  const g = feature.g.reduce((a, b) => a + b, 0);
                  const h = feature.h.reduce((a, b) => a + b, 0);
                  if (g !== gSum || h !== hSum)
                    throw refuse(`${m}'s histogram of node ${n.node} does not sum to the node's rows`);
                }
                const histogram = emptyHistogram();
                for (let b = 0; b < feature.g.length; b++) {
                  const v = dequantiseSums(feature.g[b]!, feature.h[b]!);
                  histogram.g[b] = v.g;
                  histogram.h[b] = v.h;
                }
                return histogram;
              }),
            ),
          ];
        });
      },
      split: async (requests: readonly SplitRequest[]): Promise<SplitResult[]> => {
        const results = new Array<SplitResult>(requests.length);
        const byPartner = new Map<string, number[]>();
        requests.forEach((req, i) => {
          if (req.party === self) {
            const binning = binned.binning[req.candidate.feature]!;
            this.party.splits.push({
              rule: ruleOf(binning, req.candidate),
              feature: req.candidate.feature,
              candidate: req.candidate,
            });
            const column = binned.bins[req.candidate.feature]!;
            results[i] = {
              splitId: this.party.splits.length - 1,
              left: Uint8Array.from(req.rows, (r) => (goesLeft(req.candidate, column[r]!) ? 1 : 0)),
            };
          } else byPartner.set(req.party, [...(byPartner.get(req.party) ?? []), i]);
        });
        if (byPartner.size === 0) return results;
        const answers = await this.exchange((m) => {
          const blobs: Uint8Array[] = [];
          const splits = (byPartner.get(m) ?? []).map((i) => {
            const { node, rows, candidate } = requests[i]!;
            return {
              node,
              rows: blobs.push(rowsToBytes(rows)) - 1,
              feature: candidate.feature,
              leftBins: [...candidate.leftBins],
              missingLeft: candidate.missingLeft,
            };
          });
          return { header: splits.length ? { splits } : {}, blobs };
        });
        for (const [m, indexes] of byPartner) {
          const { header, blobs } = answers.get(m)!;
          const made = header.splits ?? [];
          if (made.length !== indexes.length)
            throw refuse(`${m} answered ${made.length} splits of ${indexes.length}`);
          indexes.forEach((i, k) => {
            const req = requests[i]!;
            const answer = made[k]!;
            const expected = this.partnerSplits.get(m)!;
            if (answer.node !== req.node || answer.splitId !== expected)
              throw refuse(`${m} numbered its split ${answer.splitId}, expected ${expected}`);
            this.partnerSplits.set(m, expected + 1);
            results[i] = {
              splitId: answer.splitId,
              left: unpackBits(blobAt(blobs, answer.left), req.rows.length),
            };
          });
        }
        return results;
      },
    };
  }

  /** Adds the tree's weight to every validation row's margin, asking feature holders for their new splits' bits. */
  private async validate(tree: Tree, margins: Float64Array): Promise<void> {
    const { binned, data } = this.party;
    const self = this.party.deps.self;
    const rows = data.validationRows;
    const before = this.trees.at(-1)?.splitsAfter;
    const ranges = new Map(
      this.partners.map((m) => [m, { from: before?.get(m) ?? 0, to: this.partnerSplits.get(m)! }]),
    );
    const bits = new Map<string, { from: number; width: number; bits: Uint8Array }>();
    if ([...ranges.values()].some((r) => r.to > r.from)) {
      const answers = await this.exchange(
        (m) => ({ header: { validationBits: ranges.get(m)! }, blobs: [] }),
        (m) => Math.ceil((rows.length * (ranges.get(m)!.to - ranges.get(m)!.from)) / 8),
      );
      for (const [m, range] of ranges) {
        const { header, blobs } = answers.get(m)!;
        const width = range.to - range.from;
        if (header.validationBits === undefined) throw refuse(`${m} sent no validation decisions`);
        bits.set(m, {
          from: range.from,
          width,
          bits: unpackBits(blobAt(blobs, header.validationBits), rows.length * width),
        });
      }
    }
    rows.forEach((r, i) => {
      let at = 0;
      for (;;) {
        const node = tree.nodes[at]!;
        if (node.kind === 'leaf') {
          margins[r]! += node.weight;
          return;
        }
        let left: boolean;
        if (node.owner === self) {
          const split = this.party.splits[node.splitId]!;
          left = goesLeft(split.candidate, binned.bins[split.feature]![r]!);
        } else {
          const b = bits.get(node.owner)!;
          left = b.bits[i * b.width + (node.splitId - b.from)] === 1;
        }
        at = left ? node.left : node.right;
      }
    });
  }

  private async record(tree: number, metrics: TreeMetrics): Promise<void> {
    const run = this.party;
    run.job = await recordRound(run.deps, run.job, run.data, run.deps.self, tree, metrics);
  }

  /** The label holder's part: the kept trees, the base margin, its rules of the kept trees, partners' split counts. */
  part(): TreeLabelHolderPart | null {
    if (this.bestTrees === 0) return null;
    const kept = this.trees[this.bestTrees - 1]!;
    return {
      role: 'label-holder',
      self: this.party.deps.self,
      baseMargin: this.base,
      trees: this.trees.slice(0, this.bestTrees).map((t) => t.tree),
      rules: this.party.splits.slice(0, kept.ownSplitsAfter).map((s) => s.rule),
      // A partner none of whose splits the kept trees use is no input of the part: it is never asked when scoring.
      partners: this.partners
        .map((m) => ({ member: m, splits: kept.splitsAfter.get(m) ?? 0 }))
        .filter((p) => p.splits > 0),
    };
  }

  release(): void {
    this.secretKey?.delete();
    this.secretKey = null;
    this.waiting?.reject(new AccordError('ACCORD_TRAINING_LOST'));
    this.waiting = null;
  }
}
