/**
 * Campaign runs: from an approved campaign to an eligibility list, one run at a time on a node (each run counts the
 * contacts of the runs before it, so two at once would each miss the other's).
 *
 *  1. `start` checks, before anything is written: no run is running; the campaign is approved and unchanged since
 *     (campaign-service.ts `runnable`, which re-checks models, tiers and limits); the population has consent data
 *     for the campaign's purpose; a named screening job is done and of the population's identifier kind; each model
 *     has a finished scoring of the population's current version (DatasetInfo.version), or a scorer is wired to
 *     produce one. It then records the run (state running) and answers at once; the rest happens in the background.
 *     From the moment the population is known the dataset is in use: a replace-import is refused, also inside the
 *     import's commit (node/app.ts `inUseNow`).
 *  The run is bound to that version of the population: every scoring job it uses must have scored it
 *  (ACCORD_CAMPAIGN_SCORES_STALE otherwise) and the engine reads that version or fails
 *  (ACCORD_DATASET_VERSION_CHANGED), so a re-import can never pair one customer's row with another's score.
 *  2. Scoring (phase `scoring`), if needed, through the injected `CampaignScorer`.
 *  3. The eligibility pass (phase `deciding`, run-engine.ts) with progress in the run record.
 *  4. Done: the funnel and the exact inputs (campaign version and digest, model and scoring-job ids, fingerprints of
 *     the population and of both scorings, screening job, limits, run time) are stored with the run; from then on its
 *     contacts count against caps. Any failure, or a crash (found by `recover` at the next start), fails the run
 *     and deletes its decisions and contacts.
 */
import { randomUUID } from 'node:crypto';
import type { Audit } from '../../platform/audit/audit-log.js';
import type { Logger } from '../../platform/log/logger.js';
import type {
  CampaignRunRecord,
  CampaignRunStore,
  ConsentStore,
  DoNotContactStore,
  PricingLimits,
  RunInputs,
  StoredDecision,
} from '../../platform/store/campaign-types.js';
import type { ScoreStore, ScoringJobRecord } from '../../platform/store/scoring-types.js';
import type { ScreeningJobStore } from '../../platform/store/screening-types.js';
import type { DatasetInfo, DatasetStore } from '../../platform/store/types.js';
import { REASON_KEY, reasonRule, reasonText, reasonTexts } from '../../primitives/campaigns/reasons.js';
import { RULES, rulesPassed } from '../../primitives/campaigns/rules.js';
import type { AgeSource, CampaignSpec } from '../../primitives/campaigns/spec.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import { isIdKind, normaliseId } from '../../primitives/identity/normalise.js';
import type { Caller } from '../rest/route.js';
import { actorOf, type CampaignService } from './campaign-service.js';
import { recheckPage } from './list-recheck.js';
import { decidePopulation } from './run-engine.js';

/** Produces a finished scoring of a dataset with a model when none is fresh (wired to the scoring service). */
export interface CampaignScorer {
  ensure(modelId: string, dataset: string, requestedBy: string): Promise<ScoringJobRecord>;
}

export interface CampaignRunsDeps {
  readonly service: CampaignService;
  readonly datasets: DatasetStore;
  readonly scores: ScoreStore;
  readonly consent: ConsentStore;
  readonly doNotContact: DoNotContactStore;
  readonly runs: CampaignRunStore;
  readonly screeningJobs: ScreeningJobStore;
  readonly audit: Audit;
  readonly log: Logger;
  readonly scorer?: CampaignScorer | undefined;
  /** The clock (ms); tests move it to judge expiry and contact windows. */
  readonly now?: () => number;
}

/** What a decision says to a marketer: rules passed, the first failed and why, tier, scores, price, channel. */
export interface DecisionView {
  readonly run: string;
  readonly campaign: string;
  readonly version: number;
  readonly customerId: string;
  readonly eligible: boolean;
  readonly rules: readonly { readonly rule: string; readonly applied: boolean; readonly passed: boolean }[];
  readonly passed: readonly string[];
  readonly firstFailed: { readonly rule: string; readonly reason: string; readonly text: string } | null;
  readonly reasons: readonly string[];
  readonly tier: string | null;
  readonly scores: { readonly propensity: number | null; readonly risk: number | null };
  readonly price: number | null;
  readonly channel: string | null;
}

