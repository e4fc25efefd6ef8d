/**
 * One PSI session as this node runs it, once every participant has accepted (the flow and what each party learns:
 * primitives/psi/session-protocol.ts). Two streams run at once, then the result arrives:
 *  - own set: rows in a random order -> normalise -> hash to the curve and blind (worker pool) -> Send (hop 1);
 *  - ring: other parties' batches routed here -> check every point, blind with our key -> Send (hop + 1), in order;
 *  - result (learners): positions of our rows in the intersection, in our sending order, listed in the order every
 *    learner shares; or only the count. Every position is checked (in range, never twice, the announced total).
 * Memory grows with the batch size, apart from 8 bytes a row (row keys and the permutation) and, for a learner, one
 * bit a row (positions seen) and 4 bytes per shared row.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CryptoWorkerPool } from '../../platform/crypto-workers/pool.js';
import type { Logger } from '../../platform/log/logger.js';
import { endedWith, type PsiJobRecord, type PsiJobStore } from '../../platform/store/psi-types.js';
import type { DatasetStore } from '../../platform/store/types.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import { type IdKind, normaliseId } from '../../primitives/identity/normalise.js';
import { PsiKey } from '../../primitives/psi/psi-key.js';
import {
  PSI_BATCH_POINTS,
  PSI_OUTCOME,
  type PsiEnd,
  type PsiResult,
  type PsiRingBatch,
  type PsiStart,
  nextInRing,
  RingStreams,
  sizeRatio,
} from '../../primitives/psi/session-protocol.js';
import { randomPermutation } from './permutation.js';
import type { PsiClient } from './psi-client.js';

const POINT = 32;
const KEY = 16;
/** Batches being processed before the inbox is paused (back-pressure to the coordinator). */
const MAX_PENDING = 6;

export interface PsiRunDeps {
  readonly client: PsiClient;
  readonly pool: CryptoWorkerPool;
  readonly datasets: DatasetStore;
  readonly jobs: PsiJobStore;
  readonly log: Logger;
  readonly self: string;
  /** The largest size ratio this bank accepts in this session (the smallest cap of its policies for the others). */
  readonly maxSizeRatio: number;
  /**
   * This bank's per-partner checks of the other parties' sizes (ratio and weekly rows, `policy.ts`), against its
   * own set size; rejects with the coded refusal. Nothing is sent before it resolves.
   */
  readonly admitSizes: (job: PsiJobRecord, ownSize: number, sizes: Record<string, number>) => Promise<void>;
  /** Called when the run ends (any outcome) so the manager can forget it. */
  readonly onSettled: (jobId: string) => void;
}

/** A learner's result as it arrives: checked batch by batch, kept as row keys in the shared order. */
interface ResultState {
  size: number;
  next: number;
  complete: boolean;
  rows: number[];
  seen: Uint8Array;
}

function violation(problem: string): AccordError {
  return new AccordError('ACCORD_PSI_PROTOCOL_VIOLATION', { member: 'coordinator', problem });
}

export class PsiRun {
  private readonly key = PsiKey.generate();
  private rowKeys: Int32Array = new Int32Array(0);
  /** The version of the dataset whose row keys were loaded: recorded with the result (psi-types `datasetVersion`). */
  private datasetVersion: number | null = null;
  private perm: Uint32Array = new Uint32Array(0);
  private start: PsiStart | null = null;
  private processed = 0;
  private total = 0;
  private skipped = 0;
  private lastSaved = 0;
  private pending = 0;
  private tail: Promise<void> = Promise.resolve();
  private result: ResultState | null = null;
  /** Per (origin, hop): the next batch expected and the points received so far (step 3 checks). */
  private readonly inbound = new RingStreams();
  private finished = false;

  constructor(
    private readonly deps: PsiRunDeps,
    readonly job: PsiJobRecord,
  ) {}

  /** Loads the row keys and draws the permutation; returns this node's set size. */
  async prepare(): Promise<number> {
    // Read before the rows: a re-import in between leaves an older version on record, so the alignment counts as
    // stale (refused), never as current over other rows. Replacing the dataset waits while the job runs.
    this.datasetVersion = (await this.deps.datasets.get(this.job.dataset))?.version ?? null;
    this.rowKeys = await this.deps.datasets.rowKeys(this.job.dataset);
    this.perm = randomPermutation(this.rowKeys.length);
    return this.rowKeys.length;
  }

  get setSize(): number {
    return this.rowKeys.length;
  }

  /** The size ratio this bank accepts in this session (from its policy for every other participant). */
  get maxSizeRatio(): number {
    return this.deps.maxSizeRatio;
  }

