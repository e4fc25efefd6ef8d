/**
 * The node's campaign side, built from its store: the campaign workflow (campaign-service.ts), runs and their
 * eligibility lists (campaign-runs.ts, run-engine.ts, export.ts), consent and do-not-contact (consent-service.ts) and
 * erasure (erasure.ts), with their REST routes. One in-process API for the REST routes, the CLI and the demo:
 *
 *   const campaigns = buildCampaigns({ store, audit, log, scorer });
 *   await campaigns.start();                              // pseudonym key; runs a crash interrupted fail
 *   const c = await campaigns.service.create(spec, marketing);
 *   await campaigns.service.submit(c.id, marketing);
 *   await campaigns.service.approve(c.id, reviewer);
 *   const run = await campaigns.runs.start(c.id, marketing);
 *   const done = await campaigns.runs.wait(run.id);       // done.funnel
 *   const why = await campaigns.runs.decision(c.id, run.id, customerId);
 *   const list = await campaigns.exportRun(c.id, run.id, 'csv', false);   // a Readable
 */
import type { Readable } from 'node:stream';
import type { Audit } from '../../platform/audit/audit-log.js';
import type { Logger } from '../../platform/log/logger.js';
import type { NodeStore } from '../../platform/store/types.js';
import type { Caller, RouteSpec } from '../rest/route.js';
import { campaignRoutes } from '../rest/routes/campaigns.js';
import { consentRoutes } from '../rest/routes/consent.js';
import { customerRoutes } from '../rest/routes/customers.js';
import { CampaignRuns, type CampaignScorer } from './campaign-runs.js';
import { CampaignService } from './campaign-service.js';
import { ConsentService } from './consent-service.js';
import { CustomerPseudonyms } from './customer-pseudonyms.js';
import { type ErasureResult, eraseCustomer } from './erasure.js';
import { type ExportFormat, exportDecisions } from './export.js';

export type { CampaignScorer } from './campaign-runs.js';

export interface CampaignsDeps {
  readonly store: NodeStore;
  readonly audit: Audit;
  readonly log: Logger;
  /** Produces missing scorings at run time (the scoring service); without it a run needs fresh scores. */
  readonly scorer?: CampaignScorer | undefined;
  /** The clock (ms), for tests of expiry and contact windows. */
  readonly now?: () => number;
}

export interface NodeCampaigns {
  readonly service: CampaignService;
  readonly runs: CampaignRuns;
  readonly consent: ConsentService;
  readonly pseudonyms: CustomerPseudonyms;
  readonly routes: RouteSpec[];
  /** Deletes a customer's scores, decisions, consent and contacts (see erasure.ts). */
  erase(customerId: string, caller: Caller): Promise<ErasureResult>;
  /** Streams a done run's list. */
  exportRun(
    campaignId: string,
    runId: string,
    format: ExportFormat,
    eligibleOnly: boolean,
  ): Promise<Readable>;
  /** Whether a running run reads the dataset (it may not be replaced meanwhile). */
  isDatasetInUse(dataset: string): boolean;
  /** Loads the pseudonym key and fails the runs a crash interrupted; returns how many. Call before serving. */
  start(): Promise<number>;
  /** Stops a running run after its current batch (it fails cleanly) and waits for it. */
  stop(): Promise<void>;
}

export function buildCampaigns(deps: CampaignsDeps): NodeCampaigns {
  const { store, audit, log } = deps;
  const now = deps.now ?? Date.now;
  const service = new CampaignService({
    datasets: store.datasets,
    models: store.models,
    campaigns: store.campaigns,
    audit,
  });
  const runs = new CampaignRuns({
    service,
    datasets: store.datasets,
    scores: store.scores,
    consent: store.consent,
    doNotContact: store.doNotContact,
    runs: store.campaignRuns,
    screeningJobs: store.screeningJobs,
    audit,
    log,
    scorer: deps.scorer,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const pseudonyms = new CustomerPseudonyms(store.settings);
  const consent = new ConsentService({
    consent: store.consent,
    doNotContact: store.doNotContact,
    audit,
    pseudonyms,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const part: Omit<NodeCampaigns, 'routes'> = {
    service,
    runs,
    consent,
    pseudonyms,
    erase: (customerId, caller) =>
      eraseCustomer(
        {
          erasure: store.erasure,
          runs: store.campaignRuns,
          doNotContact: store.doNotContact,
          audit,
          pseudonyms,
          activeRun: () => runs.activeRun(),
        },
        customerId,
        caller,
      ),
    async exportRun(campaignId, runId, format, eligibleOnly) {
      const { spec } = await runs.finished(campaignId, runId);
      return exportDecisions(
        { runs: store.campaignRuns, consent: store.consent, doNotContact: store.doNotContact, now, log },
        runId,
        spec,
        format,
        eligibleOnly,
      );
    },
    isDatasetInUse: (dataset) => runs.isDatasetInUse(dataset),
    async start() {
      await pseudonyms.init();
      return runs.recover();
    },
    stop: () => runs.stop(),
  };
  return {
    ...part,
    routes: [...campaignRoutes(part), ...consentRoutes(part), ...customerRoutes(part)],
  };
}
