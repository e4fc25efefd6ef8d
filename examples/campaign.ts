/**
 * The term-deposit campaign of the demo and the eligibility benchmark, over the UCI bank-marketing customers bank-a
 * holds (examples/data/bank_marketing_bank.csv): the joint models it uses, the consent records and the campaign
 * itself, as a bank's marketing and risk teams would write them.
 *
 * - Joint propensity model: bank-a (label `y`, subscribed to a term deposit) and bank-b (its contact history columns),
 *   vertical logistic regression over the PSI alignment.
 * - Joint risk model: the same parties, label `default` (the customer has credit in default), bank-a's columns other
 *   than the two labels.
 * - Consent: the public data carries none, so each customer's record is drawn from a hash of their id (85% granted,
 *   8% withdrawn, 7% never asked): the same customers every run.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { LocalConsortium } from './local-consortium.js';
import { MARKETING_VERTICAL, readCsv, trainVertical, type VerticalSettings } from './vertical.js';

export const TERM_DEPOSIT = {
  product: 'term-deposit',
  purpose: 'marketing.term-deposit',
} as const;

/** Vertical settings for both joint models (bank marketing: Adam, full batches). */
export const MARKETING_SETTINGS: VerticalSettings = {
  epochs: 6,
  batchSize: 8192,
  learningRate: 0.1,
  optimizer: 'adam',
  l2: 0,
  validation: { fraction: 0.2, seed: 42 },
};

/** bank-a's columns for the risk model: every column but the identifier and the two labels. */
export function riskFeatures(): Record<string, unknown> {
  const table = readCsv(MARKETING_VERTICAL[0]!.file);
  const categorical = ['job', 'marital', 'education', 'housing', 'loan'];
  const columns = [
    { name: 'age', kind: 'numeric' },
    { name: 'balance', kind: 'numeric' },
    ...categorical.map((name) => {
      const at = table.header.indexOf(name);
      return {
        name,
        kind: 'categorical',
        categories: [...new Set(table.rows.map((r) => r[at]!))].sort(),
      };
    }),
  ];
  return { 'bank-a': columns, 'bank-b': 'all' };
}

export interface JointModels {
  /** bank-a's parts (the deciding bank's model ids). */
  readonly propensity: string;
  readonly risk: string;
  readonly propensityAuc: number;
  readonly riskAuc: number;
}

/** Trains the joint propensity and risk models over `alignment` (bank-a labels, bank-b features). */
export async function trainMarketingModels(
  c: LocalConsortium,
  alignment: string,
  onEpoch?: (model: 'propensity' | 'risk', epoch: number, auc: number | null) => void,
): Promise<JointModels> {
  const propensity = await trainVertical(
    c,
    MARKETING_VERTICAL,
    alignment,
    MARKETING_SETTINGS,
    'propensity',
    (e, auc) => onEpoch?.('propensity', e, auc),
  );
  const risk = await trainVertical(
    c,
    MARKETING_VERTICAL,
    alignment,
    // Defaults are rare (1.8%): a larger step lets the intercept reach them in the same epochs, so that the
    // probabilities of default are calibrated enough for the campaign's threshold.
    { ...MARKETING_SETTINGS, learningRate: 0.3, label: 'default', features: riskFeatures() },
    'risk',
    (e, auc) => onEpoch?.('risk', e, auc),
  );
  return {
    propensity: propensity.modelId,
    risk: risk.modelId,
    propensityAuc: propensity.rounds.at(-1).metrics.auc,
    riskAuc: risk.rounds.at(-1).metrics.auc,
  };
}

