/**
 * The coordinator process, built apart from listening: `buildCoordinator(config)` wires store, audit log, membership
 * and services; `start()` binds the mutual-TLS gRPC port; `stop()` drains and closes.
 */
import { CryptoWorkerPool } from '../platform/crypto-workers/pool.js';
import * as grpc from '@grpc/grpc-js';
import type { CoordinatorConfig } from '../platform/config/index.js';
import {
  auditRefusedHandshakes,
  bindServer,
  serverCredentials,
  shutdownServer,
} from '../platform/grpc/server.js';
import { serviceOf } from '../platform/grpc/proto.js';
import { createLogger, type Logger } from '../platform/log/logger.js';
import { openSqliteCoordinatorStore } from '../platform/store/sqlite/index.js';
import type { CoordinatorStore } from '../platform/store/types.js';
import { warnIfReadableByOthers } from '../platform/config/secret-file.js';
import { loadTlsMaterial } from '../platform/tls/credentials.js';
import { CONSORTIUM_PROTO, CONSORTIUM_SERVICE } from '../platform/wire/consortium.js';
import { auditTo } from '../platform/audit/audit-log.js';
import { HeadAnchoring } from '../platform/audit/anchoring.js';
import { AUDIT_ANCHOR_INTERVAL_MS } from '../primitives/audit/anchors.js';
import { COORDINATOR_NAME } from '../primitives/consortium/roles.js';
import { consortiumKinds } from '../primitives/signals/kinds.js';
import { AccordError } from '../primitives/errors/index.js';
import { consortiumService } from './consortium-service.js';
import { Membership } from './membership.js';
import { Inboxes } from './psi/inboxes.js';
import { PsiCoordinator } from './psi/psi-service.js';
import { buildSignalsCoordinator, SIGNALS_PROTO, SIGNALS_SERVICE } from './signals/index.js';
import { PSI_PROTO, PSI_SERVICE } from '../platform/wire/psi.js';
import { join } from 'node:path';

export interface Coordinator {
  readonly store: CoordinatorStore;
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
  const store = openSqliteCoordinatorStore(join(config.dataDir, 'coordinator.db'));
  const audit = auditTo(store.audit, log);
  const membership = new Membership(config.members, config.heartbeat.offlineAfterMs);
  // One list for both services: what publish accepts is exactly what registration tells the nodes.
  const signalKinds = consortiumKinds(config.signals.extraFlagKinds);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.enable_channelz': 0,
  });
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

  const inboxes = new Inboxes();
  const psi = new PsiCoordinator({
    membership,
    inboxes,
    sessions: store.psiSessions,
    audit,
    log,
    limits: config.psi,
  });
  server.addService(serviceOf(PSI_PROTO, PSI_SERVICE).service, psi.handlers());

  // Crypto worker threads for large fraud-signal batches (screening), started on first use.
  const workers = new CryptoWorkerPool();
  const signals = buildSignalsCoordinator(config, {
    isMember: (m) => membership.isMember(m),
    store: store.signals,
    kinds: signalKinds,
    audit,
    log,
    workers,
  });
  server.addService(serviceOf(SIGNALS_PROTO, SIGNALS_SERVICE).service, signals.handlers());

  return {
    store,
    async start() {
      const port = await bindServer(server, config.listen.host, config.listen.port, serverCredentials(tls));
      auditRefusedHandshakes(server, audit, log);
      const lost = await psi.recover();
      if (lost)
        log.warn('PSI sessions left open by the last shutdown were recorded as lost', { sessions: lost });
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
      signals.close();
      inboxes.closeAll();
      await shutdownServer(server);
      await workers.close();
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
