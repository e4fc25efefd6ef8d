/**
 * Test support for the ONNX export: an independent float64 reference written from the documented layout alone
 * (models/types.ts), a deterministic generator for parameters and synthetic cells, the credit rows, and a runner that
 * scores exported bytes with ONNX Runtime.
 *
 * The reference shares no code with models/: it encodes cells and runs the network with its own loops, so a
 * mistake in the export (or in the code it reuses) cannot cancel out in the comparison.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { onnxFeeds } from '../../../models/onnx/feeds.js';
import type { ModelSpec, PreparedColumn, RawCell, RawColumns, TrainedModel } from '../../../models/types.js';

/** mulberry32: a tiny deterministic generator. For tests only: never for keys, masks or anything secret. */
export class TestRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [-limit, limit). */
  symmetric(limit: number): number {
    return (2 * this.next() - 1) * limit;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** The first `limit` rows of examples/data/default_credit_homo_guest.csv: columns x0..x22 (id and y dropped). */
export function creditRows(limit: number): { names: string[]; columns: number[][] } {
  const text = readFileSync(
    new URL('../../../examples/data/default_credit_homo_guest.csv', import.meta.url),
    'utf8',
  );
  const [header, ...lines] = text.trim().split('\n');
  const all = header!.split(',');
  const features = all.map((name, k) => ({ name, k })).filter(({ name }) => /^x\d+$/.test(name));
  const rows = lines.slice(0, limit).map((line) => line.split(',').map(Number));
  return { names: features.map((f) => f.name), columns: features.map(({ k }) => rows.map((row) => row[k]!)) };
}

/** Mean and population standard deviation over the present (finite number) cells. */
export function stats(cells: readonly RawCell[]): { mean: number; std: number } {
  const xs = cells.filter((c): c is number => typeof c === 'number' && Number.isFinite(c));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
  return { mean, std: Math.sqrt(variance) };
}

/** Weights U(±1.5·√(3 / inputs)) and biases U(±0.5), so scores spread over (0, 1) rather than saturate. */
export function randomParameters(spec: ModelSpec, width: number, random: TestRandom): Float64Array {
  const sizes = [width, ...(spec.type === 'mlp' ? spec.hidden : []), 1];
  const out: number[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [inputs, outputs] = [sizes[l]!, sizes[l + 1]!];
    for (let k = 0; k < inputs * outputs; k++) out.push(random.symmetric(1.5 * Math.sqrt(3 / inputs)));
    for (let k = 0; k < outputs; k++) out.push(random.symmetric(0.5));
  }
  return Float64Array.from(out);
}

/** The encoded width from the documented encoding: 1 per numeric column, categories + 1 per categorical. */
export function width(columns: readonly PreparedColumn[]): number {
  return columns.reduce((n, c) => n + (c.kind === 'numeric' ? 1 : c.categories.length + 1), 0);
}

/**
 * P(label = 1) per row, in float64, from the documented encoding and layout. Cells as the tests write them: numbers
 * (NaN or null missing), numeric strings (blank missing), category strings compared trimmed (null → "other").
 */
export function referenceScores(model: TrainedModel, raw: RawColumns, rows: number): Float64Array {
  const { columns } = model.preprocessing;
  const sizes = [width(columns), ...(model.spec.type === 'mlp' ? model.spec.hidden : []), 1];
  const scores = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let h: number[] = [];
    for (const column of columns) {
      const cell = raw.get(column.name)![r]!;
      if (column.kind === 'numeric') {
        const x = typeof cell === 'string' && cell.trim() !== '' ? Number(cell) : cell;
        const std = column.std === 0 ? 1 : column.std;
        h.push(typeof x === 'number' && Number.isFinite(x) ? (x - column.mean) / std : 0);
      } else {
        const k = cell === null ? -1 : column.categories.indexOf(String(cell).trim());
        const slots = new Array<number>(column.categories.length + 1).fill(0);
        slots[k === -1 ? column.categories.length : k] = 1;
        h.push(...slots);
      }
    }
    let at = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const [inputs, outputs] = [sizes[l]!, sizes[l + 1]!];
      const next: number[] = [];
      for (let j = 0; j < outputs; j++) {
        let z = model.parameters[at + inputs * outputs + j]!;
        for (let i = 0; i < inputs; i++) z += h[i]! * model.parameters[at + i * outputs + j]!;
        next.push(l + 2 === sizes.length ? 1 / (1 + Math.exp(-z)) : Math.max(0, z));
      }
      at += inputs * outputs + outputs;
      h = next;
    }
    scores[r] = h[0]!;
  }
  return scores;
}

/** Scores `rows` rows of `raw` with the exported `bytes` in ONNX Runtime, fed as models/onnx/feeds.ts builds them. */
export async function ortScores(
  bytes: Uint8Array,
  model: TrainedModel,
  raw: RawColumns,
  rows: number,
): Promise<Float64Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const feed of onnxFeeds(model.preprocessing, raw, rows)) {
      feeds[feed.name] =
        feed.type === 'double'
          ? new ort.Tensor('float64', feed.data, [rows, 1])
          : new ort.Tensor('string', feed.data, [rows, 1]);
    }
    const result = await session.run(feeds);
    const score = result['score']!;
    if (score.type !== 'float64') throw new Error(`score is ${score.type}, expected float64`);
    if (score.dims.join() !== `${rows},1`) throw new Error(`score has shape [${score.dims}]`);
    return score.data as Float64Array;
  } finally {
    await session.release();
  }
}

/** The largest |a[i] − b[i]|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(worst) ? Number.POSITIVE_INFINITY : worst;
}
