/**
 * One partner's values of every aligned position, kept by position while a batch job gathers them (batch-run.ts) and
 * then picked page by page in this node's own row order. What a position holds is what the label holder's part takes
 * of that partner (models/score.ts `partnerInputs`):
 *  - a partial logit: one float64 (8 bytes a position);
 *  - a boosted-tree partner's K split bits: kept one bit each (K / 8 bytes a position), since every one was checked
 *    to be 0 or 1 on arrival (partials.ts `checkPartials`). A million customers of a partner holding 200 split ids
 *    take 25 MB, where float64 values would take 1.6 GB.
 */
import type { PartnerInput } from '../../models/score.js';

export interface PositionValues {
  /** Values per position. */
  readonly width: number;
  /** Keeps `values` (width per position, row-major) of positions `from`, `from + 1`, …. */
  set(from: number, values: Float64Array): void;
  /** The values of `positions`, width per position, row-major in their order. */
  pick(positions: ArrayLike<number>): Float64Array;
}

/** Storage for `rows` positions of `input`'s values, every value 0 until set. */
export function positionValues(input: PartnerInput, rows: number): PositionValues {
  return input.kind === 'split_bits' ? new PackedBits(rows, input.width) : new Floats(rows, input.width);
}

class Floats implements PositionValues {
  readonly #values: Float64Array;

  constructor(
    rows: number,
    readonly width: number,
  ) {
    this.#values = new Float64Array(rows * width);
  }

  set(from: number, values: Float64Array): void {
    this.#values.set(values, from * this.width);
  }

  pick(positions: ArrayLike<number>): Float64Array {
    const w = this.width;
    const out = new Float64Array(positions.length * w);
    for (let i = 0; i < positions.length; i++) {
      const at = positions[i]! * w;
      out.set(this.#values.subarray(at, at + w), i * w);
    }
    return out;
  }
}

/** 0/1 values, eight to a byte (value j of the whole array is bit j % 8 of byte ⌊j / 8⌋). */
class PackedBits implements PositionValues {
  readonly #bytes: Uint8Array;

  constructor(
    rows: number,
    readonly width: number,
  ) {
    this.#bytes = new Uint8Array(Math.ceil((rows * width) / 8));
  }

  set(from: number, values: Float64Array): void {
    const start = from * this.width;
    for (let i = 0; i < values.length; i++) {
      const j = start + i;
      const byte = Math.floor(j / 8);
      const mask = 1 << (j % 8);
      if (values[i] === 1) this.#bytes[byte]! |= mask;
      else this.#bytes[byte]! &= ~mask;
    }
  }

  pick(positions: ArrayLike<number>): Float64Array {
    const w = this.width;
    const out = new Float64Array(positions.length * w);
    for (let i = 0; i < positions.length; i++) {
      const start = positions[i]! * w;
      for (let k = 0; k < w; k++) {
        const j = start + k;
        out[i * w + k] = (this.#bytes[Math.floor(j / 8)]! >> (j % 8)) & 1;
      }
    }
    return out;
  }
}
