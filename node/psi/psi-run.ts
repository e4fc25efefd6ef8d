/**
 * One PSI session as this node runs it, once every participant has accepted (the flow and what each party learns:
 * primitives/psi/session-protocol.ts). Three streams run at once:
 *  - own set: rows in a random order -> normalise -> hash to the curve and blind (worker pool) -> Send (hop 1);
 *  - ring: other parties' batches routed here -> check every point, blind with our key -> Send (hop + 1), in order;
 *  - final (learners): the values common to all other sets, then our own fully blinded set -> shared rows.
 * Memory grows with the batch size, apart from 8 bytes a row (row keys and the permutation) and, for a learner,
 * one 16-byte comparison key per common value.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from '../../platform/log/logger.js';
import { endedWith, type PsiJobRecord, type PsiJobStore } from '../../platform/store/psi-types.js';
import type { DatasetStore } from '../../platform/store/types.js';
import type { PsiBatch, PsiEnd, PsiStart } from '../../platform/wire/psi.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import { type IdKind, normaliseId } from '../../primitives/identity/normalise.js';
import { PsiKey } from '../../primitives/psi/psi-key.js';
import { PSI_BATCH_POINTS, PSI_OUTCOME, PSI_STAGE } from '../../primitives/psi/session-protocol.js';
import type { CryptoWorkerPool } from '../../platform/crypto-workers/pool.js';
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
  /** Called when the run ends (any outcome) so the manager can forget it. */
  readonly onSettled: (jobId: string) => void;
}

export class PsiRun {
  private readonly key = PsiKey.generate();
  private rowKeys: Int32Array = new Int32Array(0);
  private perm: Uint32Array = new Uint32Array(0);
  private start: PsiStart | null = null;
  private processed = 0;
  private total = 0;
  private skipped = 0;
  private lastSaved = 0;
  private pending = 0;
  private tail: Promise<void> = Promise.resolve();
  private readonly common = new Set<string>();
  private readonly matches: number[] = [];
  private matchCount = 0;
  private finished = false;

  constructor(
    private readonly deps: PsiRunDeps,
    readonly job: PsiJobRecord,
  ) {}

  /** Loads the row keys and draws the permutation; returns this node's set size. */
  async prepare(): Promise<number> {
    this.rowKeys = await this.deps.datasets.rowKeys(this.job.dataset);
    this.perm = randomPermutation(this.rowKeys.length);
    return this.rowKeys.length;
  }

  get setSize(): number {
    return this.rowKeys.length;
  }

  begin(start: PsiStart): void {
    this.start = start;
    this.total = start.setSizes.reduce((a, b) => a + b, 0);
    void this.deps.jobs.update(this.job.id, { state: 'running', total: this.total });
    this.sendOwnSet().catch((err) => this.fail(err));
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

  /** Batches are processed as they arrive (crypto in parallel) but acted upon strictly in arrival order. */
  onBatch(batch: PsiBatch): void {
    if (this.finished) return;
    const work = this.compute(batch);
    work.catch(() => undefined);
    this.pending++;
    if (this.pending >= MAX_PENDING) this.deps.client.pause();
    this.tail = this.tail
      .then(async () => {
        if (this.finished) return;
        await this.act(batch, await work);
      })
      .catch((err) => this.fail(err))
      .finally(() => {
        this.pending--;
        if (this.pending < MAX_PENDING / 2) this.deps.client.resume();
      });
  }

  private async compute(batch: PsiBatch): Promise<Buffer | null> {
    if (batch.stage === PSI_STAGE.RING)
      return this.deps.pool.validateAndReblind(this.key, batch.points, batch.count);
    await this.deps.pool.validate(batch.points, batch.count);
    return null;
  }

  private async act(batch: PsiBatch, reblinded: Buffer | null): Promise<void> {
    switch (batch.stage) {
      case PSI_STAGE.RING:
        await this.deps.client.send({
          sessionId: this.job.id,
          origin: batch.origin,
          hop: batch.hop + 1,
          batchIndex: batch.batchIndex,
          count: batch.count,
          points: reblinded!,
          last: batch.last,
        });
        this.progress(batch.count);
        return;
      case PSI_STAGE.FINAL_OTHERS:
        for (let i = 0; i < batch.count; i++)
          this.common.add(batch.points.toString('latin1', i * POINT, i * POINT + KEY));
        return;
      case PSI_STAGE.FINAL_OWN: {
        if (batch.origin !== this.deps.self) {
          throw new AccordError('ACCORD_PSI_PROTOCOL_VIOLATION', {
            member: 'coordinator',
            problem: 'final set of another origin',
          });
        }
        const base = batch.batchIndex * PSI_BATCH_POINTS;
        for (let i = 0; i < batch.count; i++) {
          if (!this.common.has(batch.points.toString('latin1', i * POINT, i * POINT + KEY))) continue;
          this.matchCount++;
          if (this.job.mode === 'intersection') this.matches.push(this.rowKeys[this.perm[base + i]!]!);
        }
      }
    }
  }

  /** The coordinator ended the session. */
  onEnd(end: PsiEnd): void {
    this.tail = this.tail.then(async () => {
      if (this.finished) return;
      if (end.outcome === PSI_OUTCOME.DONE) {
        this.finished = true;
        const learner = this.isLearner();
        const rows = learner && this.job.mode === 'intersection' ? this.matches.sort((a, b) => a - b) : null;
        await this.deps.jobs.update(this.job.id, { processed: this.processed, skippedRows: this.skipped });
        await this.deps.jobs.complete(this.job.id, rows, learner ? this.matchCount : null);
        this.deps.log.info('PSI job done', {
          job: this.job.id,
          learner,
          size: learner ? this.matchCount : null,
        });
        this.settle();
      } else {
        const error =
          end.outcome === PSI_OUTCOME.CANCELLED
            ? new AccordError('ACCORD_PSI_CANCELLED', { by: end.by || 'coordinator' })
            : AccordError.fromWire(end.errorCode || 'ACCORD_INTERNAL', end.by ? { member: end.by } : {});
        await this.markFailed(end.outcome === PSI_OUTCOME.CANCELLED ? 'cancelled' : 'failed', error);
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
    this.common.clear();
    this.deps.client.resume();
    this.deps.onSettled(this.job.id);
  }
}