/** What `start` checked and resolved, handed to the background part of the run. */
interface RunPlan {
  readonly spec: CampaignSpec;
  readonly dataset: DatasetInfo;
  readonly jobs: { readonly propensity: ScoringJobRecord | null; readonly risk: ScoringJobRecord | null };
  readonly fraudHits: Set<string> | null;
  readonly ageSource: AgeSource;
  readonly limits: PricingLimits;
}

/** Whether a scoring job is finished and scored the very version of the dataset the run reads (scores are keyed by
 * row key, and a re-import gives the row keys to other customers). */
function fresh(job: ScoringJobRecord | null, dataset: DatasetInfo): boolean {
  return job !== null && job.state === 'done' && job.datasetVersion === dataset.version;
}

export class CampaignRuns {
  /** The running run's id ('starting' while one is being checked), and the dataset it reads. */
  private active: string | null = null;
  private activeDataset: string | null = null;
  private stopping = false;
  private readonly settled = new Map<string, Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly deps: CampaignRunsDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** At start-up: runs a crash left running fail, their decisions and contacts removed; returns how many. */
  async recover(): Promise<number> {
    const error = new AccordError('ACCORD_CAMPAIGN_RUN_INTERRUPTED');
    return this.deps.runs.failUnfinished(error.code, error.message);
  }

  /** The dataset a running run reads (it may not be replaced meanwhile). */
  isDatasetInUse(dataset: string): boolean {
    return this.activeDataset === dataset;
  }

  /** Checks and starts a run (see the module comment); answers the running run at once. */
  async start(campaignId: string, caller: Caller): Promise<CampaignRunRecord> {
    if (this.stopping) throw new AccordError('ACCORD_CAMPAIGN_RUN_INTERRUPTED');
    if (this.active) throw new AccordError('ACCORD_CAMPAIGN_RUN_ACTIVE', { run: this.active });
    this.active = 'starting';
    let created: string | null = null;
    try {
      const stale = await this.deps.runs.running();
      if (stale) throw new AccordError('ACCORD_CAMPAIGN_RUN_ACTIVE', { run: stale.id });
      const { version, checked } = await this.deps.service.runnable(campaignId);
      const { spec, dataset } = checked;
      // From here the dataset is in use: a replace is refused (also inside its commit), and one that slipped in
      // since `runnable` read the dataset is caught by the version checks (scores here, rows in the engine).
      this.activeDataset = dataset.name;
      if (!(await this.deps.consent.anyForDataset(spec.consentPurpose, dataset.name)))
        throw new AccordError('ACCORD_CAMPAIGN_CONSENT_MISSING', {
          dataset: dataset.name,
          purpose: spec.consentPurpose,
        });
      const fraudHits = await this.fraudHits(spec, dataset);
      const jobs = {
        propensity: await this.deps.scores.latestDone(spec.propensity.model, dataset.name),
        risk: await this.deps.scores.latestDone(spec.risk.model, dataset.name),
      };
      for (const slot of ['propensity', 'risk'] as const) {
        const job = jobs[slot];
        if (!fresh(job, dataset) && !this.deps.scorer)
          throw new AccordError('ACCORD_CAMPAIGN_SCORES_MISSING', {
            field: `${slot}.model`,
            model: spec[slot].model,
            dataset: dataset.name,
            problem: job ? ` (version ${dataset.version})` : '',
          });
      }
      const needsScoring = !fresh(jobs.propensity, dataset) || !fresh(jobs.risk, dataset);
      const run: CampaignRunRecord = {
        id: randomUUID(),
        campaign: campaignId,
        version: version.version,
        digest: version.digest,
        state: 'running',
        phase: needsScoring ? 'scoring' : 'deciding',
        processed: 0,
        total: dataset.rowCount,
        inputs: null,
        funnel: null,
        startedBy: caller.label,
        errorCode: null,
        errorMessage: null,
        createdAt: new Date(this.now()).toISOString(),
        finishedAt: null,
      };
      await this.deps.runs.create(run);
      created = run.id;
      this.active = run.id;
      await this.deps.audit({
        actor: actorOf(caller),
        action: 'campaign-run:start',
        target: `campaign-run:${run.id}`,
        outcome: 'ok',
        details: { campaign: campaignId, version: version.version, digest: version.digest },
      });
      this.settled.set(
        run.id,
        this.execute(run, caller, {
          spec,
          dataset,
          jobs,
          fraudHits,
          ageSource: checked.ageSource,
          limits: checked.limits!,
        }),
      );
      return run;
    } catch (err) {
      // Nothing runs yet: a run recorded before the failure (its audit entry could not be written) ends failed.
      if (created) await this.deps.runs.fail(created, toAccordError(err)).catch(() => undefined);
      this.active = null;
      this.activeDataset = null;
      throw err;
    }
  }

