/**
 * The pure parts of a decision: the rule order and reasons (rules.ts), contact caps over rolling windows (caps.ts),
 * ages from resident identity numbers and columns (age.ts), pricing clamped within the risk team's limits
 * (pricing.ts), the funnel (funnel.ts), the reason texts (reasons.ts) and the spec's own checks (spec.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  adultByAge,
  adultByBirth,
  dayOf,
  isoBirthDate,
  residentIdBirthDate,
} from '../../../primitives/campaigns/age.js';
import { compileCaps, DAY_MS } from '../../../primitives/campaigns/caps.js';
import { FunnelCounter } from '../../../primitives/campaigns/funnel.js';
import { compilePricing, contributionDiscount } from '../../../primitives/campaigns/pricing.js';
import { reasonTexts } from '../../../primitives/campaigns/reasons.js';
import {
  ALL_RULES_PASSED,
  CONSENT,
  type CustomerFacts,
  decide,
  REASON,
  RULES,
  recheck,
  rulesPassed,
} from '../../../primitives/campaigns/rules.js';
import {
  campaignDigest,
  checkPricingLimits,
  parseCampaignSpec,
  type CampaignSpec,
} from '../../../primitives/campaigns/spec.js';
import { thrown } from '../../helpers/thrown.js';

const OK: CustomerFacts = {
  consent: CONSENT.GRANTED,
  adult: true,
  doNotContact: false,
  fraudFlag: false,
  overdue: false,
  propensity: 0.6,
  risk: 0.02,
  cap: { channel: 0, reason: 0, cap: -1 },
};
const T = { minScore: 0.3, maxProbabilityOfDefault: 0.05 };

const SPEC_INPUT = {
  name: 'term-deposit-q3',
  product: 'term-deposit',
  channels: ['email', 'sms'],
  population: { dataset: 'bank' },
  propensity: { model: '6f1c1b8e-7a55-4b1e-9a43-2f0b6cde0101', minScore: 0.3 },
  risk: { model: '6f1c1b8e-7a55-4b1e-9a43-2f0b6cde0202', maxProbabilityOfDefault: 0.05 },
  consentPurpose: 'marketing.deposits',
  caps: [{ scope: 'customer', max: 2, days: 30 }],
  tiers: [{ tier: 'ALL', when: {} }],
  pricing: { guidanceRate: 3, priceBand: 0.25 },
};

describe('rules', () => {
  it('passes every rule for an eligible customer', () => {
    expect(decide(OK, T)).toEqual({ passed: ALL_RULES_PASSED, reason: 0 });
    expect(rulesPassed(ALL_RULES_PASSED)).toEqual([...RULES]);
  });

  it('names the first rule failed, in the fixed order, and still records every other rule', () => {
    const d = decide({ ...OK, consent: CONSENT.WITHDRAWN, overdue: true, propensity: 0.1 }, T);
    expect(d.reason).toBe(REASON.CONSENT_WITHDRAWN);
    expect(rulesPassed(d.passed)).toEqual([
      'adult',
      'do-not-contact',
      'fraud',
      'scores',
      'risk',
      'contact-cap',
    ]);
    const cases: [Partial<CustomerFacts>, number][] = [
      [{ consent: CONSENT.NONE }, REASON.CONSENT_NONE],
      [{ consent: CONSENT.EXPIRED }, REASON.CONSENT_EXPIRED],
      [{ adult: false }, REASON.MINOR],
      [{ adult: null }, REASON.AGE_UNKNOWN],
      [{ doNotContact: true }, REASON.DO_NOT_CONTACT],
      [{ fraudFlag: true }, REASON.FRAUD_FLAG],
      [{ overdue: true }, REASON.OVERDUE],
      [{ propensity: Number.NaN }, REASON.NO_PROPENSITY_SCORE],
      [{ risk: Number.NaN }, REASON.NO_RISK_SCORE],
      [{ propensity: 0.2999 }, REASON.PROPENSITY_LOW],
      [{ risk: 0.0501 }, REASON.RISK_HIGH],
      [{ cap: { channel: -1, reason: REASON.CAP_CUSTOMER, cap: 0 } }, REASON.CAP_CUSTOMER],
      [{ cap: { channel: -1, reason: REASON.CAP_CHANNELS, cap: -1 } }, REASON.CAP_CHANNELS],
    ];
    for (const [facts, reason] of cases) expect(decide({ ...OK, ...facts }, T).reason).toBe(reason);
    // Thresholds are inclusive: minScore itself and maxProbabilityOfDefault itself pass.
    expect(decide({ ...OK, propensity: 0.3, risk: 0.05 }, T).reason).toBe(0);
    // A missing score fails the scores rule and the threshold rule that reads it.
    expect(rulesPassed(decide({ ...OK, risk: Number.NaN }, T).passed)).not.toContain('risk');
  });

  it('renders the first reason with its detail, then the later rules failed', () => {
    const spec = parseCampaignSpec(SPEC_INPUT);
    const d = decide({ ...OK, doNotContact: true, propensity: 0.1234567 }, T);
    const texts = reasonTexts(d.passed, d.reason, { spec, propensity: 0.1234567, risk: 0.02, cap: null });
    expect(texts).toEqual(['on the do-not-contact list', 'no propensity score of at least 0.3']);
    const low = decide({ ...OK, propensity: 0.1234567 }, T);
    expect(
      reasonTexts(low.passed, low.reason, { spec, propensity: 0.1234567, risk: 0.02, cap: null })[0],
    ).toBe("propensity score 0.1234567 is below the campaign's minimum 0.3");
  });
});

describe('a list read after the run', () => {
  it('takes off those whose consent lapsed or who asked not to be contacted since, first rule first', () => {
    const eligible = decide(OK, T);
    expect(recheck(eligible, CONSENT.GRANTED, false)).toBe(eligible);
    expect(recheck(eligible, CONSENT.WITHDRAWN, false)).toEqual({
      passed: ALL_RULES_PASSED & ~1,
      reason: REASON.CONSENT_WITHDRAWN_SINCE_RUN,
    });
    expect(recheck(eligible, CONSENT.NONE, false).reason).toBe(REASON.CONSENT_WITHDRAWN_SINCE_RUN);
    expect(recheck(eligible, CONSENT.EXPIRED, false).reason).toBe(REASON.CONSENT_EXPIRED_SINCE_RUN);
    const both = recheck(eligible, CONSENT.EXPIRED, true);
    expect(both.reason).toBe(REASON.CONSENT_EXPIRED_SINCE_RUN);
    expect(rulesPassed(both.passed)).not.toContain('do-not-contact');
    expect(recheck(eligible, CONSENT.GRANTED, true)).toEqual({
      passed: ALL_RULES_PASSED & ~(1 << 2),
      reason: REASON.DO_NOT_CONTACT_SINCE_RUN,
    });
    // A customer not eligible at the run stays as the run decided.
    const low = decide({ ...OK, propensity: 0.1 }, T);
    expect(recheck(low, CONSENT.WITHDRAWN, true)).toBe(low);
  });
});

describe('contact caps', () => {
  const runAt = Date.UTC(2025, 5, 30);
  const caps = compileCaps(
    [
      { scope: 'customer', max: 2, days: 30 },
      { scope: 'channel', channel: 'email', max: 1, days: 7 },
    ],
    ['email', 'sms'],
    runAt,
  );

  it('gives the first channel whose caps allow it, within rolling windows', () => {
    expect(caps.evaluate(undefined)).toMatchObject({ channel: 0, reason: 0 });
    // One email 3 days ago: email capped for 7 days, sms next.
    expect(caps.evaluate([{ channel: 'email', at: runAt - 3 * DAY_MS }])).toMatchObject({ channel: 1 });
    // The same email 7 days ago exactly is outside the 7-day window.
    expect(caps.evaluate([{ channel: 'email', at: runAt - 7 * DAY_MS }])).toMatchObject({ channel: 0 });
    // Two contacts in 30 days: the customer cap (caps[0]) is reached whatever the channel.
    const two = [
      { channel: 'sms', at: runAt - 10 * DAY_MS },
      { channel: 'sms', at: runAt - 20 * DAY_MS },
    ];
    expect(caps.evaluate(two)).toEqual({ channel: -1, reason: REASON.CAP_CUSTOMER, cap: 0 });
    expect(caps.evaluate([two[0]!, { channel: 'sms', at: runAt - 31 * DAY_MS }])).toMatchObject({
      channel: 0,
    });
    expect(caps.since).toBe(runAt - 30 * DAY_MS);
  });

  it('refuses every channel when each is capped', () => {
    const emailOnly = compileCaps(
      [{ scope: 'channel', channel: 'email', max: 0, days: 1 }],
      ['email'],
      runAt,
    );
    expect(emailOnly.evaluate(undefined)).toEqual({ channel: -1, reason: REASON.CAP_CHANNELS, cap: -1 });
  });
});

describe('ages', () => {
  it('reads the birth date of an 18- or 15-character resident identity number', () => {
    expect(residentIdBirthDate('330607196812285007')).toBe(19681228);
    expect(residentIdBirthDate('11010519491231002X')).toBe(19491231);
    expect(residentIdBirthDate('110105491231002')).toBe(19491231);
    expect(residentIdBirthDate('330607196813285007')).toBeNull(); // month 13
    expect(residentIdBirthDate('330607200702305007')).toBeNull(); // 30 February
    expect(residentIdBirthDate('12345')).toBeNull();
  });

  it('comes of age on the birthday, at the run date', () => {
    const day = dayOf(Date.UTC(2025, 5, 30));
    expect(day).toBe(20250630);
    expect(adultByBirth(20070630, day, 18)).toBe(true);
    expect(adultByBirth(20070701, day, 18)).toBe(false);
    expect(adultByBirth(null, day, 18)).toBeNull();
    expect(adultByBirth(20300101, day, 18)).toBeNull(); // born after the run: not a usable date
    expect(adultByAge(18, 18)).toBe(true);
    expect(adultByAge(17, 18)).toBe(false);
    expect(adultByAge(null, 18)).toBeNull();
    expect(isoBirthDate('2007-06-30')).toBe(20070630);
    expect(isoBirthDate('not a date')).toBeNull();
  });
});

describe('pricing', () => {
  const pricing = {
    guidanceRate: 4,
    tierDiscount: { V2: 0.25, V5: 1.5 },
    contribution: {
      column: 'balance',
      bands: [
        { from: 1000, discount: 0.1 },
        { from: 10000, discount: 0.5 },
      ],
    },
    priceBand: 0.25,
  };
  const calc = compilePricing(pricing, ['V0', 'V2', 'V5'], { floor: 2.5, ceiling: 3.9 });

  it('takes the tier and contribution discounts from the guidance rate, clamped within floor and ceiling', () => {
    expect(contributionDiscount(pricing.contribution, 999)).toBe(0);
    expect(contributionDiscount(pricing.contribution, 1000)).toBe(0.1);
    expect(contributionDiscount(pricing.contribution, 50000)).toBe(0.5);
    expect(contributionDiscount(pricing.contribution, null)).toBe(0);
    expect(calc.priceOf(1, 5000)).toBe(3.65); // 4 - 0.25 - 0.1
    expect(calc.priceOf(0, 0)).toBe(3.9); // 4, clamped to the ceiling
    expect(calc.priceOf(2, 20000)).toBe(2.5); // 4 - 1.5 - 0.5 = 2, clamped to the floor
    expect(calc.bandOf(3.65)).toBe(3.5);
    expect(calc.bandOf(3.75)).toBe(3.75);
  });

  it('rounds first and clamps to the limits rounded inward, so a price never leaves them', () => {
    const flat = { guidanceRate: 4, tierDiscount: {}, priceBand: 0.25 };
    // Limits finer than the price's 4 decimals: 3.99996 would round up past the ceiling, 3.00004 down past the floor.
    const tight = compilePricing(flat, ['A'], { floor: 3.00004, ceiling: 3.99996 });
    expect(tight.priceOf(0, null)).toBe(3.9999);
    const low = compilePricing({ ...flat, guidanceRate: 2 }, ['A'], { floor: 3.00004, ceiling: 3.99996 });
    expect(low.priceOf(0, null)).toBe(3.0001);
    for (const guidance of [2, 3.00004, 3.5, 3.99996, 5]) {
      const price = compilePricing({ ...flat, guidanceRate: guidance }, ['A'], {
        floor: 3.00004,
        ceiling: 3.99996,
      }).priceOf(0, null);
      expect(price, String(guidance)).toBeGreaterThanOrEqual(3.00004);
      expect(price, String(guidance)).toBeLessThanOrEqual(3.99996);
    }
    // No price of 4 decimals lies within limits closer than that: refused when set, and when compiled.
    expect(thrown(() => checkPricingLimits('p', { floor: 3.00001, ceiling: 3.00009 }))).toMatchObject({
      code: 'ACCORD_CAMPAIGN_PRICING_LIMITS_INVALID',
      params: { field: 'ceiling' },
    });
    expect(thrown(() => compilePricing(flat, ['A'], { floor: 3.00001, ceiling: 3.00009 })).code).toBe(
      'ACCORD_CAMPAIGN_PRICING_LIMITS_INVALID',
    );
  });

  it('reads only the discounts a tier is given (a tier may be called valueOf), and never prices NaN', () => {
    const named = compilePricing(
      { guidanceRate: 4, tierDiscount: { constructor: 0.5 }, priceBand: 0.25 },
      ['valueOf', 'constructor', 'toString'],
      { floor: 1, ceiling: 5 },
    );
    expect([named.priceOf(0, null), named.priceOf(1, null), named.priceOf(2, null)]).toEqual([4, 3.5, 4]);
    const broken = compilePricing({ guidanceRate: Number.NaN, tierDiscount: {}, priceBand: 0.25 }, ['A'], {
      floor: 1,
      ceiling: 5,
    });
    expect(thrown(() => broken.priceOf(0, null))).toMatchObject({
      code: 'ACCORD_CAMPAIGN_PRICE_INVALID',
      params: { tier: 'A' },
    });
  });

  it('refuses a floor above the ceiling, naming the field', () => {
    const err = thrown(() => checkPricingLimits('term-deposit', { floor: 5, ceiling: 4 }));
    expect(err.code).toBe('ACCORD_CAMPAIGN_PRICING_LIMITS_INVALID');
    expect(err.params.field).toBe('floor');
  });
});

describe('funnel', () => {
  it('counts who remains after each rule, per tier, price band and channel', () => {
    const applied = Object.fromEntries(RULES.map((r) => [r, r !== 'fraud'])) as Record<
      (typeof RULES)[number],
      boolean
    >;
    const f = new FunnelCounter(['A', 'B'], ['email', 'sms'], applied, 0.25);
    f.add(0, 0, 3.5, 0);
    f.add(0, 1, 3.75, 1);
    f.add(0, 1, 3.5, 0);
    f.add(REASON.CONSENT_NONE, 0, 0, -1);
    f.add(REASON.RISK_HIGH, 1, 0, -1);
    const r = f.result();
    expect(r.population).toBe(5);
    expect(r.eligible).toBe(3);
    expect(r.steps.map((s) => s.remaining)).toEqual([4, 4, 4, 4, 4, 4, 4, 3, 3]);
    expect(r.steps.find((s) => s.rule === 'fraud')!.applied).toBe(false);
    expect(r.tiers).toEqual([
      { tier: 'A', population: 2, eligible: 1 },
      { tier: 'B', population: 3, eligible: 2 },
    ]);
    expect(r.priceBands).toEqual([
      { from: 3.5, to: 3.75, eligible: 2 },
      { from: 3.75, to: 4, eligible: 1 },
    ]);
    expect(r.channels).toEqual([
      { channel: 'email', eligible: 2 },
      { channel: 'sms', eligible: 1 },
    ]);
  });
});

describe('campaign spec', () => {
  const bad = (patch: (s: Record<string, unknown>) => void) => {
    const input = structuredClone(SPEC_INPUT) as Record<string, unknown>;
    patch(input);
    return thrown(() => parseCampaignSpec(input));
  };

  it('fills defaults and digests canonically (key order does not matter)', () => {
    const spec = parseCampaignSpec(SPEC_INPUT);
    expect(spec.exclusions).toEqual({ doNotContact: true, minors: { minimumAge: 18 } });
    const reordered = parseCampaignSpec(Object.fromEntries(Object.entries(SPEC_INPUT).reverse()));
    expect(campaignDigest(reordered)).toBe(campaignDigest(spec));
    expect(campaignDigest({ ...spec, name: 'other' } as CampaignSpec)).not.toBe(campaignDigest(spec));
  });

  it('refuses thresholds outside [0, 1], naming the field', () => {
    const minScore = bad((s) => {
      (s.propensity as { minScore: number }).minScore = 1.5;
    });
    expect(minScore.code).toBe('ACCORD_CAMPAIGN_SPEC_INVALID');
    expect(minScore.params.field).toBe('propensity.minScore');
    const pd = bad((s) => {
      (s.risk as { maxProbabilityOfDefault: number }).maxProbabilityOfDefault = -0.1;
    });
    expect(pd.params.field).toBe('risk.maxProbabilityOfDefault');
  });

  it('refuses a discount for an unknown tier, a cap on a channel the campaign lacks, unordered bands', () => {
    expect(
      bad((s) => {
        (s.pricing as Record<string, unknown>).tierDiscount = { V9: 1 };
      }).params.field,
    ).toBe('pricing.tierDiscount.V9');
    expect(
      bad((s) => {
        s.caps = [{ scope: 'channel', channel: 'phone', max: 1, days: 7 }];
      }).params.field,
    ).toBe('caps.0.channel');
    expect(
      bad((s) => {
        (s.pricing as Record<string, unknown>).contribution = {
          column: 'balance',
          bands: [
            { from: 10, discount: 1 },
            { from: 5, discount: 2 },
          ],
        };
      }).params.field,
    ).toBe('pricing.contribution.bands.1.from');
  });
});

describe('protective exclusions', () => {
  const withExclusions = (exclusions: unknown) => ({ ...structuredClone(SPEC_INPUT), exclusions });

  it('cannot switch do-not-contact off, nor lower the minimum age below 18, per campaign', () => {
    const off = thrown(() => parseCampaignSpec(withExclusions({ doNotContact: false })));
    expect(off).toMatchObject({
      code: 'ACCORD_CAMPAIGN_SPEC_INVALID',
      params: { field: 'exclusions.doNotContact' },
    });
    expect(off.message).toContain('always applies');
    const young = thrown(() => parseCampaignSpec(withExclusions({ minors: { minimumAge: 16 } })));
    expect(young).toMatchObject({
      code: 'ACCORD_CAMPAIGN_SPEC_INVALID',
      params: { field: 'exclusions.minors.minimumAge' },
    });
    expect(young.message).toContain('18');
    // Raising the age, and saying do-not-contact applies (or leaving it out), are fine.
    expect(
      parseCampaignSpec(withExclusions({ doNotContact: true, minors: { minimumAge: 21 } })).exclusions,
    ).toEqual({
      doNotContact: true,
      minors: { minimumAge: 21 },
    });
    expect(parseCampaignSpec(withExclusions({})).exclusions).toEqual({
      doNotContact: true,
      minors: { minimumAge: 18 },
    });
  });
});
