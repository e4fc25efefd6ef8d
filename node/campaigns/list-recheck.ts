/**
 * A run's list outlives the run: between the run and the moment marketing reads its list (export) or asks why about
 * one customer, a customer may withdraw consent, let it expire, or ask not to be contacted. Each page of decisions
 * read is therefore checked again, at the time of reading, against the consent for the campaign's purpose and the
 * do-not-contact list: one query for each per page (never one per customer), for the eligible decisions only. A
 * decision that no longer holds is shown as not eligible with a *_SINCE_RUN reason (primitives/campaigns/rules.ts
 * `recheck`); the stored decision and the run's funnel stay as the run made them.
 */
import type { ConsentStore, DoNotContactStore, StoredDecision } from '../../platform/store/campaign-types.js';
import { type ConsentState, recheck } from '../../primitives/campaigns/rules.js';
import type { CampaignSpec } from '../../primitives/campaigns/spec.js';

export interface RecheckDeps {
  readonly consent: ConsentStore;
  readonly doNotContact: DoNotContactStore;
  /** The clock (ms): consent expiry is judged at it. */
  readonly now: () => number;
}

/** The page's decisions as they stand now (see the module comment); the same array if none changed. */
export async function recheckPage(
  deps: RecheckDeps,
  spec: CampaignSpec,
  page: readonly StoredDecision[],
): Promise<readonly StoredDecision[]> {
  const at: number[] = [];
  for (let i = 0; i < page.length; i++) if (page[i]!.reason === 0) at.push(i);
  if (at.length === 0) return page;
  const ids = at.map((i) => page[i]!.customerId);
  const consent = await deps.consent.statesOf(spec.consentPurpose, ids, deps.now());
  const listed = await deps.doNotContact.listedOf(ids);
  let out: StoredDecision[] | null = null;
  for (let j = 0; j < at.length; j++) {
    const d = page[at[j]!]!;
    const now = recheck(d, consent[j]! as ConsentState, listed[j] === 1);
    if (now === d) continue;
    out ??= [...page];
    out[at[j]!] = { ...d, passed: now.passed, reason: now.reason, price: null, channel: -1 };
  }
  return out ?? page;
}