  /** Resolves when the run has ended (done or failed); for the CLI, the demo and tests. */
  async wait(runId: string): Promise<CampaignRunRecord> {
    await this.settled.get(runId);
    return this.get(runId);
  }

  async get(runId: string, campaignId?: string): Promise<CampaignRunRecord> {
    const run = await this.deps.runs.get(runId);
    if (!run || (campaignId !== undefined && run.campaign !== campaignId))
      throw new AccordError('ACCORD_CAMPAIGN_RUN_NOT_FOUND', { campaign: campaignId ?? '?', run: runId });
    return run;
  }

  list(campaignId: string, limit: number): Promise<CampaignRunRecord[]> {
    return this.deps.runs.list(campaignId, limit);
  }

  /** A done run and the campaign spec it used. */
  async finished(campaignId: string, runId: string): Promise<{ run: CampaignRunRecord; spec: CampaignSpec }> {
    const run = await this.get(runId, campaignId);
    if (run.state !== 'done')
      throw new AccordError('ACCORD_CAMPAIGN_RUN_NOT_DONE', {
        campaign: campaignId,
        run: runId,
        state: run.state,
      });
    const version = await this.deps.service.version(campaignId, run.version);
    return { run, spec: version.spec };
  }

  /** Why a customer is or is not on a run's list, re-checked against consent and do-not-contact now. */
  async decision(campaignId: string, runId: string, customerId: string): Promise<DecisionView> {
    const { run, spec } = await this.finished(campaignId, runId);
    const stored = await this.deps.runs.decision(runId, customerId);
    if (!stored) throw new AccordError('ACCORD_CAMPAIGN_DECISION_NOT_FOUND', { run: runId });
    // As it stands now: consent withdrawn or a do-not-contact request since the run take the customer off the list.
    const [d] = await recheckPage({ ...this.deps, now: this.now }, spec, [stored]);
    return decisionView(run, spec, d!);
  }

  /** Whether a run is writing now (erasure waits for it to end). */
  activeRun(): string | null {
    return this.active;
  }

