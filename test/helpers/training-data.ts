/**
 * Training data for tests: FATE's horizontal split of the Wisconsin breast cancer data (test/fixtures, 30 features,
 * label y), one file per bank, and helpers to import it and to follow a training job.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { LocalConsortium } from '../../examples/local-consortium.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

/** Each test bank's rows: bank-a the guest split, bank-b the host split, bank-c the test split. */
export const BREAST_FILES = {
  'bank-a': 'breast_homo_guest.csv',
  'bank-b': 'breast_homo_host.csv',
  'bank-c': 'breast_homo_test.csv',
} as const;

export function breastCsv(member: keyof typeof BREAST_FILES): string {
  return readFileSync(join(FIXTURES, BREAST_FILES[member]), 'utf8');
}

/**
 * Imports `csv` as dataset `name` at `member`, replacing any of that name: every column a number unless `columns`
 * says otherwise (default: `y` an integer), keyed by `idColumn` (default `id`).
 */
export async function importTable(
  c: LocalConsortium,
  member: string,
  name: string,
  csv: string,
  { idColumn = 'id', columns = 'y:integer' }: { idColumn?: string; columns?: string } = {},
): Promise<void> {
  const res = await c.api(
    member,
    'admin',
    'POST',
    `/v1/datasets/${name}?idColumn=${idColumn}&defaultType=number&columns=${columns}&replace=true`,
    csv,
    'text/csv',
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** A small horizontal job's request body. */
export function smallJob(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'horizontal',
    peers: ['bank-b', 'bank-c'],
    dataset: 'breast',
    label: 'y',
    model: { type: 'logistic' },
    rounds: 2,
    localEpochs: 1,
    batchSize: 32,
    learningRate: 0.05,
    validation: { fraction: 0.2, seed: 7 },
    minParticipants: 2,
    purpose: 'risk',
    ...overrides,
  };
}

/** Polls a training job at `member` until it leaves waiting/running; returns its final view. */
export async function waitTraining(
  c: LocalConsortium,
  member: string,
  id: string,
  timeoutMs = 90_000,
  // biome-ignore lint/suspicious/noExplicitAny: the job view is checked by the caller
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await c.api(member, 'risk', 'GET', `/v1/training/${id}`);
    if (res.status === 200 && !['pending_approval', 'waiting', 'running'].includes(res.body.state))
      return res.body;
    if (Date.now() > deadline) throw new Error(`training job ${id} at ${member} still ${res.body?.state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
