/**
 * This bank's PSI policy as a pure rule (config: `psi.partners`). A session over local dataset D in mode M is allowed
 * only if EVERY other participant is a listed partner that may intersect against D in mode M: with `reveal: all` each
 * of them learns which of its rows are in D, and even without it each learns D's size. The strictest size ratio of
 * those partners bounds the session (checked at the coordinator and again here before a point is sent).
 */
import { ANY_DATASET, type PartnerPolicy } from '../../platform/config/psi-schema.js';
import { AccordError } from '../../primitives/errors/index.js';
import { type PsiMode, sizeRatio } from '../../primitives/psi/session-protocol.js';

/**
 * Throws ACCORD_PSI_POLICY_REFUSED naming the first partner and what it may not do; else returns the largest size
 * ratio every partner of the session allows.
 */
export function allowedByPolicy(
  partners: Readonly<Record<string, PartnerPolicy>>,
  others: readonly string[],
  dataset: string,
  mode: PsiMode,
): { maxSizeRatio: number } {
  let maxSizeRatio = Number.POSITIVE_INFINITY;
  for (const partner of others) {
    const policy = partners[partner];
    if (!policy) throw new AccordError('ACCORD_PSI_POLICY_REFUSED', { what: 'any intersection', partner });
    if (!policy.datasets.includes(ANY_DATASET) && !policy.datasets.includes(dataset))
      throw new AccordError('ACCORD_PSI_POLICY_REFUSED', { what: `dataset ${dataset}`, partner });
    if (!policy.modes.includes(mode))
      throw new AccordError('ACCORD_PSI_POLICY_REFUSED', { what: `${mode} mode`, partner });
    maxSizeRatio = Math.min(maxSizeRatio, policy.maxSizeRatio);
  }
  return { maxSizeRatio };
}

/** Days over which a partner's rows against one dataset are summed. */
export const BUDGET_DAYS = 7;

/**
 * Checks the set sizes a session would bring against this bank's `ownSize` rows, partner by partner: the size ratio
 * (the strictest cap of the policies involved) and each partner's weekly rows (`rowsBefore[p]`: rows p brought
 * against the same dataset in sessions that ran in the last BUDGET_DAYS days). Throws ACCORD_PSI_SIZE_RATIO_EXCEEDED
 * or ACCORD_PSI_PARTNER_BUDGET_EXCEEDED.
 */
export function withinBudget(
  partners: Readonly<Record<string, PartnerPolicy>>,
  ownSize: number,
  sizes: Readonly<Record<string, number>>,
  rowsBefore: Readonly<Record<string, number>>,
): void {
  for (const [partner, size] of Object.entries(sizes)) {
    const policy = partners[partner];
    if (!policy) throw new AccordError('ACCORD_PSI_POLICY_REFUSED', { what: 'any intersection', partner });
    const ratio = sizeRatio([size, ownSize]);
    if (ratio > policy.maxSizeRatio)
      throw new AccordError('ACCORD_PSI_SIZE_RATIO_EXCEEDED', {
        ratio: ratio.toFixed(1),
        cap: policy.maxSizeRatio,
      });
    if ((rowsBefore[partner] ?? 0) + size > policy.weeklyRowsRatio * ownSize)
      throw new AccordError('ACCORD_PSI_PARTNER_BUDGET_EXCEEDED', {
        partner,
        days: BUDGET_DAYS,
        ratio: policy.weeklyRowsRatio,
      });
  }
}
