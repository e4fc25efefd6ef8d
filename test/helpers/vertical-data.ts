/**
 * Vertical training data for tests: the first CUSTOMERS customers of FATE's vertical split of the credit-default data
 * (examples/data), the host's columns split across two banks, so three banks that share most customers but not all,
 * each keyed by a Chinese mobile number written its own way and listed in its own order:
 *  - bank-a (label holder): y and the guest columns x0..x12, every customer but those whose index ends in 3;
 *  - bank-b: host columns x0..x4 (named h0..h4), every customer but index ending in 5, in reverse order;
 *  - bank-c: host columns x5..x9 (h5..h9), every customer but index ending in 7, and 15 customers of its own.
 * The three-way intersection (index not ending in 3, 5 or 7) differs from every pairwise one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { LocalConsortium } from '../../examples/local-consortium.js';
import { alignMembers } from '../../examples/vertical.js';
import { formattedPhone } from './psi-data.js';

const DATA = join(import.meta.dirname, '..', '..', 'examples', 'data');
/** Customers taken from the top of the files: enough for two batches an epoch, few enough for a test. */
export const CUSTOMERS = 700;

interface Table {
  readonly header: string[];
  readonly rows: string[][];
}

function read(file: string): Table {
  const [head, ...lines] = readFileSync(join(DATA, file), 'utf8')
    .trim()
    .split('\n', CUSTOMERS + 1);
  return { header: head!.split(','), rows: lines.map((l) => l.split(',')) };
}

export const VERTICAL_MEMBERS = ['bank-a', 'bank-b', 'bank-c'] as const;
export type VerticalMember = (typeof VERTICAL_MEMBERS)[number];

/** Each bank's customers as records: phone (as that bank wrote it), record id, and its columns. */
export interface VerticalBank {
  readonly columns: readonly string[];
  /** One entry per row, in file order: the phone as written, the record id, the cells of `columns`. */
  readonly rows: readonly { phone: string; id: string; cells: string[] }[];
}

export function verticalBanks(): Record<VerticalMember, VerticalBank> {
  const guest = read('default_credit_hetero_guest.csv');
  const host = read('default_credit_hetero_host.csv');
  const pick = (t: Table, names: string[]) => names.map((n) => t.header.indexOf(n));
  const guestCols = ['y', ...Array.from({ length: 13 }, (_, i) => `x${i}`)];
  const hostB = Array.from({ length: 5 }, (_, i) => `x${i}`);
  const hostC = Array.from({ length: 5 }, (_, i) => `x${i + 5}`);
  const rowsOf = (t: Table, names: string[], skip: number, style: 'spaced' | 'plain' | 'dashed') => {
    const at = pick(t, names);
    return t.rows
      .filter((_, i) => i % 10 !== skip)
      .map((r) => ({ phone: formattedPhone(r[0]!, style), id: r[0]!, cells: at.map((j) => r[j]!) }));
  };
  const c = rowsOf(host, hostC, 7, 'dashed');
  const own = host.rows.slice(0, 15).map((r, k) => {
    const id = String(90_000 + k);
    return { phone: formattedPhone(id, 'dashed'), id, cells: pick(host, hostC).map((j) => r[j]!) };
  });
  return {
    'bank-a': { columns: guestCols, rows: rowsOf(guest, guestCols, 3, 'spaced') },
    'bank-b': {
      columns: hostB.map((n) => n.replace('x', 'h')),
      rows: rowsOf(host, hostB, 5, 'plain').reverse(),
    },
    'bank-c': { columns: hostC.map((n) => n.replace('x', 'h')), rows: [...c, ...own] },
  };
}

export function bankCsv(
  bank: VerticalBank,
  edit?: (column: string, cell: string, row: number) => string,
): string {
  const lines = bank.rows.map((r, i) =>
    [r.phone, ...r.cells.map((cell, j) => (edit ? edit(bank.columns[j]!, cell, i) : cell))].join(','),
  );
  return `phone,${bank.columns.join(',')}\n${lines.join('\n')}\n`;
}

/** The record ids every bank holds, i.e. the three-way intersection. */
export function sharedIds(banks: Record<VerticalMember, VerticalBank>): Set<string> {
  const sets = VERTICAL_MEMBERS.map((m) => new Set(banks[m].rows.map((r) => r.id)));
  return new Set([...sets[0]!].filter((id) => sets.every((s) => s.has(id))));
}

export async function importBank(
  c: LocalConsortium,
  member: string,
  name: string,
  csv: string,
  labelled: boolean,
): Promise<void> {
  const columns = labelled ? '&columns=y:integer' : '';
  const res = await c.api(
    member,
    'admin',
    'POST',
    `/v1/datasets/${name}?idColumn=phone&idKind=phone&defaultType=number${columns}&replace=true`,
    csv,
    'text/csv',
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** Runs a PSI intersection from bank-a with `peers`, revealed to all; returns its id once done everywhere. */
export function alignBanks(
  c: LocalConsortium,
  peers: readonly string[],
  dataset = 'clients',
): Promise<string> {
  return alignMembers(c, 'bank-a', peers, dataset);
}

export { alignmentLines as alignmentOf } from '../../examples/vertical.js';

/** A small vertical job's request body (bank-a holds the label). */
export function verticalJob(
  alignment: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    kind: 'vertical',
    peers: ['bank-b', 'bank-c'],
    label: 'y',
    alignment,
    model: { type: 'logistic' },
    epochs: 2,
    batchSize: 160,
    learningRate: 0.5,
    validation: { fraction: 0.2, seed: 7 },
    purpose: 'risk',
    ...overrides,
  };
}
