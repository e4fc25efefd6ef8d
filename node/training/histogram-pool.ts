/**
 * A feature holder's encrypted histograms computed on several cores: one worker thread per core (up to `size`),
 * each with its own histogram suite, the node's features shared out among them. The homomorphic products are
 * the feature holder's main cost in a boosted-tree job, and while it computes them the label holder waits, so the
 * machine's other cores would otherwise sit idle. Each worker gets only the public key, the node's blocks and its
 * features' positions; results come back in feature order. Workers start on first use and end with `close()`.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AccordError } from '../../primitives/errors/index.js';

/** One worker's share of a node: the features' positions, each the concatenation over the blocks. */
export interface HistogramTask {
  readonly id: number;
  readonly publicKey: Uint8Array;
  readonly blocks: readonly Uint8Array[];
  readonly rowsPerBlock: readonly number[];
  readonly positions: readonly Uint8Array[];
}

/** One node of a level: its blocks, rows per block, and each feature's positions of its rows, block after block. */
export interface NodeHistograms {
  readonly blocks: readonly Uint8Array[];
  readonly rowsPerBlock: readonly number[];
  readonly positions: readonly Uint8Array[];
}

export type HistogramTaskResult =
  | { readonly id: number; readonly outputs: Uint8Array[] }
  | {
      readonly id: number;
      readonly error: { code: string; params: Record<string, unknown>; message?: string };
    };

interface PoolWorker {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly pending: Map<number, { resolve(o: Uint8Array[]): void; reject(e: Error): void }>;
}

/** Worker threads a feature holder uses by default: every core, at most 4. */
export const defaultHistogramWorkers = (): number => Math.min(4, Math.max(1, availableParallelism()));

export class HistogramPool {
  private workers: PoolWorker[] = [];
  private next = 0;

  constructor(private readonly size: number = defaultHistogramWorkers()) {}

  private start(): PoolWorker[] {
    if (this.workers.length) return this.workers;
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(new URL('./histogram-worker.mjs', import.meta.url));
      const pending: PoolWorker['pending'] = new Map();
      const ready = new Promise<void>((resolve, reject) => {
        worker.once('error', reject);
        worker.on('message', (m: { readonly ready: true } | HistogramTaskResult) => {
          if ('ready' in m) return resolve();
          const waiting = pending.get(m.id);
          if (!waiting) return;
          pending.delete(m.id);
          if ('outputs' in m) waiting.resolve(m.outputs.map((o) => new Uint8Array(o)));
          else
            waiting.reject(
              m.error.code === 'ACCORD_INTERNAL'
                ? new Error(m.error.message ?? 'a histogram worker failed')
                : new AccordError(m.error.code as never, m.error.params as never),
            );
        });
      });
      const failAll = (err: Error) => {
        for (const w of pending.values()) w.reject(err);
        pending.clear();
      };
      worker.on('error', failAll);
      // A worker that ends (terminated by `close`, or crashed) fails what it still owed: nobody waits forever.
      worker.on('exit', () => failAll(new AccordError('ACCORD_TRAINING_LOST')));
      worker.unref();
      this.workers.push({ worker, ready, pending });
    }
    return this.workers;
  }

  /** Starts the workers (their suites take about half a second), so that the first node does not wait for them. */
  async warm(): Promise<void> {
    await Promise.all(this.start().map((w) => w.ready));
  }

  /**
   * The histograms of one level's nodes: for node n, `positions[f]` the positions of feature f's rows, block after
   * block. Returns per node one histogram per feature, in order; rejects with the suite's coded error. The work is
   * shared out in units of a whole node (or, with fewer nodes than workers, a node's share of the features), the
   * largest first to the least loaded worker, so that each block is prepared by as few workers as possible.
   */
  async level(publicKey: Uint8Array, nodes: readonly NodeHistograms[]): Promise<Uint8Array[][]> {
    const workers = this.start();
    const units: { node: number; from: number; to: number; cost: number }[] = [];
    for (const [node, n] of nodes.entries()) {
      const features = n.positions.length;
      const pieces = nodes.length >= workers.length ? 1 : Math.min(features, workers.length);
      const share = Math.ceil(features / Math.max(1, pieces));
      for (let from = 0; from < features; from += share)
        units.push({
          node,
          from,
          to: Math.min(features, from + share),
          cost: n.blocks.length * (Math.min(features, from + share) - from),
        });
    }
    const load = workers.map(() => 0);
    const assigned = workers.map(() => [] as typeof units);
    for (const unit of [...units].sort((a, b) => b.cost - a.cost)) {
      const k = load.indexOf(Math.min(...load));
      load[k]! += unit.cost;
      assigned[k]!.push(unit);
    }
    const out = nodes.map((n) => new Array<Uint8Array>(n.positions.length));
    await Promise.all(
      workers.map(async (w, k) => {
        for (const unit of assigned[k]!) {
          const n = nodes[unit.node]!;
          await w.ready;
          const id = this.next++;
          const outputs = await new Promise<Uint8Array[]>((resolve, reject) => {
            w.pending.set(id, { resolve, reject });
            w.worker.postMessage({
              id,
              publicKey,
              blocks: n.blocks,
              rowsPerBlock: n.rowsPerBlock,
              positions: n.positions.slice(unit.from, unit.to),
            } satisfies HistogramTask);
          });
          outputs.forEach((o, i) => {
            out[unit.node]![unit.from + i] = o;
          });
        }
      }),
    );
    return out;
  }

  /** One node's histograms (`level` with one node). */
  async histograms(
    publicKey: Uint8Array,
    blocks: readonly Uint8Array[],
    rowsPerBlock: readonly number[],
    positions: readonly Uint8Array[],
  ): Promise<Uint8Array[]> {
    return (await this.level(publicKey, [{ blocks, rowsPerBlock, positions }]))[0]!;
  }

  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
