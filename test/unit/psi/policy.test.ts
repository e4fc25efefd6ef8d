/**
 * A bank's PSI policy as pure rules (node/psi/policy.ts) and the coordinator's session checks (coordinator/psi/
 * session.ts): partners, datasets and modes; the size ratio; the weekly rows a partner may bring; acceptances bound
 * to the exact terms; announced sizes bounded before anything is allocated.
 */
import { describe, expect, it } from 'vitest';
import { PsiSession } from '../../../coordinator/psi/session.js';
import { allowedByPolicy, withinBudget } from '../../../node/psi/policy.js';
import type { PartnerPolicy } from '../../../platform/config/psi-schema.js';
import { AccordError } from '../../../primitives/errors/index.js';
import { thrown } from '../../helpers/thrown.js';

const policy = (p: Partial<PartnerPolicy>): PartnerPolicy => ({
  datasets: ['customers'],
  modes: ['intersection', 'cardinality'],
  maxSizeRatio: 10,
  weeklyRowsRatio: 20,
  ...p,
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof AccordError ? err.code : 'other';
  }
  return 'none';
}

describe('a bank’s PSI policy', () => {
  const partners = {
    'bank-b': policy({}),
    'bank-c': policy({ datasets: ['*'], modes: ['cardinality'], maxSizeRatio: 2, weeklyRowsRatio: 3 }),
  };

  it('allows only listed partners, their datasets and modes, every other participant alike', () => {
    expect(allowedByPolicy(partners, ['bank-b'], 'customers', 'intersection')).toEqual({ maxSizeRatio: 10 });
    expect(allowedByPolicy(partners, ['bank-b', 'bank-c'], 'customers', 'cardinality')).toEqual({
      maxSizeRatio: 2,
    });
    expect(codeOf(() => allowedByPolicy(partners, ['bank-b'], 'other', 'intersection'))).toBe(
      'ACCORD_PSI_POLICY_REFUSED',
    );
    expect(codeOf(() => allowedByPolicy(partners, ['bank-b', 'bank-c'], 'customers', 'intersection'))).toBe(
      'ACCORD_PSI_POLICY_REFUSED',
    );
    expect(codeOf(() => allowedByPolicy(partners, ['bank-d'], 'customers', 'cardinality'))).toBe(
      'ACCORD_PSI_POLICY_REFUSED',
    );
  });

  it('bounds each partner’s set against ours, and the rows it brings in a week', () => {
    expect(codeOf(() => withinBudget(partners, 1_000, { 'bank-b': 10_000 }, {}))).toBe('none');
    expect(codeOf(() => withinBudget(partners, 1_000, { 'bank-b': 10_001 }, {}))).toBe(
      'ACCORD_PSI_SIZE_RATIO_EXCEEDED',
    );
    // Our set far larger than theirs is refused too (theirs would learn much of ours).
    expect(codeOf(() => withinBudget(partners, 1_000, { 'bank-c': 400 }, {}))).toBe(
      'ACCORD_PSI_SIZE_RATIO_EXCEEDED',
    );
    // bank-c may bring 3 x 1 000 rows a week: a second session of 2 000 after one of 1 500 is too many.
    expect(codeOf(() => withinBudget(partners, 1_000, { 'bank-c': 1_500 }, {}))).toBe('none');
    expect(codeOf(() => withinBudget(partners, 1_000, { 'bank-c': 1_500 }, { 'bank-c': 1_500 }))).toBe(
      'none',
    );
    expect(codeOf(() => withinBudget(partners, 1_000, { 'bank-c': 1_500 }, { 'bank-c': 1_501 }))).toBe(
      'ACCORD_PSI_PARTNER_BUDGET_EXCEEDED',
    );
  });
});

describe('a PSI session at the coordinator', () => {
  const terms = {
    id: '00000000-0000-4000-8000-000000000001',
    initiator: 'bank-a',
    peers: ['bank-b'],
    idKind: 'phone',
    mode: 'intersection',
    reveal: 'all',
    initiatorSetSize: 1_000,
    initiatorMaxRatio: undefined,
  } as const;
  const agreed = {
    participants: ['bank-a', 'bank-b'],
    idKind: 'phone',
    mode: 'intersection',
    reveal: 'all',
  } as const;
  const accept = (setSize: number, extra: object = {}) =>
    ({ kind: 'accept', sessionId: terms.id, terms: { ...agreed, ...extra }, setSize }) as const;

  it('refuses an acceptance of other terms, participant list included', () => {
    const s = () => new PsiSession(terms, { maxSetSize: 1_000_000, maxSizeRatio: 10 });
    expect(codeOf(() => s().respond('bank-b', accept(1_000, { participants: ['bank-b', 'bank-a'] })))).toBe(
      'ACCORD_PSI_TERMS_MISMATCH',
    );
    expect(codeOf(() => s().respond('bank-b', accept(1_000, { idKind: 'email' })))).toBe(
      'ACCORD_PSI_TERMS_MISMATCH',
    );
    expect(codeOf(() => s().respond('bank-a', accept(1_000)))).toBe('ACCORD_PSI_PROTOCOL_VIOLATION');
    expect(s().respond('bank-b', accept(1_000))).toBe(true);
  });

  it('applies the strictest size cap, names the ratio, and bounds announced sizes before allocating', () => {
    const s = new PsiSession({ ...terms, initiatorMaxRatio: 3 }, { maxSetSize: 1_000_000, maxSizeRatio: 10 });
    const error = thrown(() => s.respond('bank-b', accept(3_500)));
    expect(error.code).toBe('ACCORD_PSI_SIZE_RATIO_EXCEEDED');
    expect(error.params).toEqual({ ratio: '3.5', cap: 3 });
    const big = new PsiSession(terms, { maxSetSize: 5_000, maxSizeRatio: 10 });
    expect(codeOf(() => big.respond('bank-b', accept(5_001)))).toBe('ACCORD_PSI_SET_TOO_LARGE');
    expect(
      codeOf(
        () => new PsiSession({ ...terms, initiatorSetSize: 5_001 }, { maxSetSize: 5_000, maxSizeRatio: 10 }),
      ),
    ).toBe('ACCORD_PSI_SET_TOO_LARGE');
  });
});
