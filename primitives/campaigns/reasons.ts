/**
 * The reason catalogue: what a stored decision (rules bitmask and reason code, rules.ts) means, in words a marketer
 * can repeat to a customer or a regulator. Rendered at read time from the decision and the exact campaign version
 * the run used, so the stored rows stay compact and the wording can improve without rewriting them.
 */
import { REASON, REASON_RULE, RULES, type RuleName } from './rules.js';
import type { CampaignSpec } from './spec.js';

export interface ReasonContext {
  readonly spec: CampaignSpec;
  /** The customer's scores, null when the model did not score them. */
  readonly propensity: number | null;
  readonly risk: number | null;
  /** Index of the customer cap reached, for REASON.CAP_CUSTOMER. */
  readonly cap: number | null;
}

function ageSource(spec: CampaignSpec): string {
  const from = spec.exclusions.minors.from ?? 'resident-id';
  if (from === 'resident-id') return 'the resident identity number';
  return 'ageColumn' in from ? `column ${from.ageColumn}` : `column ${from.birthDateColumn}`;
}

const TEXT: Readonly<Record<number, (c: ReasonContext) => string>> = {
  [REASON.CONSENT_NONE]: (c) => `no consent is recorded for purpose ${c.spec.consentPurpose}`,
  [REASON.CONSENT_WITHDRAWN]: (c) => `consent for purpose ${c.spec.consentPurpose} was withdrawn`,
  [REASON.CONSENT_EXPIRED]: (c) => `consent for purpose ${c.spec.consentPurpose} had expired at the run`,
  [REASON.MINOR]: (c) => `younger than ${c.spec.exclusions.minors.minimumAge} at the run`,
  [REASON.AGE_UNKNOWN]: (c) => `age could not be established from ${ageSource(c.spec)}`,
  [REASON.DO_NOT_CONTACT]: () => 'on the do-not-contact list',
  [REASON.FRAUD_FLAG]: (c) =>
    `reported by other members' fraud signals (screening job ${c.spec.exclusions.fraudScreening ?? ''})`,
  [REASON.OVERDUE]: (c) =>
    `overdue: ${c.spec.exclusions.overdue?.column ?? ''} is one of ${JSON.stringify(c.spec.exclusions.overdue?.values ?? [])}`,
  [REASON.NO_PROPENSITY_SCORE]: (c) =>
    `no propensity score: model ${c.spec.propensity.model} did not score this customer (a joint model scores only customers shared with its partners)`,
  [REASON.NO_RISK_SCORE]: (c) =>
    `no risk score: model ${c.spec.risk.model} did not score this customer (a joint model scores only customers shared with its partners)`,
  [REASON.PROPENSITY_LOW]: (c) =>
    `propensity score ${c.propensity} is below the campaign's minimum ${c.spec.propensity.minScore}`,
  [REASON.RISK_HIGH]: (c) =>
    `probability of default ${c.risk} is above the campaign's maximum ${c.spec.risk.maxProbabilityOfDefault}`,
  [REASON.CAP_CUSTOMER]: (c) => {
    const cap = c.spec.caps[c.cap ?? -1];
    return cap
      ? `already contacted ${cap.max} times or more in the last ${cap.days} days (caps[${c.cap}])`
      : 'a contact cap for the customer is reached';
  },
  [REASON.CAP_CHANNELS]: (c) =>
    `every channel of the campaign (${c.spec.channels.join(', ')}) reached its contact cap`,
  [REASON.CONSENT_WITHDRAWN_SINCE_RUN]: (c) =>
    `consent for purpose ${c.spec.consentPurpose} was withdrawn since the run (or is no longer on record): eligible at the run, not now`,
  [REASON.CONSENT_EXPIRED_SINCE_RUN]: (c) =>
    `consent for purpose ${c.spec.consentPurpose} has expired since the run: eligible at the run, not now`,
  [REASON.DO_NOT_CONTACT_SINCE_RUN]: () =>
    'put on the do-not-contact list since the run: eligible at the run, not now',
};

/** The human-readable reason for a stored reason code (0: eligible). */
export function reasonText(reason: number, context: ReasonContext): string {
  if (reason === REASON.ELIGIBLE) return 'eligible';
  return TEXT[reason]?.(context) ?? `unknown reason ${reason}`;
}

/** The rule a reason code belongs to, or null for 0 (eligible). */
export function reasonRule(reason: number): RuleName | null {
  const rule = REASON_RULE[reason];
  return rule === undefined ? null : RULES[rule]!;
}

/** A short code for each reason, for lists and exports (stable, lowercase). */
export const REASON_KEY: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(REASON).map(([key, value]) => [value, key.toLowerCase().replace(/_/g, '-')]),
);

/** What failing a rule means, without the detail only the first failure's stored reason code carries. */
const RULE_TEXT: Readonly<Record<RuleName, (spec: CampaignSpec) => string>> = {
  consent: (s) => `consent for purpose ${s.consentPurpose} is not in force`,
  adult: (s) => `not shown to be at least ${s.exclusions.minors.minimumAge}`,
  'do-not-contact': () => 'on the do-not-contact list',
  fraud: () => "reported by other members' fraud signals",
  overdue: () => 'overdue',
  scores: () => 'a score is missing',
  propensity: (s) => `no propensity score of at least ${s.propensity.minScore}`,
  risk: (s) => `no probability of default of at most ${s.risk.maxProbabilityOfDefault}`,
  'contact-cap': () => 'a contact cap is reached',
};

/**
 * Every reason a customer is not eligible, first failure first (with its detail), then each later rule it also
 * failed (in general terms). Empty for an eligible customer.
 */
export function reasonTexts(passed: number, reason: number, context: ReasonContext): string[] {
  if (reason === REASON.ELIGIBLE) return [];
  const first = REASON_RULE[reason];
  const texts = [reasonText(reason, context)];
  for (let i = (first ?? -1) + 1; i < RULES.length; i++)
    if ((passed & (1 << i)) === 0) texts.push(RULE_TEXT[RULES[i]!](context.spec));
  return texts;
}
