/**
 * The eligibility rules, in their fixed order, and the decision for one customer. Every rule is evaluated for every
 * customer (so a decision says every rule it passed), and the first one failed is its reason; a customer who fails
 * none is eligible. The order is part of what a reviewer approves and what a funnel reports:
 *
 *   1. consent         consent for the campaign's purpose: granted, not withdrawn, not expired at the run
 *   2. adult           at least the minimum age at the run, as far as can be established
 *   3. do-not-contact  not on the bank's do-not-contact list (always applied)
 *   4. fraud           not among the hits of the campaign's fraud-signal screening job (when it names one)
 *   5. overdue         not overdue (when the campaign names the overdue column and values)
 *   6. scores          both models scored the customer (a vertical model scores only the customers shared with
 *                      its partners)
 *   7. propensity      propensity score >= minScore
 *   8. risk            probability of default <= maxProbabilityOfDefault
 *   9. contact-cap     within every cap for the customer, and some channel of the campaign within its caps
 *
 * A decision is stored compactly: a bitmask of the rules passed (bit i = rule i) and a reason code (0 = eligible)
 * naming the first failure and why; reasons.ts renders it for people at read time. A list outlives the run, so when
 * it is read (export, "why?") an eligible decision is checked again against consent and do-not-contact as they are
 * then (`recheck`).
 */

export const RULES = [
  'consent',
  'adult',
  'do-not-contact',
  'fraud',
  'overdue',
  'scores',
  'propensity',
  'risk',
  'contact-cap',
] as const;
export type RuleName = (typeof RULES)[number];

/** Every rule passed. */
export const ALL_RULES_PASSED = (1 << RULES.length) - 1;

/** Why a customer failed the first rule it failed; the value is stored, so never renumber. */
export const REASON = {
  ELIGIBLE: 0,
  CONSENT_NONE: 1,
  CONSENT_WITHDRAWN: 2,
  CONSENT_EXPIRED: 3,
  MINOR: 4,
  AGE_UNKNOWN: 5,
  DO_NOT_CONTACT: 6,
  FRAUD_FLAG: 7,
  OVERDUE: 8,
  NO_PROPENSITY_SCORE: 9,
  NO_RISK_SCORE: 10,
  PROPENSITY_LOW: 11,
  RISK_HIGH: 12,
  CAP_CUSTOMER: 13,
  CAP_CHANNELS: 14,
  // Never stored: given when a done run's list is read (`recheck`), for a customer eligible at the run.
  CONSENT_WITHDRAWN_SINCE_RUN: 15,
  CONSENT_EXPIRED_SINCE_RUN: 16,
  DO_NOT_CONTACT_SINCE_RUN: 17,
} as const;
export type ReasonCode = (typeof REASON)[keyof typeof REASON];

/** The rule (index into RULES) each reason belongs to. */
export const REASON_RULE: Readonly<Record<number, number>> = {
  [REASON.CONSENT_NONE]: 0,
  [REASON.CONSENT_WITHDRAWN]: 0,
  [REASON.CONSENT_EXPIRED]: 0,
  [REASON.MINOR]: 1,
  [REASON.AGE_UNKNOWN]: 1,
  [REASON.DO_NOT_CONTACT]: 2,
  [REASON.FRAUD_FLAG]: 3,
  [REASON.OVERDUE]: 4,
  [REASON.NO_PROPENSITY_SCORE]: 5,
  [REASON.NO_RISK_SCORE]: 5,
  [REASON.PROPENSITY_LOW]: 6,
  [REASON.RISK_HIGH]: 7,
  [REASON.CAP_CUSTOMER]: 8,
  [REASON.CAP_CHANNELS]: 8,
  [REASON.CONSENT_WITHDRAWN_SINCE_RUN]: 0,
  [REASON.CONSENT_EXPIRED_SINCE_RUN]: 0,
  [REASON.DO_NOT_CONTACT_SINCE_RUN]: 2,
};

/** A customer's consent for the campaign's purpose, at the run. */
export const CONSENT = { GRANTED: 0, NONE: 1, WITHDRAWN: 2, EXPIRED: 3 } as const;
export type ConsentState = (typeof CONSENT)[keyof typeof CONSENT];

