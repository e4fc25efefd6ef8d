/**
 * The vertically split credit-default example data for the boosted-tree tests: `default_credit_hetero_guest.csv`
 * (id, y, x0..x12) as party bank-a and `default_credit_hetero_host.csv` (id, x0..x9) as party bank-b, joined by id in
 * the guest's row order, with a seeded 80/20 training/validation split. Test-only file reading; models/ does none.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitRows } from '../../../node/training/local-data.js';
import { labelsOf } from '../../../models/preprocessing.js';
import { binColumns, fitBinning } from '../../../models/trees/binning.js';
import type { PlainParty } from '../../../models/trees/train-plain.js';
import type { FeatureColumn, RawCell } from '../../../models/types.js';

const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples/data');

/** One party's raw columns (cells stay strings, as a store holds them) and its numeric features. */
export interface HeteroParty {
  readonly party: string;
  readonly raw: Map<string, RawCell[]>;
  readonly features: FeatureColumn[];
}

export interface HeteroCredit {
  readonly parties: [HeteroParty, HeteroParty];
  readonly labels: Uint8Array;
  readonly rows: number;
  readonly trainingRows: number[];
  readonly validationRows: number[];
}

/**
 * The two parties joined by id, keeping the first `limit` guest rows (all by default), with a 20 % validation split
 * drawn by node/training/local-data.ts `splitRows` from `seed` (1 by default).
 */
export function heteroCredit(options: { limit?: number; seed?: number } = {}): HeteroCredit {
  const { limit = Number.POSITIVE_INFINITY, seed = 1 } = options;
  const guest = readCsv('default_credit_hetero_guest.csv');
  const host = readCsv('default_credit_hetero_host.csv');
  const rows = Math.min(limit, guest.ids.length);
  const hostAt = new Map(host.ids.map((id, i) => [id, i]));
  const order = guest.ids.slice(0, rows).map((id) => {
    const at = hostAt.get(id);
    if (at === undefined) throw new Error('a guest id is missing from the host file');
    return at;
  });
  const party = (name: string, columns: Map<string, string[]>, pick: (cells: string[]) => RawCell[]) => {
    const raw = new Map<string, RawCell[]>();
    for (const [column, cells] of columns) if (/^x\d+$/.test(column)) raw.set(column, pick(cells));
    const features: FeatureColumn[] = [...raw.keys()].map((column) => ({ name: column, kind: 'numeric' }));
    return { party: name, raw, features };
  };
  const labels = labelsOf(guest.columns.get('y')!.slice(0, rows));
  const { trainingRows, validationRows } = splitRows(rows, { fraction: 0.2, seed });
  return {
    parties: [
      party('bank-a', guest.columns, (cells) => cells.slice(0, rows)),
      party('bank-b', host.columns, (cells) => order.map((i) => cells[i]!)),
    ],
    labels,
    rows,
    trainingRows,
    validationRows,
  };
}

/** Each party binned on the training rows (`bins` value bins per feature), as the trainer takes it. */
export function binnedParties(data: HeteroCredit, bins: number): PlainParty[] {
  return data.parties.map((p) => {
    const binning = fitBinning(p.features, p.raw, data.trainingRows, bins);
    return { party: p.party, binning, bins: binColumns(binning, p.raw, data.rows) };
  });
}

const read = new Map<string, { ids: string[]; columns: Map<string, string[]> }>();

/** A CSV file's columns by header name (read once per test process). */
function readCsv(file: string): { ids: string[]; columns: Map<string, string[]> } {
  const known = read.get(file);
  if (known !== undefined) return known;
  const lines = readFileSync(`${DATA}/${file}`, 'utf8').trim().split('\n');
  const header = lines[0]!.trim().split(',');
  const columns = new Map<string, string[]>(header.map((name) => [name, []]));
  for (const line of lines.slice(1)) {
    const cells = line.trim().split(',');
    header.forEach((name, c) => {
      columns.get(name)!.push(cells[c]!);
    });
  }
  const out = { ids: columns.get('id')!, columns };
  read.set(file, out);
  return out;
}
