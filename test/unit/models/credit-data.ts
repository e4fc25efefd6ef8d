/**
 * The credit-default example data (`examples/data/default_credit_homo_*.csv`: id, y, x0..x22) as raw columns, for
 * the tests that check training quality and histogram metrics on real data. Test-only file reading; models/ does none.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodeRows,
  labelsOf,
  localColumnStats,
  preprocessingFromSums,
} from '../../../models/preprocessing.js';
import type { FeatureColumn, Preprocessing, RawCell } from '../../../models/types.js';

const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples/data');

export interface CreditData {
  readonly raw: Map<string, RawCell[]>;
  readonly rows: number;
  /** The numeric feature columns x0..x22. */
  readonly features: FeatureColumn[];
}

/** Reads `default_credit_homo_<part>.csv` (part: guest, host_1, host_2); cells stay strings, as a store holds them. */
export function creditData(part: 'guest' | 'host_1' | 'host_2'): CreditData {
  const lines = readFileSync(`${DATA}/default_credit_homo_${part}.csv`, 'utf8').trim().split('\n');
  const header = lines[0]!.trim().split(',');
  const raw = new Map<string, RawCell[]>(header.map((name) => [name, []]));
  for (const line of lines.slice(1)) {
    const cells = line.trim().split(',');
    header.forEach((name, c) => {
      raw.get(name)!.push(cells[c]!);
    });
  }
  const features: FeatureColumn[] = header
    .filter((name) => /^x\d+$/.test(name))
    .map((name) => ({ name, kind: 'numeric' }));
  return { raw, rows: lines.length - 1, features };
}

/** A part encoded with a given preprocessing, with its 0/1 labels. */
export interface EncodedPart {
  readonly X: Float64Array;
  readonly y: Uint8Array;
  readonly rows: number;
  readonly width: number;
}

/** Encodes `data` with `preprocessing` and reads its labels from column y. */
export function encodePart(data: CreditData, preprocessing: Preprocessing): EncodedPart {
  const { X, width } = encodeRows(preprocessing, data.raw, data.rows);
  return { X, y: labelsOf(data.raw.get('y')!), rows: data.rows, width };
}

/** The preprocessing fitted on `data` alone (its own summed stats). */
export function fittedOn(data: CreditData): Preprocessing {
  return preprocessingFromSums(data.features, localColumnStats(data.features, data.raw));
}