  /** At shutdown: a running run stops after its current batch and fails cleanly (decisions and contacts removed). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.settled.values()]);
  }

  private async fraudHits(spec: CampaignSpec, dataset: DatasetInfo): Promise<Set<string> | null> {
    const jobId = spec.exclusions.fraudScreening;
    if (!jobId) return null;
    const job = await this.deps.screeningJobs.get(jobId);
    const refuse = (problem: string) =>
      new AccordError('ACCORD_CAMPAIGN_SCREENING_INVALID', { job: jobId, problem });
    if (!job) throw refuse('does not exist (or was pruned)');
    if (job.state !== 'done') throw refuse(`is ${job.state}, not done`);
    if (job.idKind !== dataset.idKind)
      throw refuse(`screened identifiers of kind ${job.idKind}, the population's are ${dataset.idKind}`);
    const hits = new Set<string>();
    for (const hit of job.hits) {
      try {
        hits.add(isIdKind(job.idKind) ? normaliseId(job.idKind, hit.id) : hit.id.trim());
      } catch {
        // A hit the coordinator answered was normalised when submitted; one that no longer is cannot match.
      }
    }
    return hits;
  }

  private async scoringFor(
    slot: 'propensity' | 'risk',
    model: string,
    current: ScoringJobRecord | null,
    dataset: DatasetInfo,
    caller: Caller,
  ): Promise<ScoringJobRecord> {
    if (current && fresh(current, dataset)) return current;
    const job = await this.deps.scorer!.ensure(model, dataset.name, caller.label);
    if (job.state !== 'done')
      throw new AccordError('ACCORD_CAMPAIGN_SCORES_MISSING', {
        field: `${slot}.model`,
        model,
        dataset: dataset.name,
        problem: ` (its scoring job ${job.id} ${job.state}${job.errorCode ? `: ${job.errorCode}` : ''})`,
      });
    if (!fresh(job, dataset))
      throw new AccordError('ACCORD_CAMPAIGN_SCORES_STALE', {
        field: `${slot}.model`,
        job: job.id,
        model,
        dataset: dataset.name,
        version: dataset.version,
        scored: job.datasetVersion ?? 'none',
      });
    return job;
  }

  /** Never rejects: every failure ends the run with a coded error and removes its decisions and contacts. */
  private async execute(run: CampaignRunRecord, caller: Caller, plan: RunPlan): Promise<void> {
    const { spec, dataset, jobs, fraudHits, ageSource, limits } = plan;
    const started = this.now();
    try {
      const propensityJob = await this.scoringFor(
        'propensity',
        spec.propensity.model,
        jobs.propensity,
        dataset,
        caller,
      );
      const riskJob = await this.scoringFor('risk', spec.risk.model, jobs.risk, dataset, caller);
      const runAt = this.now();
      const inputs: RunInputs = {
        runAt: new Date(runAt).toISOString(),
        population: {
          dataset: dataset.name,
          rows: dataset.rowCount,
          version: dataset.version,
          importedAt: dataset.importedAt,
          fingerprint: null,
        },
        models: {
          propensity: {
            model: spec.propensity.model,
            scoringJob: propensityJob.id,
            fingerprint: propensityJob.fingerprint,
          },
          risk: { model: spec.risk.model, scoringJob: riskJob.id, fingerprint: riskJob.fingerprint },
        },
        screeningJob: spec.exclusions.fraudScreening ?? null,
        limits: {
          floor: limits.floor,
          ceiling: limits.ceiling,
          maxProbabilityOfDefault: limits.maxProbabilityOfDefault,
        },
      };
      await this.deps.runs.begin(run.id, inputs, dataset.rowCount);
      const result = await decidePopulation(
        {
          runId: run.id,
          spec,
          dataset,
          ageSource,
          limits,
          runAt,
          propensityJob: propensityJob.id,
          riskJob: riskJob.id,
          fraudHits,
          stopping: () => this.stopping,
        },
        this.deps,
      );
      const done = await this.deps.runs.complete(run.id, result.funnel, {
        ...inputs,
        population: { ...inputs.population, fingerprint: result.fingerprint },
      });
      await this.deps.audit({
        actor: actorOf(caller),
        action: 'campaign-run:done',
        target: `campaign-run:${run.id}`,
        outcome: 'ok',
        details: {
          campaign: run.campaign,
          population: result.rows,
          eligible: done.funnel?.eligible ?? 0,
          seconds: Math.round((this.now() - started) / 100) / 10,
        },
      });
    } catch (err) {
      const error = toAccordError(err);
      if (error.code === 'ACCORD_INTERNAL') this.deps.log.error('campaign run failed', { run: run.id, err });
      try {
        await this.deps.runs.fail(run.id, { code: error.code, message: error.message });
        await this.deps.audit({
          actor: actorOf(caller),
          action: 'campaign-run:done',
          target: `campaign-run:${run.id}`,
          outcome: 'failed',
          details: { campaign: run.campaign, code: error.code },
        });
      } catch (storeErr) {
        // Left running in the store: the next start fails it and removes its decisions (recover()).
        this.deps.log.error('campaign run failure could not be stored', { run: run.id, err: storeErr });
      }
    } finally {
      this.active = null;
      this.activeDataset = null;
    }
  }
}

/** Renders a stored decision for people (reasons.ts), against the campaign version the run used. */
export function decisionView(run: CampaignRunRecord, spec: CampaignSpec, d: StoredDecision): DecisionView {
  const applied = new Map(run.funnel?.steps.map((s) => [s.rule, s.applied]) ?? []);
  const context = { spec, propensity: d.propensity, risk: d.risk, cap: d.cap >= 0 ? d.cap : null };
  const rule = reasonRule(d.reason);
  return {
    run: run.id,
    campaign: run.campaign,
    version: run.version,
    customerId: d.customerId,
    eligible: d.reason === 0,
    rules: RULES.map((r, i) => ({
      rule: r,
      applied: applied.get(r) ?? true,
      passed: (d.passed & (1 << i)) !== 0,
    })),
    passed: rulesPassed(d.passed),
    firstFailed: rule
      ? { rule, reason: REASON_KEY[d.reason] ?? String(d.reason), text: reasonText(d.reason, context) }
      : null,
    reasons: reasonTexts(d.passed, d.reason, context),
    tier: spec.tiers[d.tier]?.tier ?? null,
    scores: { propensity: d.propensity, risk: d.risk },
    price: d.price,
    channel: d.channel >= 0 ? (spec.channels[d.channel] ?? null) : null,
  };
}
