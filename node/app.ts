/**
 * The bank's node, built apart from listening: `buildNode(config)` wires store, audit log, coordinator link and
 * REST API; `start()` connects to the coordinator and listens; `stop()` closes everything in order.
 */
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { NodeConfig } from '../platform/config/index.js';
import { createLogger, type Logger } from '../platform/log/logger.js';
import { openSqliteNodeStore } from '../platform/store/sqlite/index.js';
import type { NodeStore } from '../platform/store/types.js';
import { isLoopbackHost, restBaseUrl } from '../platform/config/rest-listener.js';
import { warnIfReadableByOthers } from '../platform/config/secret-file.js';
import { loadRestTlsMaterial, loadTlsMaterial } from '../platform/tls/credentials.js';
import { auditTo } from '../platform/audit/audit-log.js';
import { HeadAnchoring } from '../platform/audit/anchoring.js';
import { AUDIT_ANCHOR_INTERVAL_MS } from '../primitives/audit/anchors.js';
import { AccordError } from '../primitives/errors/index.js';
import { CoordinatorLink } from './coordinator-link.js';
import { TokenAuthenticator } from './rest/auth.js';
import { buildRestApp } from './rest/app.js';
import { auditRoutes } from './rest/routes/audit.js';
import { datasetRoutes } from './rest/routes/datasets.js';
import { systemRoutes } from './rest/routes/system.js';
import { ACCORD_VERSION } from '../platform/version.js';
import { CryptoWorkerPool } from '../platform/crypto-workers/pool.js';
import { PsiClient } from './psi/psi-client.js';
import { PsiJobs } from './psi/psi-jobs.js';
import { psiRoutes } from './rest/routes/psi.js';
import { modelRoutes } from './rest/routes/models.js';
import { trainingRoutes } from './rest/routes/training.js';
import { TrainingClient } from './training/training-client.js';
import { TrainingJobs } from './training/training-jobs.js';
import { memberSigner, memberVerifier } from '../platform/tls/member-signature.js';
import { buildNodeSignals } from './signals/index.js';
import { scoringRoutes } from './rest/routes/scoring.js';
import { ScoringClient } from './scoring/scoring-client.js';
import { ScoringService } from './scoring/scoring-service.js';
import { buildCampaigns } from './campaigns/index.js';

export interface AccordNode {
  readonly rest: FastifyInstance;
  readonly store: NodeStore;
  readonly link: CoordinatorLink;
  /** Listens; returns the REST port and base URL (`https://` when `rest.tls` is set). */
  start(): Promise<{ restPort: number; restUrl: string }>;
  stop(): Promise<void>;
}

export interface BuildNodeOptions {
  /** host:port overriding `coordinator.address` (the demo learns the coordinator's port at run time). */
  readonly coordinatorAddress?: string;
  /** Overrides `rest.port` (0 = ephemeral). */
  readonly restPort?: number;
  readonly log?: Logger;
}

export const NODE_CAPABILITIES = ['consortium/v1', 'psi/v1'] as const;

