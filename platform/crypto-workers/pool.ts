/**
 * A process's pool of crypto worker threads: the PSI primitives (protocol and what each party learns:
 * `primitives/psi/hash-to-curve.ts`) and the bulk steps of fraud-signal tokens (`primitives/oprf/fraud-token.ts`), on all
 * cores. One pool per process, so PSI and signal batches share the cores instead of competing with two sets of
 * threads. It lives in `platform/`, not `primitives/`, because it starts threads; the primitives it runs stay pure.
 * Results are byte-identical to the single-threaded functions, and errors carry the same codes and the same
 * (global) point index, so callers may switch between the two freely.
 *
 * Each call is cut into chunks that idle workers pull from a queue; a chunk's input and output ArrayBuffers are
 * transferred, not copied. Workers start on first use and are unref'd while idle, so an idle pool never keeps the
 * process alive; close() terminates them.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { AccordError } from '../../primitives/errors/index.js';
import type { IdKind } from '../../primitives/identity/normalise.js';
import { POINT_BYTES, psiDst } from '../../primitives/psi/hash-to-curve.js';
import type { FraudTokenInput } from '../../primitives/oprf/fraud-token.js';
import type { CoordinatorKey } from '../../primitives/oprf/coordinator-key.js';
import type { MemberKey } from '../../primitives/oprf/member-key.js';
import type { PsiKey } from '../../primitives/psi/psi-key.js';
import type { WorkerReply, WorkerRequest, WorkerTask } from './protocol.js';

export interface CryptoWorkerPoolOptions {
  /** Number of worker threads; default os.availableParallelism(). */
  readonly size?: number;
  /** Smallest chunk handed to one worker (elements); default 256, small chunks lose to messaging overhead. */
  readonly minChunk?: number;
}

interface Job {
  readonly request: WorkerRequest;
  readonly transfer: ArrayBuffer[];
  readonly resolve: (result: Uint8Array | null) => void;
  readonly reject: (err: AccordError) => void;
}

interface Slot {
  readonly worker: Worker;
  job: Job | null;
}

// From the TS sources the worker starts through a small .mjs entry that registers tsx (see that file); a compiled
// build has a plain worker.js.
const RUNNING_TS = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(RUNNING_TS ? './worker-entry.mjs' : './worker.js', import.meta.url);

function workerExecArgv(): string[] {
  // The parent's `--import tsx` is dropped: in Node 20 it does not make .ts loadable inside a worker (the entry does
  // that), and its relative specifier would fail to resolve if the process has changed directory since.
  const kept: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (
      (a === '--import' || a === '--loader' || a === '--require') &&
      /(^|\/)tsx(\/|$)/.test(argv[i + 1] ?? '')
    )
      i++;
    else if (!/^--(import|loader|require)=.*tsx/.test(a)) kept.push(a);
  }
  return kept;
}

function owned(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes); // a copy owns its ArrayBuffer, so it can be transferred
}

export class CryptoWorkerPool {
  readonly size: number;
  private readonly minChunk: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextTaskId = 1;
  private closed = false;