  /**
   * Step 2 at this node: the session starts. Before a single point is sent, the announced sizes are checked against
   * this bank's own cap (it does not rely on the coordinator having done so).
   */
  begin(start: PsiStart): void {
    this.start = start;
    this.total = start.setSizes.reduce((a, b) => a + b, 0);
    try {
      const mine = start.setSizes[start.ring.indexOf(this.deps.self)];
      if (mine !== this.setSize) throw violation('the session start names another size for this bank’s set');
      const ratio = sizeRatio(start.setSizes);
      if (ratio > this.deps.maxSizeRatio) {
        throw new AccordError('ACCORD_PSI_SIZE_RATIO_EXCEEDED', {
          ratio: ratio.toFixed(1),
          cap: this.deps.maxSizeRatio,
        });
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    const peerSizes = Object.fromEntries(
      start.ring.map((m, i) => [m, start.setSizes[i]!] as const).filter(([m]) => m !== this.deps.self),
    );
    // Every later step waits for this bank's own size checks: nothing is blinded or sent for a refused session.
    const admitted = this.deps
      .admitSizes(this.job, this.setSize, peerSizes)
      .then(() => this.deps.jobs.update(this.job.id, { state: 'running', total: this.total, peerSizes }));
    this.tail = this.tail.then(() => admitted).then(() => undefined);
    admitted.then(() => this.sendOwnSet()).catch((err) => this.fail(err));
  }

  private isLearner(): boolean {
    return this.start?.learners.includes(this.deps.self) ?? false;
  }

  private progress(points: number): void {
    this.processed += points;
    const now = Date.now();
    if (now - this.lastSaved > 500) {
      this.lastSaved = now;
      void this.deps.jobs.update(this.job.id, { processed: this.processed, skippedRows: this.skipped });
    }
  }

  /** Normalises a batch; ids that fail or repeat become random inputs that can never match. */
  private normalised(raw: Array<string | null>, seen: Set<string> | null): string[] {
    return raw.map((value) => {
      let id: string | null = null;
      if (value !== null) {
        try {
          id = normaliseId(this.job.idKind as IdKind, value);
        } catch {
          id = null;
        }
      }
      if (id === null) {
        this.skipped++;
        return `\u0000unmatchable:${randomBytes(16).toString('hex')}`;
      }
      if (seen === null) return id;
      const digest = createHash('sha256').update(id).digest().toString('latin1', 0, KEY);
      if (seen.has(digest)) {
        this.skipped++;
        return `\u0000unmatchable:${randomBytes(16).toString('hex')}`;
      }
      seen.add(digest);
      return id;
    });
  }

  private async sendOwnSet(): Promise<void> {
    const n = this.rowKeys.length;
    const batches = Math.ceil(n / PSI_BATCH_POINTS);
    // A dataset's id column is unique and customer ids normalise to themselves: no repeats to look for.
    const info = await this.deps.datasets.get(this.job.dataset);
    const unique = this.job.idKind === 'customer_id' && info?.idColumn === this.job.idColumn;
    const seen = unique ? null : new Set<string>();
    const prepare = async (b: number) => {
      const positions = this.perm.subarray(b * PSI_BATCH_POINTS, Math.min(n, (b + 1) * PSI_BATCH_POINTS));
      const keys = Array.from(positions, (p) => this.rowKeys[p]!);
      const raw = await this.deps.datasets.valuesOf(this.job.dataset, this.job.idColumn, keys);
      const ids = this.normalised(raw, seen);
      return this.deps.pool.hashAndBlind(this.key, ids, this.job.idKind as IdKind, this.job.id);
    };
    const inflight: Array<Promise<Buffer>> = [];
    let sent = 0;
    const sendNext = async () => {
      const points = await inflight.shift()!;
      const b = sent++;
      await this.deps.client.send({
        sessionId: this.job.id,
        origin: this.deps.self,
        hop: 1,
        batchIndex: b,
        count: points.length / POINT,
        points,
        last: b === batches - 1,
      });
      this.progress(points.length / POINT);
    };
    for (let b = 0; b < batches && !this.finished; b++) {
      inflight.push(prepare(b));
      if (inflight.length >= 3) await sendNext();
    }
    while (inflight.length && !this.finished) await sendNext();
  }

  /**
   * Step 3: batches are blinded as they arrive (in parallel) but sent on strictly in arrival order. A batch is
   * blinded only if it is one this node must blind: the session has started, the batch belongs to another party's
   * stream whose next hop is this node, in order, and never more points than that party announced. So whoever relays
   * cannot have this node blind points of its own choosing beyond what the session allows.
   */
  onBatch(batch: PsiRingBatch): void {
    if (this.finished) return;
    try {
      this.checkRingBatch(batch);
    } catch (err) {
      this.fail(err);
      return;
    }
    const work = this.deps.pool.validateAndReblind(this.key, batch.points, batch.count);
    work.catch(() => undefined);
    this.pending++;
    if (this.pending >= MAX_PENDING) this.deps.client.pause();
    this.tail = this.tail
      .then(async () => {
        if (this.finished) return;
        const reblinded = await work;
        await this.deps.client.send({
          sessionId: this.job.id,
          origin: batch.origin,
          hop: batch.hop + 1,
          batchIndex: batch.batchIndex,
          count: batch.count,
          points: reblinded,
          last: batch.last,
        });
        this.progress(batch.count);
      })
      .catch((err) => this.fail(err))
      .finally(() => {
        this.pending--;
        if (this.pending < MAX_PENDING / 2) this.deps.client.resume();
      });
  }

  private checkRingBatch(batch: PsiRingBatch): void {
    const start = this.start;
    if (!start) throw violation('points before the session started');
    const at = start.ring.indexOf(batch.origin);
    if (at < 0 || batch.origin === this.deps.self || batch.hop < 1 || batch.hop >= start.ring.length)
      throw violation('points of an unknown origin or hop');
    if (nextInRing(start.ring, batch.origin, batch.hop) !== this.deps.self)
      throw violation('points this node is not the next hop for');
    const wrong = this.inbound.accept(batch, start.setSizes[at]!);
    if (wrong?.problem === 'short') throw violation('a stream shorter than announced');
    if (wrong) throw violation('points out of order or beyond the announced set size');
  }

  /** Step 4: this learner's result, batch by batch; any inconsistency fails the session. */
  onResult(message: PsiResult): void {
    this.tail = this.tail
      .then(() => {
        if (this.finished) return;
        this.acceptResult(message);
      })
      .catch((err) => this.fail(err));
  }

  private acceptResult(message: PsiResult): void {
    if (!this.isLearner()) throw violation('a result was sent to a party that does not learn it');
    const intersection = this.job.mode === 'intersection';
    this.result ??= {
      size: message.size,
      next: 0,
      complete: false,
      rows: [],
      seen: new Uint8Array(intersection ? this.setSize : 0),
    };
    const state = this.result;
    if (state.complete || message.batchIndex !== state.next || message.size !== state.size)
      throw violation('result out of order or inconsistent');
    if (message.size > this.setSize) throw violation('an intersection larger than this bank’s set');
    if (!intersection && message.positions.length > 0) throw violation('positions in cardinality mode');
    for (const p of message.positions) {
      if (p >= this.setSize || state.seen[p]) throw violation('a position out of range or repeated');
      state.seen[p] = 1;
      state.rows.push(this.rowKeys[this.perm[p]!]!);
    }
    state.next++;
    if (message.last) {
      if (intersection && state.rows.length !== state.size)
        throw violation('fewer positions than the result size');
      state.complete = true;
    }
  }

  /** Step 5: the coordinator ended the session. */
  onEnd(end: PsiEnd): void {
    this.tail = this.tail.then(async () => {
      if (this.finished) return;
      if (end.outcome === PSI_OUTCOME.DONE) {
        const learner = this.isLearner();
        if (learner && !this.result?.complete) {
          this.fail(violation('the session ended before this learner’s result was complete'));
          return;
        }
        this.finished = true;
        const rows = learner && this.job.mode === 'intersection' ? this.result!.rows : null;
        const size = learner ? this.result!.size : null;
        await this.deps.jobs.update(this.job.id, { processed: this.processed, skippedRows: this.skipped });
        await this.deps.jobs.complete(this.job.id, rows, size, this.datasetVersion);
        this.deps.log.info('PSI job done', { job: this.job.id, learner, size });
        this.settle();
      } else {
        await this.markFailed(end.outcome, end.error);
      }
    });
  }

  /** A local failure: tell the coordinator (so every participant stops), then record it. */
  fail(err: unknown): void {
    if (this.finished) return;
    const error = toAccordError(err);
    if (!(err instanceof AccordError)) this.deps.log.error('PSI job failed', { job: this.job.id, err });
    void this.deps.client.cancel({ sessionId: this.job.id, code: error.code }).catch(() => undefined);
    void this.markFailed('failed', error);
  }

  async markFailed(state: 'failed' | 'cancelled', error: AccordError): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.deps.jobs.update(this.job.id, { ...endedWith(state, error), processed: this.processed });
    this.settle();
  }

  private settle(): void {
    this.result = null;
    this.deps.client.resume();
    this.deps.onSettled(this.job.id);
  }
}
