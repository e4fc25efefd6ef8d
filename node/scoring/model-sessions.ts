/**
 * ONNX Runtime sessions of registered models, created once per model and kept (a registered model never changes), so
 * that a real-time score costs one `run` and no graph load. Feeds are built from raw columns by models/onnx/feeds.ts,
 * exactly as the export expects (preprocessing happens inside the graph); a boosted-tree part's by
 * models/onnx/tree-export.ts `treePartFeeds`, its partners' split bits fed as `split_bits__<member>` [rows, K].
 */
import * as ort from 'onnxruntime-node';
import { onnxFeeds } from '../../models/onnx/feeds.js';
import { type SPLIT_BITS_OUTPUT, splitBitsInputName, treePartFeeds } from '../../models/onnx/tree-export.js';
import { partialLogitRows, partnerInputs, scoreRows, splitBitRows, treePartOf } from '../../models/score.js';
import type { RawColumns } from '../../models/types.js';
import { type PARTIAL_LOGIT_OUTPUT, partialInputName } from '../../models/vertical/part.js';
import type { ModelRecord, ModelStore } from '../../platform/store/training-types.js';
import { AccordError } from '../../primitives/errors/index.js';

/** Runs of at most this many rows use models/score.ts instead of ONNX Runtime (see `runPart`). */
export const TYPESCRIPT_MAX_ROWS = 16;

export interface LoadedModel {
  readonly model: ModelRecord;
  readonly session: ort.InferenceSession;
}

/**
 * The graph output a part gives: `score` (a horizontal model, a label holder), `partial_logit` (a logistic feature
 * holder) or `split_bits` (a boosted-tree feature holder, rows × K).
 */
export type PartOutput = 'score' | typeof PARTIAL_LOGIT_OUTPUT | typeof SPLIT_BITS_OUTPUT;

/** What a feature holder's part sends its label holder: its output, and how many values per row. */
export function partnerOutput(model: ModelRecord): { output: PartOutput; width: number } {
  const part = treePartOf(model);
  if (part === null) return { output: 'partial_logit', width: 1 };
  return { output: 'split_bits', width: part.rules.length };
}

export class ModelSessions {
  readonly #loaded = new Map<string, Promise<LoadedModel>>();

  constructor(private readonly models: ModelStore) {}

  /** The model and its session; ACCORD_SCORING_MODEL_UNKNOWN if no such model is registered. */
  load(modelId: string): Promise<LoadedModel> {
    let loading = this.#loaded.get(modelId);
    if (!loading) {
      loading = (async () => {
        const [model, bytes] = await Promise.all([this.models.get(modelId), this.models.onnx(modelId)]);
        if (!model || !bytes) throw new AccordError('ACCORD_SCORING_MODEL_UNKNOWN', { model: modelId });
        // One thread per run: batches are a few thousand rows of element-wise ops and one small matrix product, and
        // real-time runs are one row, where a thread pool's hand-offs cost more than they save.
        const session = await ort.InferenceSession.create(bytes, {
          intraOpNumThreads: 1,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
        });
        return { model, session };
      })();
      this.#loaded.set(modelId, loading);
      loading.catch(() => this.#loaded.delete(modelId));
    }
    return loading;
  }

  /** The registered model only (cached with its session once loaded). */
  async model(modelId: string): Promise<ModelRecord> {
    return (await this.load(modelId)).model;
  }

  async close(): Promise<void> {
    const loaded = [...this.#loaded.values()];
    this.#loaded.clear();
    await Promise.all(loaded.map((l) => l.then((m) => m.session.release()).catch(() => undefined)));
  }
}

/**
 * Runs a part over `rows` rows of `raw`: one [rows, 1] tensor per raw column, and for a label holder one per partner
 * that `partnerInputs` lists (from `partials`, by member): `partial_logit__<member>` [rows, 1], or a boosted-tree
 * part's `split_bits__<member>` [rows, K]; returns `output` (rows values, or rows × K split bits row-major).
 * Throws RangeError if a partner's values are missing or not rows × width.
 */
export async function runPart(
  loaded: LoadedModel,
  raw: RawColumns,
  rows: number,
  output: PartOutput,
  partials: ReadonlyMap<string, Float64Array> = new Map(),
): Promise<Float64Array> {
  const { model } = loaded;
  // A handful of rows (a real-time score, a partner's real-time partial) goes through the same math in TypeScript:
  // ONNX Runtime's fixed cost per run (tensors, string feeds of categorical columns) is about 0.4 ms, the arithmetic
  // of one row a few microseconds. test/unit/scoring/ts-vs-ort.test.ts holds both to the same numbers (< 1e-9).
  if (rows <= TYPESCRIPT_MAX_ROWS)
    return output === 'score'
      ? scoreRows(model, raw, rows, partials)
      : output === 'split_bits'
        ? splitBitRows(model, raw, rows)
        : partialLogitRows(model, raw, rows);
  const tree = treePartOf(model);
  const feeds: Record<string, ort.Tensor> = {};
  const columns = tree ? treePartFeeds(tree, raw, rows) : onnxFeeds(model.preprocessing, raw, rows);
  for (const feed of columns)
    feeds[feed.name] =
      feed.type === 'double'
        ? new ort.Tensor('float64', feed.data, [rows, 1])
        : new ort.Tensor('string', feed.data, [rows, 1]);
  // Partners in the part's own list, not the map's: a tree partner of no split id has no input (and is not asked).
  for (const { member, kind, width } of partnerInputs(model)) {
    const values = partials.get(member);
    if (!values) throw new RangeError(`no partial values of partner ${member}`);
    if (values.length !== rows * width)
      throw new RangeError(`${member}: ${values.length} values, expected rows × ${width}`);
    const name = kind === 'split_bits' ? splitBitsInputName(member) : partialInputName(member);
    feeds[name] = new ort.Tensor('float64', values, [rows, width]);
  }
  const result = await loaded.session.run(feeds, [output]);
  const data = result[output]!.data as Float64Array;
  return data;
}
