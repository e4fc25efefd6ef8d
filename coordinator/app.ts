/**
 * The coordinator process, built apart from listening: `buildCoordinator(config)` wires store, audit log, membership
 * and services; `start()` binds the mutual-TLS gRPC port; `stop()` drains and closes.
 */
import { CryptoWorkerPool } from '../platform/crypto-workers/pool.js';
import type { CoordinatorConfig } from '../platform/config/index.js';
import {
  auditRefusedHandshakes,
  bindServer,
  createCoordinatorServer,
  serverCredentials,
  shutdownServer,
} from '../platform/grpc/server.js';
import type { RefusedHandshakes } from '../platform/grpc/refused-handshakes.js';
import { serviceOf } from '../platform/grpc/proto.js';
import { createLogger, type Logger } from '../platform/log/logger.js';
import { openSqliteCoordinatorStore } from '../platform/store/sqlite/index.js';
import type { CoordinatorStore } from '../platform/store/types.js';
import { warnIfReadableByOthers } from '../platform/config/secret-file.js';
import { loadTlsMaterial } from '../platform/tls/credentials.js';
import { CONSORTIUM_PROTO, CONSORTIUM_SERVICE } from '../platform/wire/consortium.js';
import { auditInBackground, auditTo } from '../platform/audit/audit-log.js';
import { type PeerIdentity, revocationInterceptor } from '../platform/grpc/peer-gate.js';
import { Revocation, type RevocationSettings } from '../platform/tls/revocation.js';
import { HeadAnchoring } from '../platform/audit/anchoring.js';
import { AUDIT_ANCHOR_INTERVAL_MS } from '../primitives/audit/anchors.js';
import { COORDINATOR_NAME } from '../primitives/consortium/roles.js';
import { consortiumKinds } from '../primitives/signals/kinds.js';
import { AccordError } from '../primitives/errors/index.js';
import { consortiumService } from './consortium-service.js';
import { Membership } from './membership.js';
import { Inboxes } from './inboxes.js';
import { PsiCoordinator } from './psi/psi-service.js';
import { buildSignalsCoordinator, SIGNALS_PROTO, SIGNALS_SERVICE } from './signals/index.js';
import { PSI_PROTO, PSI_SERVICE, psiWire } from '../platform/wire/psi.js';
import { TRAINING_PROTO, TRAINING_SERVICE, trainingWire } from '../platform/wire/training.js';
import type { TrainingEvent } from '../primitives/training/job-protocol.js';
import { TrainingCoordinator } from './training/training-service.js';
import { ScoringRelay } from './scoring/scoring-relay.js';
import { SCORING_PROTO, SCORING_SERVICE, scoringWire } from '../platform/wire/scoring.js';
import type { ScoringEvent } from '../primitives/scoring/protocol.js';
import type { PsiEvent } from '../primitives/psi/session-protocol.js';
import { join } from 'node:path';

/** A revoked member's refused calls are audited at most once per this window. */
const REVOKED_AUDIT_WINDOW_MS = 60_000;

export interface Coordinator {
  readonly store: CoordinatorStore;
  /**
   * Applies a new revocation list (from the reloaded config) without a restart: from now on the members and
   * certificates it names are refused on every call, and their open streams (PSI inbox, QueryStream) end at once.
   * A list that fails to load throws its coded error and leaves the one in force.
   */
  reloadRevocation(
    settings: RevocationSettings,
  ): Promise<{ added: string[]; removed: string[]; streamsEnded: number }>;
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
}

