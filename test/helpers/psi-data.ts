/**
 * Test data for PSI: customers of three banks keyed by Chinese mobile numbers derived from the real credit-default
 * records' ids, written in a different format by each bank, with pairwise and three-way overlaps that all differ (so
 * that a test can tell the answer a party may learn from the ones it must not).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { LocalConsortium } from '../../examples/local-consortium.js';
import { until } from './wait.js';

const CREDIT = fileURLToPath(new URL('../../examples/data/default_credit_hetero_guest.csv', import.meta.url));

/** The record ids of the credit-default data, in file order. */
export function idsOfCreditData(): string[] {
  return readFileSync(CREDIT, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',')[0]!);
}

/**
 * Three banks over the first 3 300 ids U: A = U[0, 1500), B = U[1000, 2500), C = U[0, 300) + U[1000, 1100) +
 * U[2000, 2200) + U[3000, 3300). |A∩B| = 500, |A∩C| = 400, |B∩C| = 300, |A∩B∩C| = 100.
 */
export function psiRegions(ids: readonly string[]): { idsA: string[]; idsB: string[]; idsC: string[] } {
  const u = (from: number, to: number) => ids.slice(from, to);
  return {
    idsA: u(0, 1500),
    idsB: u(1000, 2500),
    idsC: [...u(0, 300), ...u(1000, 1100), ...u(2000, 2200), ...u(3000, 3300)],
  };
}

/** The mobile number a record id stands for (+86 139 and the id padded to 8 digits), as a bank might have imported it. */
export function formattedPhone(id: string, style: 'spaced' | 'plain' | 'dashed'): string {
  const d = id.padStart(8, '0');
  if (style === 'spaced') return `+86 139 ${d.slice(0, 4)} ${d.slice(4)}`;
  if (style === 'dashed') return `+86-139-${d.slice(0, 4)}-${d.slice(4)}`;
  return `0086139${d}`;
}

/** A customer CSV keyed by phone (column `phone`) with the record id as `ref`. */
export function phoneCsv(ids: readonly string[], style: 'spaced' | 'plain' | 'dashed'): string {
  return `phone,ref\n${ids.map((id) => `${formattedPhone(id, style)},${id}`).join('\n')}\n`;
}

export function shared(a: readonly string[], b: readonly string[]): string[] {
  const set = new Set(b);
  return a.filter((x) => set.has(x));
}

/** Polls a PSI job on `member` until it leaves the pending, waiting and running states. */
// biome-ignore lint/suspicious/noExplicitAny: the job JSON is checked by the caller
export async function waitJob(c: LocalConsortium, member: string, id: string): Promise<any> {
  expect(id).toBeTruthy();
  return until(
    `PSI job ${id} at ${member} to end`,
    async () => {
      const { body } = await c.api(member, 'admin', 'GET', `/v1/psi/${id}`);
      return ['waiting', 'running', 'pending_approval'].includes(body.state) ? undefined : body;
    },
    120_000,
    100,
  );
}
