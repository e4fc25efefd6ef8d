/**
 * The exported graph's input names: one input per raw column, in preprocessing order, named after the column.
 *
 * ONNX asks that value names follow C90 identifier syntax (onnx docs/IR.md, "Names Within a Graph": [A-Za-z_]
 * then [A-Za-z0-9_]*), and a name must not be used twice in a graph. So a column name is mapped as follows:
 *   1. every character (code point) outside [A-Za-z0-9_] becomes `_`
 *      (`marital status` → `marital_status`, `é` → `_`);
 *   2. a name that is empty or starts with a digit gets a leading `_` (`2024` → `_2024`);
 *   3. a name already taken (by an earlier column, or `score`, the output) gets the first free suffix `_2`, `_3`…
 * A column whose name is already a C90 identifier, unique, and not `score` keeps its name unchanged. The graph also
 * records each input's original column name as its doc_string, so the mapping travels with the model.
 */
import type { Preprocessing } from '../types.js';

/** The graph's one output: P(label = 1), shape [N, 1], DOUBLE. */
export const ONNX_OUTPUT_NAME = 'score';

/** One graph input: the raw column it carries and the tensor a scorer feeds. */
export interface OnnxInput {
  /** The column name as the preprocessing declares it. */
  readonly column: string;
  /** The graph input's name (see the file comment). */
  readonly name: string;
  /** DOUBLE [N, 1] with NaN for missing, or STRING [N, 1] with '' for missing. */
  readonly type: 'double' | 'string';
}

/** The inputs of the graph exported for `preprocessing`, in its column order. */
export function onnxInputs(preprocessing: Preprocessing): OnnxInput[] {
  const taken = new Set([ONNX_OUTPUT_NAME]);
  return preprocessing.columns.map((column) => {
    const base = toIdentifier(column.name);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    taken.add(name);
    return { column: column.name, name, type: column.kind === 'numeric' ? 'double' : 'string' };
  });
}

function toIdentifier(columnName: string): string {
  const replaced = columnName.replace(/[^A-Za-z0-9_]/gu, '_');
  return /^[A-Za-z_]/.test(replaced) ? replaced : `_${replaced}`;
}