export function buildCoordinator(
  config: Readonly<CoordinatorConfig>,
  log: Logger = createLogger('coordinator'),
): Coordinator {
  const tls = loadTlsMaterial(config.tls);
  warnIfReadableByOthers(config.tls.key, 'TLS key', log);
  if (tls.name !== COORDINATOR_NAME) {
    throw new AccordError('ACCORD_TLS_IDENTITY_MISMATCH', {
      file: config.tls.cert,
      actual: tls.name,
      expected: COORDINATOR_NAME,
    });
  }
  // Checkpoints run on a thread of their own, so a request never waits for the log to be copied (checkpointer.ts).
  const store = openSqliteCoordinatorStore(join(config.dataDir, 'coordinator.db'), {
    backgroundCheckpoints: { log },
  });
  // openDatabase made them owner-only if it could; one it could not tighten (not ours) is worth a warning.
  warnIfReadableByOthers(config.dataDir, 'data', log);
  warnIfReadableByOthers(join(config.dataDir, 'coordinator.db'), 'database', log);
  const audit = auditTo(store.audit, log);
  const membership = new Membership(config.members, config.heartbeat.offlineAfterMs);
  // One list for both services: what publish accepts is exactly what registration tells the nodes.
  const signalKinds = consortiumKinds(config.signals.extraFlagKinds);
  // Members the consortium let go: refused on every call (the gate), and their open streams ended on reload.
  const revocation = new Revocation(config.revocation, tls.caPem);
  const revoked = revocation.describe();
  if (revoked.crl?.stale) log.warn('the certificate revocation list is past its next update', revoked.crl);
  const revokedAudited = new Map<string, number>();
  const onRevokedCall = (peer: PeerIdentity, method: string) => {
    // Audited, but at most once per member per minute: a revoked node retrying must not flood the log.
    const now = Date.now();
    if (now - (revokedAudited.get(peer.member) ?? 0) < REVOKED_AUDIT_WINDOW_MS) return;
    revokedAudited.set(peer.member, now);
    auditInBackground(audit, {
      actor: peer.member,
      action: `rpc:${method}`,
      target: 'revoked',
      outcome: 'denied',
      details: { code: 'ACCORD_MEMBER_REVOKED' },
    });
  };
  // Receives at most the largest request a node sends, sends at most the largest answer (platform/grpc/limits.ts).
  const server = createCoordinatorServer([revocationInterceptor(revocation, onRevokedCall, log)]);
  let refusedHandshakes: RefusedHandshakes | null = null;
  server.addService(
    serviceOf(CONSORTIUM_PROTO, CONSORTIUM_SERVICE).service,
    consortiumService({
      membership,
      consortium: config.consortium,
      heartbeatIntervalMs: config.heartbeat.intervalMs,
      signalKinds: signalKinds.all,
      audit,
      anchoring: new HeadAnchoring({
        anchors: store.anchors,
        audit,
        log,
        intervalMs: config.audit?.anchorIntervalMs ?? AUDIT_ANCHOR_INTERVAL_MS,
        now: Date.now,
        target: (member) => `member:${member}`,
      }),
      anchors: store.anchors,
      auditHead: () => store.audit.head(),
      log,
      now: Date.now,
    }),
  );

  const inboxes = new Inboxes<PsiEvent>(
    psiWire.subscribeResponse.toProto,
    (member) => new AccordError('ACCORD_PSI_PEER_LOST', { member }),
  );
  const psi = new PsiCoordinator({
    membership,
    inboxes,
    sessions: store.psiSessions,
    audit,
    log,
    limits: config.psi,
    isRevoked: (peer) => revocation.check(peer),
  });
  server.addService(serviceOf(PSI_PROTO, PSI_SERVICE).service, psi.handlers());

  const trainingInboxes = new Inboxes<TrainingEvent>(
    trainingWire.subscribeResponse.toProto,
    () => new AccordError('ACCORD_TRAINING_LOST'),
  );
  const training = new TrainingCoordinator({
    membership,
    inboxes: trainingInboxes,
    sessions: store.trainingSessions,
    audit,
    log,
    limits: config.training,
    isRevoked: (peer) => revocation.check(peer),
  });
  server.addService(serviceOf(TRAINING_PROTO, TRAINING_SERVICE).service, training.handlers());

  // Joint scoring: label holders' requests relayed to partners' inboxes, sealed boxes back (coordinator/scoring).
  const scoringInboxes = new Inboxes<ScoringEvent>(
    scoringWire.subscribeResponse.toProto,
    (member) => new AccordError('ACCORD_MEMBER_OFFLINE', { member }),
  );
  const scoring = new ScoringRelay({
    membership,
    inboxes: scoringInboxes,
    audit,
    log,
    isRevoked: (peer) => revocation.check(peer),
  });
  server.addService(serviceOf(SCORING_PROTO, SCORING_SERVICE).service, scoring.handlers());

  // Crypto worker threads for large fraud-signal batches (screening), started on first use.
  const workers = new CryptoWorkerPool();
  const signals = buildSignalsCoordinator(config, {
    isMember: (m) => membership.isMember(m),
    store: store.signals,
    quotas: store.quotas,
    kinds: signalKinds,
    audit,
    log,
    workers,
  });
  server.addService(serviceOf(SIGNALS_PROTO, SIGNALS_SERVICE).service, signals.handlers());

  return {
    store,
    async reloadRevocation(settings) {
      let change: { added: string[]; removed: string[] };
      try {
        change = revocation.reload(settings);
      } catch (err) {
        const code = err instanceof AccordError ? err.code : 'ACCORD_INTERNAL';
        await audit({
          actor: COORDINATOR_NAME,
          action: 'membership:revocation-reload',
          target: 'revocation',
          outcome: 'failed',
          details: { code },
        });
        throw err;
      }
      const revoked = (peer: PeerIdentity) => revocation.check(peer);
      const errorFor = (peer: PeerIdentity) =>
        new AccordError('ACCORD_MEMBER_REVOKED', { member: peer.member });
      const dropped = [
        ...inboxes.dropWhere(revoked, errorFor),
        ...trainingInboxes.dropWhere(revoked, errorFor),
        ...scoringInboxes.dropWhere(revoked, errorFor),
      ];
      const streamsEnded = dropped.length + signals.endStreamsWhere(revoked, errorFor);
      await audit({
        actor: COORDINATOR_NAME,
        action: 'membership:revocation-reload',
        target: 'revocation',
        outcome: 'ok',
        details: {
          added: change.added.join(' '),
          removed: change.removed.join(' '),
          streamsEnded,
          ...revocationCounts(revocation),
        },
      });
      log.info('revocation list reloaded', { ...change, streamsEnded });
      return { ...change, streamsEnded };
    },
    async start() {
      const port = await bindServer(server, config.listen.host, config.listen.port, serverCredentials(tls));
      refusedHandshakes = auditRefusedHandshakes(server, audit, log);
      const lost = await psi.recover();
      if (lost)
        log.warn('PSI sessions left open by the last shutdown were recorded as lost', { sessions: lost });
      const lostJobs = await training.recover();
      if (lostJobs)
        log.warn('training jobs left open by the last shutdown were recorded as lost', { jobs: lostJobs });
      signals.start();
      await audit({
        actor: COORDINATOR_NAME,
        action: 'process:start',
        target: `${config.listen.host}:${port}`,
        outcome: 'ok',
        details: {},
      });
      log.info('coordinator listening', { host: config.listen.host, port });
      return { port };
    },
    async stop() {
      psi.close();
      training.close();
      scoring.close();
      signals.close();
      inboxes.closeAll();
      trainingInboxes.closeAll();
      scoringInboxes.closeAll();
      await shutdownServer(server);
      // Counts of refused handshakes not yet written (their window has not ended) are written now.
      await refusedHandshakes?.close();
      await workers.close();
      await signals.flush();
      await audit({
        actor: COORDINATOR_NAME,
        action: 'process:stop',
        target: '',
        outcome: 'ok',
        details: {},
      }).catch(() => undefined);
      await store.close();
    },
  };
}

/** The size of what is revoked, for the audit entry (counts only: the lists themselves are in the config). */
function revocationCounts(revocation: Revocation): Record<string, number> {
  const d = revocation.describe();
  return { deniedMembers: d.deniedMembers, deniedSerials: d.deniedSerials, crlRevoked: d.crl?.revoked ?? 0 };
}