  constructor(options: CryptoWorkerPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? os.availableParallelism()));
    this.minChunk = Math.max(1, Math.floor(options.minChunk ?? 256));
  }

  /** hashToCurveBatch then blind, for this party's own normalised ids (protocol step 2). */
  async hashAndBlind(key: PsiKey, ids: readonly string[], kind: IdKind, jobDomain: string): Promise<Buffer> {
    psiDst(kind, jobDomain); // fail fast, once, rather than once per chunk
    return this.withSecret(key, (secret) =>
      this.runChunks(ids.length, POINT_BYTES, (start, end) => ({
        task: { op: 'hashAndBlind', secret: owned(secret), ids: ids.slice(start, end), kind, jobDomain },
      })),
    );
  }

  /** blind of points this party trusts (its own, or already validated). */
  async reblind(key: PsiKey, points: Buffer): Promise<Buffer> {
    const count = countOf(points);
    return this.withSecret(key, (secret) =>
      this.runChunks(count, POINT_BYTES, (start, end) => ({
        task: { op: 'reblind', secret: owned(secret), points: owned(points.subarray(start * 32, end * 32)) },
      })),
    );
  }

  /** validatePoints then blind, in one pass: the call for points received from a peer (protocol step 3). */
  async validateAndReblind(key: PsiKey, points: Buffer, count: number): Promise<Buffer> {
    checkCount(points, count);
    return this.withSecret(key, (secret) =>
      this.runChunks(count, POINT_BYTES, (start, end) => ({
        task: {
          op: 'validateAndReblind',
          secret: owned(secret),
          points: owned(points.subarray(start * 32, end * 32)),
          indexBase: start,
        },
      })),
    );
  }

  /**
   * Fraud-signal member elements M = H(x)^k_m for many identifiers (primitives/oprf/fraud-token.ts step 1), 32 bytes
   * each, in order: screening and batch publishes use every core instead of the event loop.
   */
  async memberElements(key: MemberKey, inputs: readonly FraudTokenInput[]): Promise<Buffer> {
    const secret = Buffer.from(key.secretScalar);
    try {
      return await this.runChunks(inputs.length, 32, (start, end) => ({
        task: {
          op: 'memberElements',
          secret: owned(secret),
          kinds: inputs.slice(start, end).map((x) => x.kind),
          ids: inputs.slice(start, end).map((x) => x.normalisedId),
        },
      }));
    } finally {
      secret.fill(0);
    }
  }

  /** Fraud-signal tokens of packed member elements (step 2, at the coordinator), 32 bytes each, in order. */
  async signalTokens(key: CoordinatorKey, elements: Buffer): Promise<Buffer> {
    const secret = Buffer.from(key.secretScalar);
    try {
      return await this.runChunks(countOf(elements), 32, (start, end) => ({
        task: {
          op: 'signalTokens',
          secret: owned(secret),
          points: owned(elements.subarray(start * 32, end * 32)),
          indexBase: start,
        },
      }));
    } finally {
      secret.fill(0);
    }
  }

  /** Terminates the workers; queued and running calls fail with ACCORD_PSI_POOL_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new AccordError('ACCORD_PSI_POOL_CLOSED'));
    const slots = this.slots.splice(0);
    for (const slot of slots) slot.job?.reject(new AccordError('ACCORD_PSI_POOL_CLOSED'));
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private async withSecret(key: PsiKey, use: (secret: Buffer) => Promise<Buffer>): Promise<Buffer> {
    const secret = key.secretBytes();
    try {
      return await use(secret);
    } finally {
      secret.fill(0); // every chunk got its own copy when it was built
    }
  }

  /**
   * Cuts [0, count) into chunks, runs them, and joins the results in order. When several chunks fail, the error of
   * the first failing chunk wins, as it would single-threaded.
   */
  private async runChunks(
    count: number,
    bytesPerElement: number,
    build: (start: number, end: number) => { task: WorkerTask },
  ): Promise<Buffer> {
    if (this.closed) throw new AccordError('ACCORD_PSI_POOL_CLOSED');
    if (count === 0) return Buffer.alloc(0);
    const chunk = Math.max(this.minChunk, Math.ceil(count / (this.size * 4)));
    const runs: Promise<Uint8Array | null>[] = [];
    for (let start = 0; start < count; start += chunk) {
      const { task } = build(start, Math.min(start + chunk, count));
      runs.push(this.submit(task));
    }
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const out = Buffer.alloc(count * bytesPerElement);
    let off = 0;
    for (const s of settled) {
      const r = (s as PromiseFulfilledResult<Uint8Array | null>).value;
      if (r) {
        out.set(r, off);
        off += r.length;
      }
    }
    return out;
  }

  private submit(task: WorkerTask): Promise<Uint8Array | null> {
    const transfer: ArrayBuffer[] = [];
    if ('secret' in task) transfer.push(task.secret.buffer as ArrayBuffer);
    if ('points' in task) transfer.push(task.points.buffer as ArrayBuffer);
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { taskId: this.nextTaskId++, task }, transfer, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.job === null);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(job.request, job.transfer);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, { execArgv: workerExecArgv() });
    const slot: Slot = { worker, job: null };
    worker.on('message', (reply: WorkerReply) => {
      const job = slot.job;
      if (!job || job.request.taskId !== reply.taskId) return;
      slot.job = null;
      if (this.queue.length === 0) worker.unref();
      if (reply.ok) job.resolve(reply.result);
      else job.reject(rebuild(reply));
      this.dispatch();
    });
    // The reason is a fixed phrase (params reach peers and logs); the original error stays local as the cause.
    const fail = (reason: string, cause?: unknown) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      slot.job?.reject(new AccordError('ACCORD_PSI_WORKER_FAILED', { reason }, { cause }));
      slot.job = null;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (err) => fail('uncaught error', err));
    worker.on('exit', (code) => fail(`exited with code ${code}`));
    this.slots.push(slot);
    return slot;
  }
}

function rebuild(reply: Extract<WorkerReply, { ok: false }>): AccordError {
  if (reply.code === 'ACCORD_INTERNAL' && reply.detail !== undefined) {
    return new AccordError('ACCORD_INTERNAL', {}, { cause: new Error(reply.detail) });
  }
  return AccordError.fromWire(reply.code, reply.params);
}

function countOf(points: Buffer): number {
  if (points.length % POINT_BYTES !== 0) checkCount(points, Math.floor(points.length / POINT_BYTES));
  return points.length / POINT_BYTES;
}

function checkCount(points: Buffer, count: number): void {
  if (!Number.isSafeInteger(count) || count < 0 || points.length !== count * POINT_BYTES) {
    throw new AccordError('ACCORD_PSI_POINT_COUNT_MISMATCH', {
      expected: count,
      expectedBytes: count * POINT_BYTES,
      actualBytes: points.length,
    });
  }
}
