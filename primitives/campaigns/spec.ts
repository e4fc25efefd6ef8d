/**
 * The campaign spec: who may be offered a product, through which channels, at what price. Everything a reviewer
 * approves is in it as data (tiers and pricing included, never code), so that an approval binds to one exact spec by
 * its SHA-256 digest (`campaignDigest`) and a run records the version it used. It names columns, models, thresholds
 * and rates only, never a customer or a customer's value.
 *
 * Semantics the run engine (node/campaigns/run-engine.ts) and the checks here share:
 *  - a range condition `{min, max}` holds for a number x with min <= x < max (min inclusive, max exclusive; either
 *    may be left out); an empty cell never satisfies a range;
 *  - `{in: [...]}` holds when the cell equals a listed value (null lists the empty cell), `{notIn: [...]}` when it
 *    equals none of them; a column a rule does not name matches any value;
 *  - tiers must cover every possible customer of the population's schema exactly once (tiers.ts checks it);
 *  - thresholds: propensity score >= minScore, probability of default <= maxProbabilityOfDefault;
 *  - caps: a customer may be contacted when fewer than `max` contacts fall in the last `days` days (rolling);
 *  - price = guidanceRate - tierDiscount[tier] - contribution discount, clamped within the product's limits;
 *  - protective exclusions are not the author's to relax: do-not-contact always applies, and minors below
 *    MINIMUM_AGE (18) are always excluded (a campaign may only raise the age).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../training/spec.js';
import { AccordError } from '../errors/index.js';
import { inwardLimits } from './pricing.js';

export const CAMPAIGN_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Products, channels and consent purposes: lowercase names, safe in URLs, CSV and audit records. */
export const PRODUCT_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;
export const CHANNEL_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
export const PURPOSE_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;
export const TIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

export const MAX_TIERS = 32;
export const MAX_CAPS = 16;
export const MAX_CHANNELS = 8;
/** The age of majority below which no campaign may go (exclusions.minors.minimumAge). */
export const MINIMUM_AGE = 18;

const columnName = z.string().min(1).max(64);
const probability = z.number().min(0).max(1);
const rate = z.number().min(0).max(1000);
const modelId = z.string().uuid();

/** A value a list condition may name: a string, a number, a boolean, or null for the empty cell. */
export const listValueSchema = z.union([z.string().max(128), z.number(), z.boolean(), z.null()]);
export type ListValue = z.infer<typeof listValueSchema>;

const rangeCondition = z
  .strictObject({ min: z.number().optional(), max: z.number().optional() })
  .refine((c) => c.min !== undefined || c.max !== undefined, 'give min, max or both')
  .refine((c) => c.min === undefined || c.max === undefined || c.min < c.max, 'min must be below max');
const inCondition = z.strictObject({ in: z.array(listValueSchema).min(1).max(256) });
const notInCondition = z.strictObject({ notIn: z.array(listValueSchema).min(1).max(256) });

export const conditionSchema = z.union([inCondition, notInCondition, rangeCondition]);
export type Condition = z.infer<typeof conditionSchema>;

export const tierRuleSchema = z.strictObject({
  tier: z.string().regex(TIER_PATTERN, 'letters, digits, _ and -; at most 32 characters'),
  /** Conditions by column, all of which must hold; `{}` matches everyone. */
  when: z.record(columnName, conditionSchema).default({}),
});
export type TierRule = z.infer<typeof tierRuleSchema>;

const days = z.number().int().min(1).max(3660).describe('the rolling window, in days up to the run');
const capMax = z.number().int().min(0).max(10_000).describe('most contacts within the window');
export const capSchema = z.discriminatedUnion('scope', [
  z.strictObject({ scope: z.literal('customer'), max: capMax, days }),
  z.strictObject({
    scope: z.literal('channel'),
    channel: z.string().regex(CHANNEL_PATTERN),
    max: capMax,
    days,
  }),
]);
export type ContactCap = z.infer<typeof capSchema>;

/** Where a customer's age comes from (see age.ts). */
export const ageSourceSchema = z.union([
  z.literal('resident-id'),
  z.strictObject({ ageColumn: columnName }),
  z.strictObject({ birthDateColumn: columnName }),
]);
export type AgeSource = z.infer<typeof ageSourceSchema>;

export const exclusionsSchema = z.strictObject({
  /** A finished fraud-signal screening job of the population's identifiers: its hits are excluded. */
  fraudScreening: z.string().uuid().optional(),
  /** Customers whose `column` holds one of `values` are overdue and excluded. */
  overdue: z.strictObject({ column: columnName, values: z.array(listValueSchema).min(1).max(64) }).optional(),
  /**
   * Customers on the bank's do-not-contact list are always excluded: the field may only say so (`true`, the default).
   * A protective exclusion is not the campaign author's to switch off.
   */
  doNotContact: z
    .literal(true, { error: 'do-not-contact always applies: it cannot be switched off for a campaign' })
    .default(true),
  minors: z
    .strictObject({
      /** A campaign may raise the age of majority, never lower it. */
      minimumAge: z
        .number()
        .int()
        .min(MINIMUM_AGE, `minors are always excluded: the minimum age is at least ${MINIMUM_AGE}`)
        .max(150)
        .default(MINIMUM_AGE),
      /** Default: the resident identity number when the dataset's idKind is national_id. */
      from: ageSourceSchema.optional(),
    })
    .default({ minimumAge: MINIMUM_AGE }),
});

