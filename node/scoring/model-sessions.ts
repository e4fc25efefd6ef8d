/**
 * ONNX Runtime sessions of registered models, created once per model and kept (a registered model never changes), so
 * that a real-time score costs one `run` and no graph load. Feeds are built from raw columns by models/onnx/feeds.ts,
 * exactly as the export expects (preprocessing happens inside the graph).
 */
import * as ort from 'onnxruntime-node';
import { onnxFeeds } from '../../models/onnx/feeds.js';
import { partialLogitRows, scoreRows } from '../../models/score.js';
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

/** The graph output a part gives: `score` (a horizontal model, a label holder) or `partial_logit`. */
export type PartOutput = 'score' | typeof PARTIAL_LOGIT_OUTPUT;

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
 * (`partial_logit__<member>`, from `partials`); returns `output`.
 */
export async function runPart(
  loaded: LoadedModel,
  raw: RawColumns,
  rows: number,
  output: PartOutput,
  partials: ReadonlyMap<string, Float64Array> = new Map(),
): Promise<Float64Array> {
  // A handful of rows (a real-time score, a partner's real-time partial) goes through the same math in TypeScript:
  // ONNX Runtime's fixed cost per run (tensors, string feeds of categorical columns) is about 0.4 ms, the arithmetic
  // of one row a few microseconds. test/unit/scoring/ts-vs-ort.test.ts holds both to the same numbers (< 1e-9).
  if (rows <= TYPESCRIPT_MAX_ROWS)
    return output === 'score'
      ? scoreRows(loaded.model, raw, rows, partials)
      : partialLogitRows(loaded.model, raw, rows);
  const feeds: Record<string, ort.Tensor> = {};
  for (const feed of onnxFeeds(loaded.model.preprocessing, raw, rows))
    feeds[feed.name] =
      feed.type === 'double'
        ? new ort.Tensor('float64', feed.data, [rows, 1])
        : new ort.Tensor('string', feed.data, [rows, 1]);
  for (const [member, values] of partials)
    feeds[partialInputName(member)] = new ort.Tensor('float64', values, [rows, 1]);
  const result = await loaded.session.run(feeds, [output]);
  const data = result[output]!.data as Float64Array;
  return data;
}