export function buildNode(config: Readonly<NodeConfig>, options: BuildNodeOptions = {}): AccordNode {
  const log = options.log ?? createLogger(`node.${config.member}`);
  const tls = loadTlsMaterial(config.tls);
  if (tls.name !== config.member) {
    throw new AccordError('ACCORD_TLS_IDENTITY_MISMATCH', {
      file: config.tls.cert,
      actual: tls.name,
      expected: config.member,
    });
  }
  // Read before anything opens, so a bad REST certificate stops the node with a coded error naming the file.
  const restTls = config.rest.tls ? loadRestTlsMaterial(config.rest.tls) : null;
  warnIfReadableByOthers(config.tls.key, 'TLS key', log);
  if (config.rest.tls) warnIfReadableByOthers(config.rest.tls.key, 'REST TLS key', log);
  // Checkpoints run on a thread of their own, so a request never waits for the log to be copied (checkpointer.ts).
  const store = openSqliteNodeStore(config.store.path!, { backgroundCheckpoints: { log } });
  // openDatabase made them owner-only if it could; one it could not tighten (not ours) is worth a warning.
  warnIfReadableByOthers(dirname(config.store.path!), 'data', log);
  warnIfReadableByOthers(config.store.path!, 'database', log);
  const audit = auditTo(store.audit, log);
  const link = new CoordinatorLink(
    {
      config,
      tls,
      audit,
      auditHead: () => store.audit.head(),
      anchoring: new HeadAnchoring({
        anchors: store.anchors,
        audit,
        log,
        intervalMs: config.audit?.anchorIntervalMs ?? AUDIT_ANCHOR_INTERVAL_MS,
        now: Date.now,
        target: () => 'coordinator',
      }),
      log,
      capabilities: NODE_CAPABILITIES,
      version: ACCORD_VERSION,
    },
    options.coordinatorAddress,
  );
  // One pool of crypto worker threads per node, for PSI and for large fraud-signal batches.
  const pool = new CryptoWorkerPool(config.psi.workers > 0 ? { size: config.psi.workers } : {});
  const signals = buildNodeSignals(config, {
    tls,
    coordinatorAddress: link.address,
    settings: store.settings,
    screeningJobs: store.screeningJobs,
    audit,
    signalKinds: () => link.signalKinds(),
    log: log.child('signals'),
    workers: pool,
  });
  const psiClient = new PsiClient(config, tls, link.address, log.child('psi'));
  const psiJobs = new PsiJobs({ config, client: psiClient, pool, store, audit, log: log.child('psi') });
  const trainingClient = new TrainingClient(config, tls, link.address, log.child('training'));
  const trainingJobs = new TrainingJobs({
    config,
    client: trainingClient,
    store,
    audit,
    log: log.child('training'),
    signer: memberSigner(tls),
    verifier: memberVerifier(tls.caPem),
  });
  // Joint scoring: batch jobs, real-time scores, and this node's part for other banks' label holders.
  const scoringClient = new ScoringClient(config, tls, link.address, log.child('scoring'));
  const scoring = new ScoringService({
    self: config.member,
    store,
    audit,
    log: log.child('scoring'),
    transport: scoringClient,
    signer: memberSigner(tls),
    verifier: memberVerifier(tls.caPem),
  });
  // Campaigns: workflow, eligibility runs (scoring a population first when needed), consent, erasure.
  const campaigns = buildCampaigns({ store, audit, log: log.child('campaigns'), scorer: scoring });
  const rest = buildRestApp({
    routes: [
      ...systemRoutes({ member: config.member, version: ACCORD_VERSION, link }),
      ...datasetRoutes({
        datasets: store.datasets,
        inUse: async (dataset) =>
          (await psiJobs.isDatasetInUse(dataset)) ||
          campaigns.isDatasetInUse(dataset) ||
          scoring.isDatasetInUse(dataset),
        inUseNow: (dataset) => campaigns.isDatasetInUse(dataset) || scoring.isDatasetInUse(dataset),
      }),
      ...auditRoutes({
        audit: store.audit,
        anchors: store.anchors,
        coordinatorAnchors: () => link.auditAnchors(),
      }),
      ...psiRoutes({ jobs: psiJobs, store: store.psiJobs }),
      ...trainingRoutes({ jobs: trainingJobs }),
      ...modelRoutes({ models: store.models }),
      ...scoringRoutes({ scoring }),
      ...campaigns.routes,
      ...signals.routes,
    ],
    auth: new TokenAuthenticator(config.tokens),
    audit,
    log,
    version: ACCORD_VERSION,
    ...(restTls ? { https: restTls } : {}),
  });

  return {
    rest,
    store,
    link,
    async start() {
      await audit({ actor: config.member, action: 'process:start', target: '', outcome: 'ok', details: {} });
      const interrupted = await store.psiJobs.failUnfinished(
        'ACCORD_PSI_INTERRUPTED',
        'the node stopped while the PSI job was running',
      );
      if (interrupted)
        log.warn('PSI jobs interrupted by the last shutdown were marked failed', { jobs: interrupted });
      const screeningInterrupted = await store.screeningJobs.failUnfinished(
        'ACCORD_SIGNAL_SCREEN_INTERRUPTED',
      );
      if (screeningInterrupted)
        log.warn('screening jobs interrupted by the last shutdown were marked failed', {
          jobs: screeningInterrupted,
        });
      const scoringInterrupted = await scoring.recover();
      if (scoringInterrupted)
        log.warn('scoring jobs interrupted by the last shutdown were marked failed', {
          jobs: scoringInterrupted,
        });
      const trainingInterrupted = await trainingJobs.recover();
      if (trainingInterrupted)
        log.warn('training jobs interrupted by the last shutdown were marked failed', {
          jobs: trainingInterrupted,
        });
      const campaignRunsInterrupted = await campaigns.start();
      if (campaignRunsInterrupted)
        log.warn('campaign runs interrupted by the last shutdown were marked failed', {
          runs: campaignRunsInterrupted,
        });
      link.start();
      psiJobs.start();
      trainingJobs.start();
      scoringClient.subscribe({
        onEvent: (event) => scoring.onEvent(event),
        onDisconnect: () => undefined,
      });
      await signals.start();
      if (!restTls && !isLoopbackHost(config.rest.host)) {
        log.warn('REST API serves plain HTTP on a non-loopback address (rest.insecurePlainHttp)', {
          host: config.rest.host,
          risk: 'bearer tokens cross the network in clear unless a TLS-terminating proxy fronts the node',
        });
      }
      await rest.listen({ host: config.rest.host, port: options.restPort ?? config.rest.port });
      const address = rest.server.address();
      const restPort = typeof address === 'object' && address ? address.port : 0;
      const restUrl = restBaseUrl(config.rest, restPort);
      log.info('node REST API listening', {
        url: restUrl,
        scheme: restTls ? 'https' : 'http',
        clientCertificates: Boolean(restTls?.ca),
      });
      return { restPort, restUrl };
    },
    async stop() {
      await campaigns.stop();
      await psiJobs.stop();
      psiClient.close();
      await trainingJobs.stop();
      trainingClient.close();
      await scoring.stop();
      scoringClient.close();
      signals.close();
      await pool.close();
      link.stop();
      await rest.close();
      await audit({
        actor: config.member,
        action: 'process:stop',
        target: '',
        outcome: 'ok',
        details: {},
      }).catch(() => undefined);
      await store.close();
    },
  };
}