export const pricingSchema = z.strictObject({
  /** The product's guidance rate, in the product's unit (e.g. percent a year). */
  guidanceRate: rate,
  /** Discount by tier; a tier not listed gets none. */
  tierDiscount: z.record(z.string().regex(TIER_PATTERN), rate).default({}),
  /** Discount by the customer's past contribution: the band with the largest `from` not above the value. */
  contribution: z
    .strictObject({
      column: columnName,
      bands: z
        .array(z.strictObject({ from: z.number(), discount: rate }))
        .min(1)
        .max(64),
    })
    .optional(),
  /** Width of a price band in the funnel's counts. */
  priceBand: z.number().positive().max(1000),
});
export type Pricing = z.infer<typeof pricingSchema>;

export const campaignSpecSchema = z
  .strictObject({
    name: z
      .string()
      .regex(CAMPAIGN_NAME_PATTERN, 'lowercase letters, digits, _ and -; at most 64 characters'),
    product: z.string().regex(PRODUCT_PATTERN),
    /** In order of preference: a customer gets the first one whose caps allow it. */
    channels: z.array(z.string().regex(CHANNEL_PATTERN)).min(1).max(MAX_CHANNELS),
    population: z.strictObject({ dataset: z.string().min(1).max(64) }),
    propensity: z.strictObject({ model: modelId, minScore: probability }),
    risk: z.strictObject({ model: modelId, maxProbabilityOfDefault: probability }),
    consentPurpose: z.string().regex(PURPOSE_PATTERN),
    caps: z.array(capSchema).max(MAX_CAPS).default([]),
    exclusions: exclusionsSchema.default({ doNotContact: true, minors: { minimumAge: MINIMUM_AGE } }),
    tiers: z.array(tierRuleSchema).min(1).max(MAX_TIERS),
    pricing: pricingSchema,
  })
  .superRefine((spec, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    if (new Set(spec.channels).size !== spec.channels.length)
      issue(['channels'], 'channels must be distinct');
    const tiers = spec.tiers.map((t) => t.tier);
    for (const [i, t] of tiers.entries())
      if (tiers.indexOf(t) !== i) issue(['tiers', i, 'tier'], `tier ${t} is named twice`);
    for (const tier of Object.keys(spec.pricing.tierDiscount))
      if (!tiers.includes(tier)) issue(['pricing', 'tierDiscount', tier], `no tier is named ${tier}`);
    for (const [i, cap] of spec.caps.entries())
      if (cap.scope === 'channel' && !spec.channels.includes(cap.channel))
        issue(['caps', i, 'channel'], `channel ${cap.channel} is not one of the campaign's channels`);
    const bands = spec.pricing.contribution?.bands ?? [];
    for (let i = 1; i < bands.length; i++)
      if (!(bands[i]!.from > bands[i - 1]!.from))
        issue(['pricing', 'contribution', 'bands', i, 'from'], 'bands must be in increasing order of from');
    if (spec.propensity.model === spec.risk.model)
      issue(['risk', 'model'], 'the risk model must differ from the propensity model');
  });

export type CampaignSpec = z.infer<typeof campaignSpecSchema>;

/** Pricing limits the risk team sets per product. */
export const pricingLimitsSchema = z.strictObject({
  floor: rate,
  ceiling: rate,
  /** The highest maxProbabilityOfDefault a campaign of this product may use. */
  maxProbabilityOfDefault: probability.optional(),
});
export type PricingLimitsInput = z.infer<typeof pricingLimitsSchema>;

/**
 * Throws ACCORD_CAMPAIGN_PRICING_LIMITS_INVALID when the floor is above the ceiling, or when no price of 4 decimals
 * (prices are kept to a basis point of a percent, pricing.ts) lies between them.
 */
export function checkPricingLimits(product: string, limits: PricingLimitsInput): void {
  if (limits.floor > limits.ceiling)
    throw new AccordError('ACCORD_CAMPAIGN_PRICING_LIMITS_INVALID', {
      product,
      field: 'floor',
      problem: `the floor ${limits.floor} is above the ceiling ${limits.ceiling}`,
    });
  const { lo, hi } = inwardLimits(limits);
  if (lo > hi)
    throw new AccordError('ACCORD_CAMPAIGN_PRICING_LIMITS_INVALID', {
      product,
      field: 'ceiling',
      problem: `no price of 4 decimals lies between the floor ${limits.floor} and the ceiling ${limits.ceiling}`,
    });
}

/**
 * Parses a campaign spec from untrusted input; throws ACCORD_CAMPAIGN_SPEC_INVALID naming the first bad field (and
 * listing every problem).
 */
export function parseCampaignSpec(input: unknown): CampaignSpec {
  const result = campaignSpecSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const first = issues[0]!;
  throw new AccordError('ACCORD_CAMPAIGN_SPEC_INVALID', {
    field: first.path.length ? first.path.join('.') : '(root)',
    problem: issues
      .map((i, n) => (n === 0 ? i.message : `${i.path.join('.') || '(root)'}: ${i.message}`))
      .join('; '),
  });
}

/** SHA-256 (hex) of the spec's canonical JSON: what an approval and a run bind to. */
export function campaignDigest(spec: CampaignSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}
