/**
 * The eligibility pass of a campaign run: one ordered stream over the population, decided batch by batch.
 *
 * Flow, per batch of BATCH_ROWS customers in row-key order:
 *   1. the population's ids and the few columns the campaign reads (tiers, overdue, contribution, age) come from one
 *      ordered range scan of the dataset version the run is bound to (`iterateColumns` fails with
 *      ACCORD_DATASET_VERSION_CHANGED if another is ready: the scores below are keyed by that version's row keys);
 *   2. the propensity and risk scores come from the two scoring jobs' streams, also in row-key order, merged in by
 *      row key (a key a vertical model did not score reads as "no score");
 *   3. consent states, do-not-contact marks and past contacts of finished runs come from one query each for the
 *      whole batch (never one per customer);
 *   4. each customer is decided (primitives/campaigns/rules.ts), given a tier, and if eligible a price and the first
 *      channel its caps allow;
 *   5. the batch's decisions and its eligible customers' contacts are written in one transaction with the progress.
 * Memory holds one batch, the funnel's counters and the screening job's hits (at most its batch size), never the
 * population.
 *
 * What the pass reads and writes is this bank's own: its dataset, the scores this node computed (for a joint model,
 * the label holder's joint score; partners' raw data never reach it), its consent and contact records. The funnel
 * and the progress are counts.
 */
import { createHash } from 'node:crypto';
import type {
  CampaignRunStore,
  ConsentStore,
  DoNotContactStore,
  PricingLimits,
} from '../../platform/store/campaign-types.js';
import type { ScoreBatch, ScoreStore } from '../../platform/store/scoring-types.js';
import type { Cell, DatasetInfo, DatasetStore } from '../../platform/store/types.js';
import {
  adultByAge,
  adultByBirth,
  dayOf,
  isoBirthDate,
  residentIdBirthDate,
} from '../../primitives/campaigns/age.js';
import { compileCaps, type ContactEvent } from '../../primitives/campaigns/caps.js';
import { type Funnel, FunnelCounter } from '../../primitives/campaigns/funnel.js';
import { compilePricing } from '../../primitives/campaigns/pricing.js';
import { type CustomerFacts, decide, REASON, type RuleName } from '../../primitives/campaigns/rules.js';
import { type AgeSource, type CampaignSpec, MINIMUM_AGE } from '../../primitives/campaigns/spec.js';
import { compileTiers, matches } from '../../primitives/campaigns/tiers.js';
import { AccordError } from '../../primitives/errors/index.js';
import { type IdKind, isIdKind, normaliseId } from '../../primitives/identity/normalise.js';

/** Customers decided per batch (one transaction each). */
export const BATCH_ROWS = 5_000;

export interface EligibilityPlan {
  readonly runId: string;
  readonly spec: CampaignSpec;
  readonly dataset: DatasetInfo;
  readonly ageSource: AgeSource;
  readonly limits: Pick<PricingLimits, 'floor' | 'ceiling'>;
  /** The run's time (ms): consent expiry, ages and contact windows are judged at it. */
  readonly runAt: number;
  readonly propensityJob: string;
  readonly riskJob: string;
  /** Normalised identifiers of the screening job's hits, or null when the campaign names none. */
  readonly fraudHits: ReadonlySet<string> | null;
  /** Checked between batches: true when the node is stopping (the run then fails and is removed). */
  readonly stopping?: () => boolean;
}

export interface EligibilityDeps {
  readonly datasets: DatasetStore;
  readonly scores: ScoreStore;
  readonly consent: ConsentStore;
  readonly doNotContact: DoNotContactStore;
  readonly runs: CampaignRunStore;
}

export interface EligibilityResult {
  readonly funnel: Funnel;
  readonly rows: number;
  /** SHA-256 over the row keys, identifiers and cells the pass read. */
  readonly fingerprint: string;
}

