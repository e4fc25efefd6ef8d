/**
 * The funnel of a run: the population, how many remain after each rule in order (a customer leaves at the first rule
 * it fails), the eligible, and the eligible counted per tier, per price band and per channel. Counts only: a funnel
 * names no customer and no customer's value.
 */
import { REASON_RULE, RULES, type RuleName } from './rules.js';
import { roundPrice } from './pricing.js';

export interface FunnelStep {
  readonly rule: RuleName;
  /** False when the campaign does not use the rule (no screening job, no overdue column, no caps...). */
  readonly applied: boolean;
  /** Customers who passed this rule and every earlier one. */
  readonly remaining: number;
  /** Customers whose first failed rule is this one. */
  readonly excluded: number;
}

export interface Funnel {
  readonly population: number;
  readonly steps: readonly FunnelStep[];
  readonly eligible: number;
  /** Per tier: customers of the population in it, and the eligible ones. */
  readonly tiers: readonly {
    readonly tier: string;
    readonly population: number;
    readonly eligible: number;
  }[];
  /** Eligible customers per price band [from, to), in increasing order. */
  readonly priceBands: readonly { readonly from: number; readonly to: number; readonly eligible: number }[];
  readonly channels: readonly { readonly channel: string; readonly eligible: number }[];
}

export class FunnelCounter {
  private population = 0;
  private readonly excludedAt = new Array<number>(RULES.length).fill(0);
  private readonly tierPopulation: number[];
  private readonly tierEligible: number[];
  private readonly channelEligible: number[];
  private readonly bands = new Map<number, number>();

  constructor(
    private readonly tiers: readonly string[],
    private readonly channels: readonly string[],
    private readonly applied: Readonly<Record<RuleName, boolean>>,
    private readonly bandWidth: number,
  ) {
    this.tierPopulation = tiers.map(() => 0);
    this.tierEligible = tiers.map(() => 0);
    this.channelEligible = channels.map(() => 0);
  }

  /** Counts one decision: its reason (0 = eligible), tier index, and for an eligible one its price band and channel. */
  add(reason: number, tier: number, band: number, channel: number): void {
    this.population++;
    if (tier >= 0) this.tierPopulation[tier]!++;
    if (reason !== 0) {
      this.excludedAt[REASON_RULE[reason]!]!++;
      return;
    }
    if (tier >= 0) this.tierEligible[tier]!++;
    if (channel >= 0) this.channelEligible[channel]!++;
    this.bands.set(band, (this.bands.get(band) ?? 0) + 1);
  }

  result(): Funnel {
    let remaining = this.population;
    const steps = RULES.map((rule, i) => {
      remaining -= this.excludedAt[i]!;
      return { rule, applied: this.applied[rule], remaining, excluded: this.excludedAt[i]! };
    });
    return {
      population: this.population,
      steps,
      eligible: remaining,
      tiers: this.tiers.map((tier, i) => ({
        tier,
        population: this.tierPopulation[i]!,
        eligible: this.tierEligible[i]!,
      })),
      priceBands: [...this.bands.entries()]
        .sort(([a], [b]) => a - b)
        .map(([from, eligible]) => ({ from, to: roundPrice(from + this.bandWidth), eligible })),
      channels: this.channels.map((channel, i) => ({ channel, eligible: this.channelEligible[i]! })),
    };
  }
}