/** The contact-cap outcome for one customer (caps.ts): a channel index, or the reason none is allowed. */
export interface CapOutcome {
  /** Index into the campaign's channels, or -1. */
  readonly channel: number;
  /** REASON.CAP_CUSTOMER or REASON.CAP_CHANNELS when channel is -1, else 0. */
  readonly reason: number;
  /** Index of the customer-scope cap reached (CAP_CUSTOMER), else -1. */
  readonly cap: number;
}

export interface CustomerFacts {
  readonly consent: ConsentState;
  /** null: the age could not be established. */
  readonly adult: boolean | null;
  readonly doNotContact: boolean;
  readonly fraudFlag: boolean;
  readonly overdue: boolean;
  /** NaN when the model did not score the customer. */
  readonly propensity: number;
  readonly risk: number;
  readonly cap: CapOutcome;
}

export interface Thresholds {
  readonly minScore: number;
  readonly maxProbabilityOfDefault: number;
}

export interface Decision {
  /** Bit i set: rule i passed. */
  readonly passed: number;
  /** The first failure's reason (REASON), 0 when eligible. */
  readonly reason: number;
}

const CONSENT_REASON = [0, REASON.CONSENT_NONE, REASON.CONSENT_WITHDRAWN, REASON.CONSENT_EXPIRED] as const;

/** Evaluates every rule for one customer (see the module comment). */
export function decide(f: CustomerFacts, t: Thresholds): Decision {
  const failures = [
    f.consent === CONSENT.GRANTED ? 0 : CONSENT_REASON[f.consent],
    f.adult === true ? 0 : f.adult === false ? REASON.MINOR : REASON.AGE_UNKNOWN,
    f.doNotContact ? REASON.DO_NOT_CONTACT : 0,
    f.fraudFlag ? REASON.FRAUD_FLAG : 0,
    f.overdue ? REASON.OVERDUE : 0,
    Number.isNaN(f.propensity) ? REASON.NO_PROPENSITY_SCORE : Number.isNaN(f.risk) ? REASON.NO_RISK_SCORE : 0,
    !Number.isNaN(f.propensity) && f.propensity < t.minScore ? REASON.PROPENSITY_LOW : 0,
    !Number.isNaN(f.risk) && f.risk > t.maxProbabilityOfDefault ? REASON.RISK_HIGH : 0,
    f.cap.reason,
  ];
  let passed = 0;
  let reason = 0;
  for (let i = 0; i < failures.length; i++) {
    const failure = failures[i]!;
    if (failure === 0) passed |= 1 << i;
    else if (reason === 0) reason = failure;
  }
  // A missing score fails the threshold rules that read it as well as the scores rule.
  if (Number.isNaN(f.propensity)) passed &= ~(1 << 6);
  if (Number.isNaN(f.risk)) passed &= ~(1 << 7);
  return { passed, reason };
}

/** The rules passed, by name, from a stored bitmask. */
export function rulesPassed(passed: number): RuleName[] {
  return RULES.filter((_, i) => (passed & (1 << i)) !== 0);
}

const CONSENT_RULE = 1 << RULES.indexOf('consent');
const DO_NOT_CONTACT_RULE = 1 << RULES.indexOf('do-not-contact');

/**
 * A done run's decision as it stands when its list is read: a customer eligible at the run whose consent for the
 * campaign's purpose is no longer in force now (withdrawn, erased or expired), or who is on the do-not-contact list
 * now, is not eligible any more. The rule(s) concerned lose their bit, and the reason is the first of them in rule
 * order (a *_SINCE_RUN reason). A decision not eligible at the run is left as it was.
 */
export function recheck(d: Decision, consentNow: ConsentState, listedNow: boolean): Decision {
  if (d.reason !== REASON.ELIGIBLE) return d;
  let passed = d.passed;
  let reason = 0;
  if (consentNow !== CONSENT.GRANTED) {
    passed &= ~CONSENT_RULE;
    reason =
      consentNow === CONSENT.EXPIRED ? REASON.CONSENT_EXPIRED_SINCE_RUN : REASON.CONSENT_WITHDRAWN_SINCE_RUN;
  }
  if (listedNow) {
    passed &= ~DO_NOT_CONTACT_RULE;
    reason ||= REASON.DO_NOT_CONTACT_SINCE_RUN;
  }
  return reason === 0 ? d : { passed, reason };
}