/** Reads a scoring job's stream beside the population: `fill` gives each population row its score or NaN. */
class ScoreCursor {
  private batch: ScoreBatch | null = null;
  private at = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<ScoreBatch>) {}

  async fill(rowKeys: readonly number[], out: Float64Array): Promise<void> {
    for (let i = 0; i < rowKeys.length; i++) {
      const key = rowKeys[i]!;
      out[i] = Number.NaN;
      for (;;) {
        if (!this.batch || this.at >= this.batch.rowKeys.length) {
          if (this.done) break;
          const next = await this.source.next();
          if (next.done) {
            this.done = true;
            break;
          }
          this.batch = next.value;
          this.at = 0;
          continue;
        }
        const scoreKey = this.batch.rowKeys[this.at]!;
        if (scoreKey < key) this.at++;
        else {
          if (scoreKey === key) out[i] = this.batch.scores[this.at++]!;
          break;
        }
      }
    }
  }
}

/** The columns the pass reads, each once, and where each rule finds its own. */
function columnsRead(spec: CampaignSpec, tierColumns: readonly string[], age: AgeSource) {
  const columns = [...tierColumns];
  const at = (name: string | undefined): number => {
    if (name === undefined) return -1;
    const i = columns.indexOf(name);
    if (i >= 0) return i;
    columns.push(name);
    return columns.length - 1;
  };
  const overdue = at(spec.exclusions.overdue?.column);
  const contribution = at(spec.pricing.contribution?.column);
  const ageColumn = age === 'resident-id' ? -1 : at('ageColumn' in age ? age.ageColumn : age.birthDateColumn);
  return { columns, overdue, contribution, ageColumn };
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Decides every customer of the population and writes the decisions (see the module comment). */
export async function decidePopulation(
  plan: EligibilityPlan,
  deps: EligibilityDeps,
): Promise<EligibilityResult> {
  const { spec, dataset, runAt } = plan;
  const tiers = compileTiers(spec.tiers);
  const read = columnsRead(spec, tiers.columns, plan.ageSource);
  const pricing = compilePricing(
    spec.pricing,
    spec.tiers.map((t) => t.tier),
    plan.limits,
  );
  const caps = compileCaps(spec.caps, spec.channels, runAt);
  const applied: Record<RuleName, boolean> = {
    consent: true,
    adult: true,
    // Protective: always applied, whatever a stored spec says (the spec schema allows nothing else).
    'do-not-contact': true,
    fraud: plan.fraudHits !== null,
    overdue: spec.exclusions.overdue !== undefined,
    scores: true,
    propensity: true,
    risk: true,
    'contact-cap': caps.hasCaps,
  };
  const funnel = new FunnelCounter(
    spec.tiers.map((t) => t.tier),
    spec.channels,
    applied,
    spec.pricing.priceBand,
  );
  const thresholds = {
    minScore: spec.propensity.minScore,
    maxProbabilityOfDefault: spec.risk.maxProbabilityOfDefault,
  };
  const overdue = spec.exclusions.overdue ? { in: spec.exclusions.overdue.values } : null;
  const minimumAge = Math.max(MINIMUM_AGE, spec.exclusions.minors.minimumAge);
  const runDay = dayOf(runAt);
  const idKind: IdKind | null = isIdKind(dataset.idKind) ? dataset.idKind : null;
  const normalised = (id: string): string | null => {
    try {
      return idKind ? normaliseId(idKind, id) : id.trim();
    } catch {
      return null;
    }
  };
  const propensity = new ScoreCursor(
    deps.scores.iterate(plan.propensityJob, BATCH_ROWS)[Symbol.asyncIterator](),
  );
  const risk = new ScoreCursor(deps.scores.iterate(plan.riskJob, BATCH_ROWS)[Symbol.asyncIterator]());
  const hash = createHash('sha256');
  const tierCells: Cell[] = new Array(tiers.columns.length);
  let rows = 0;

  const population = deps.datasets.iterateColumns(dataset.name, read.columns, BATCH_ROWS, dataset.version);
  for await (const batch of population) {
    const n = batch.rowKeys.length;
    const ids = batch.ids;
    const propensityScores = new Float64Array(n);
    const riskScores = new Float64Array(n);
    await propensity.fill(batch.rowKeys, propensityScores);
    await risk.fill(batch.rowKeys, riskScores);
    const consent = await deps.consent.statesOf(spec.consentPurpose, ids, runAt);
    const listed = await deps.doNotContact.listedOf(ids);
    const history = new Map<number, ContactEvent[]>();
    if (caps.hasCaps) {
      for (const c of await deps.runs.contactsOf(ids, caps.since)) {
        const list = history.get(c.index);
        if (list) list.push(c);
        else history.set(c.index, [c]);
      }
    }
    const decisions = {
      rowKeys: batch.rowKeys,
      customerIds: ids,
      passed: new Int32Array(n),
      reason: new Int32Array(n),
      cap: new Int32Array(n),
      tier: new Int32Array(n),
      propensity: propensityScores,
      risk: riskScores,
      price: new Float64Array(n),
      channel: new Int32Array(n),
    };
    const contacts = { atMs: runAt, customerIds: [] as string[], channels: [] as string[] };
    const fingerprintLines = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      const cells = batch.columns;
      let line = `${batch.rowKeys[i]}\t${id}`;
      for (let c = 0; c < cells.length; c++) line += `\t${JSON.stringify(cells[c]![i] ?? null)}`;
      fingerprintLines[i] = line;
      for (let c = 0; c < tierCells.length; c++) tierCells[c] = cells[c]![i] ?? null;
      const tier = tiers.tierOf(tierCells);
      // Coverage was checked against the schema; a row in no tier means that check and this data disagree, and the
      // run must not decide (or price) anyone on a guess.
      if (tier < 0)
        throw new AccordError('ACCORD_CAMPAIGN_TIER_UNMATCHED', {
          dataset: dataset.name,
          line: batch.rowKeys[i]!,
        });
      const adult =
        plan.ageSource === 'resident-id'
          ? adultByBirth(residentIdBirthDate(id), runDay, minimumAge)
          : 'ageColumn' in plan.ageSource
            ? adultByAge(cells[read.ageColumn]![i], minimumAge)
            : adultByBirth(isoBirthDate(cells[read.ageColumn]![i]), runDay, minimumAge);
      const fraudFlag =
        plan.fraudHits !== null && plan.fraudHits.size > 0 && plan.fraudHits.has(normalised(id) ?? '');
      const cap = caps.evaluate(history.get(i));
      const facts: CustomerFacts = {
        consent: consent[i]! as CustomerFacts['consent'],
        adult,
        doNotContact: listed[i] === 1,
        fraudFlag,
        overdue: overdue !== null && matches(overdue, cells[read.overdue]![i] ?? null),
        propensity: propensityScores[i]!,
        risk: riskScores[i]!,
        cap,
      };
      const d = decide(facts, thresholds);
      decisions.passed[i] = d.passed;
      decisions.reason[i] = d.reason;
      decisions.cap[i] = d.reason === REASON.CAP_CUSTOMER ? cap.cap : -1;
      decisions.tier[i] = tier;
      if (d.reason === 0) {
        const contribution = read.contribution >= 0 ? cells[read.contribution]![i] : null;
        const price = pricing.priceOf(tier, typeof contribution === 'number' ? contribution : null);
        decisions.price[i] = price;
        decisions.channel[i] = cap.channel;
        contacts.customerIds.push(id);
        contacts.channels.push(spec.channels[cap.channel]!);
        funnel.add(0, tier, pricing.bandOf(price), cap.channel);
      } else {
        decisions.price[i] = Number.NaN;
        decisions.channel[i] = -1;
        funnel.add(d.reason, tier, 0, -1);
      }
    }
    hash.update(`${fingerprintLines.join('\n')}\n`);
    await deps.runs.append(plan.runId, decisions, contacts);
    rows += n;
    await yieldToEventLoop();
    if (plan.stopping?.()) throw new AccordError('ACCORD_CAMPAIGN_RUN_INTERRUPTED');
  }
  if (rows !== dataset.rowCount)
    throw new AccordError('ACCORD_CAMPAIGN_POPULATION_CHANGED', {
      dataset: dataset.name,
      read: rows,
      expected: dataset.rowCount,
    });
  return { funnel: funnel.result(), rows, fingerprint: hash.digest('hex') };
}
