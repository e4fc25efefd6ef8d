/**
 * "One customer, one price": the product's guidance rate minus the discount of the customer's tier and the discount
 * of their past-contribution band, clamped within the floor and ceiling the risk team set for the product. Pure and
 * compiled once per run (a lookup by tier index and a scan of at most 64 bands per customer).
 *
 * The price is rounded to 4 decimals first and then clamped to the limits rounded inward (the floor up, the ceiling
 * down, to 4 decimals), so rounding can never carry a price outside the risk team's limits; limits with no 4-decimal
 * price between them are refused. A tier's discount is read only if the pricing gives that tier one (its own key:
 * a tier may be called `valueOf`), and a price that is not a finite number stops the run (ACCORD_CAMPAIGN_PRICE_INVALID).
 */
import { AccordError } from '../errors/index.js';
import type { Pricing } from './spec.js';

export interface PriceLimits {
  readonly floor: number;
  readonly ceiling: number;
}

/** Prices are kept to 4 decimals (a basis point of a percent), so a list and a recomputation agree exactly. */
export function roundPrice(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

const STEP = 0.0001;

/**
 * The limits rounded inward to 4 decimals: the lowest 4-decimal price not below the floor and the highest not above
 * the ceiling. `lo > hi` when no 4-decimal price lies within them.
 */
export function inwardLimits(limits: PriceLimits): { lo: number; hi: number } {
  let lo = roundPrice(limits.floor);
  if (lo < limits.floor) lo = roundPrice(lo + STEP);
  let hi = roundPrice(limits.ceiling);
  if (hi > limits.ceiling) hi = roundPrice(hi - STEP);
  return { lo, hi };
}

export interface PriceCalculator {
  /** The price for a customer of tier `tier` (index into the campaign's tiers) with `contribution` (or null). */
  priceOf(tier: number, contribution: number | null): number;
  /** The lower bound of the funnel's price band holding `price`. */
  bandOf(price: number): number;
}

/** The contribution discount: the band with the largest `from` not above the value; none below the first band. */
export function contributionDiscount(bands: Pricing['contribution'], value: number | null): number {
  if (!bands || value === null || !Number.isFinite(value)) return 0;
  let discount = 0;
  for (const band of bands.bands) {
    if (value >= band.from) discount = band.discount;
    else break;
  }
  return discount;
}

export function compilePricing(
  pricing: Pricing,
  tiers: readonly string[],
  limits: PriceLimits,
): PriceCalculator {
  const tierDiscount = tiers.map((t) =>
    Object.hasOwn(pricing.tierDiscount, t) ? pricing.tierDiscount[t]! : 0,
  );
  const { lo, hi } = inwardLimits(limits);
  if (!(lo <= hi))
    throw new AccordError('ACCORD_CAMPAIGN_PRICING_LIMITS_INVALID', {
      product: '(the campaign’s product)',
      field: 'ceiling',
      problem: `no price of 4 decimals lies between the floor ${limits.floor} and the ceiling ${limits.ceiling}`,
    });
  const width = pricing.priceBand;
  return {
    priceOf(tier, contribution) {
      const raw =
        pricing.guidanceRate -
        (tierDiscount[tier] ?? 0) -
        contributionDiscount(pricing.contribution, contribution);
      const price = Math.min(hi, Math.max(lo, roundPrice(raw)));
      if (!Number.isFinite(price))
        throw new AccordError('ACCORD_CAMPAIGN_PRICE_INVALID', {
          tier: tiers[tier] ?? String(tier),
          problem: `guidance rate ${pricing.guidanceRate}, raw price ${raw}`,
        });
      return price;
    },
    bandOf(price) {
      return roundPrice(Math.floor(price / width + 1e-9) * width);
    },
  };
}