/** 0 <= u < 1 from the customer's id: the same consent record for the same customer every time. */
function draw(id: string): number {
  return createHash('sha256').update(`consent:${id}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** bank-a's consent records for the term-deposit purpose (customer_id,purpose,status,expires_at). */
export function consentCsv(now: Date): string {
  const table = readCsv(MARKETING_VERTICAL[0]!.file);
  const at = table.header.indexOf('national_id');
  const expires = new Date(now.getTime() + 365 * 86_400_000).toISOString();
  const lines = ['customer_id,purpose,status,expires_at'];
  for (const row of table.rows) {
    const u = draw(row[at]!);
    if (u < 0.85) lines.push(`${row[at]},${TERM_DEPOSIT.purpose},granted,${expires}`);
    else if (u < 0.93) lines.push(`${row[at]},${TERM_DEPOSIT.purpose},withdrawn,`);
  }
  return `${lines.join('\n')}\n`;
}

/** The risk team's limits for the product: rates in percent a year, and the highest probability of default. */
export const TERM_DEPOSIT_LIMITS = { floor: 1.5, ceiling: 2.6, maxProbabilityOfDefault: 0.08 } as const;

/**
 * The campaign as bank-a's marketing team writes it. Tiers: V0 overdue (in default), then by balance V1 (negative)
 * to V5 (20 000 and more); the offered rate is the guidance rate less a discount that shrinks as the tier rises and
 * as the customer's past contribution (here the balance) grows, within the risk team's floor and ceiling.
 */
export function termDepositCampaign(models: {
  readonly propensity: string;
  readonly risk: string;
  readonly screening?: string;
}): Record<string, unknown> {
  const notOverdue = { default: { notIn: ['yes'] } };
  return {
    name: 'term-deposit-q1',
    product: TERM_DEPOSIT.product,
    channels: ['app', 'sms', 'phone'],
    population: { dataset: MARKETING_VERTICAL[0]!.dataset },
    propensity: { model: models.propensity, minScore: 0.15 },
    risk: { model: models.risk, maxProbabilityOfDefault: 0.05 },
    consentPurpose: TERM_DEPOSIT.purpose,
    caps: [
      { scope: 'customer', max: 2, days: 30 },
      { scope: 'channel', channel: 'sms', max: 1, days: 7 },
    ],
    exclusions: {
      ...(models.screening ? { fraudScreening: models.screening } : {}),
      overdue: { column: 'default', values: ['yes'] },
      doNotContact: true,
      minors: { minimumAge: 18, from: 'resident-id' },
    },
    tiers: [
      { tier: 'V0', when: { default: { in: ['yes'] } } },
      { tier: 'V1', when: { ...notOverdue, balance: { max: 0 } } },
      { tier: 'V2', when: { ...notOverdue, balance: { min: 0, max: 1000 } } },
      { tier: 'V3', when: { ...notOverdue, balance: { min: 1000, max: 5000 } } },
      { tier: 'V4', when: { ...notOverdue, balance: { min: 5000, max: 20000 } } },
      { tier: 'V5', when: { ...notOverdue, balance: { min: 20000 } } },
    ],
    pricing: {
      guidanceRate: 2.6,
      tierDiscount: { V0: 1, V1: 0.6, V2: 0.4, V3: 0.25, V4: 0.1, V5: 0 },
      contribution: {
        column: 'balance',
        bands: [
          { from: 0, discount: 0.1 },
          { from: 5000, discount: 0.05 },
          { from: 20000, discount: 0 },
        ],
      },
      priceBand: 0.1,
    },
  };
}

/**
 * Lets `member` screen a whole customer base in one job: raises its OPRF evaluation and look-up rate limits in the
 * coordinator config, as a consortium operator would for a member's first screening (the daily quota on new
 * identifiers still holds).
 */
export function allowScreeningBurst(coordinatorConfig: string, member: string): void {
  const config = JSON.parse(readFileSync(coordinatorConfig, 'utf8'));
  const burst = { perSecond: 20_000, burst: 100_000 };
  config.signals.rateLimits = { perMember: { [member]: { evaluations: burst, queries: burst } } };
  writeFileSync(coordinatorConfig, JSON.stringify(config, null, 2));
}
