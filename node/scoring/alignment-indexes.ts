/**
 * Alignment lookups, kept per alignment (a finished PSI job never changes): its row keys ascending with each one's
 * aligned position (8 bytes a row, platform/store ScoreStore.alignmentIndex). A batch job walks its population in
 * row-key order from it; real-time scoring finds a customer's position in it by binary search instead of a query.
 */
import type { AlignmentIndex, ScoreStore } from '../../platform/store/scoring-types.js';

/** Alignments kept at once (each 8 bytes a row). */
const KEPT = 4;

export class AlignmentIndexes {
  readonly #kept = new Map<string, Promise<AlignmentIndex>>();

  constructor(private readonly scores: ScoreStore) {}

  get(alignment: string): Promise<AlignmentIndex> {
    let index = this.#kept.get(alignment);
    if (index) {
      // Most recently used last.
      this.#kept.delete(alignment);
    } else {
      index = this.scores.alignmentIndex(alignment);
      index.catch(() => this.#kept.delete(alignment));
    }
    this.#kept.set(alignment, index);
    while (this.#kept.size > KEPT) this.#kept.delete(this.#kept.keys().next().value as string);
    return index;
  }
}

/** The aligned position of `rowKey`, or null if the alignment does not hold that row. */
export function positionOf(index: AlignmentIndex, rowKey: number): number | null {
  let lo = 0;
  let hi = index.rowKeys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const key = index.rowKeys[mid]!;
    if (key === rowKey) return index.positions[mid]!;
    if (key < rowKey) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}
