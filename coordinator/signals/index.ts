/** Builds the coordinator's fraud-signal service from its config (protocol: `signals-service.ts`). */
import type { CryptoWorkerPool } from '../../platform/crypto-workers/pool.js';
import type { CoordinatorConfig } from '../../platform/config/index.js';
import type { Audit } from '../../platform/grpc/server.js';
import type { Logger } from '../../platform/log/logger.js';
import type { QuotaStore } from '../../platform/store/quota-types.js';
import type { SignalStore } from '../../platform/store/signal-types.js';
import { readSecretFile } from '../../platform/config/secret-file.js';
import { CoordinatorKey } from '../../primitives/oprf/coordinator-key.js';
import type { SignalKinds } from '../../primitives/signals/kinds.js';
import { SignalsCoordinator } from './signals-service.js';

export { SIGNALS_PROTO, SIGNALS_SERVICE } from '../../platform/wire/signals.js';
export { SignalsCoordinator } from './signals-service.js';

export function buildSignalsCoordinator(
  config: Readonly<CoordinatorConfig>,
  deps: {
    isMember: (member: string) => boolean;
    store: SignalStore;
    /** Per-member quotas on new identifiers (persisted). */
    quotas: QuotaStore;
    /** The consortium's kinds (`consortiumKinds(config.signals.extraFlagKinds)`), also announced at registration. */
    kinds: SignalKinds;
    audit: Audit;
    log: Logger;
    now?: () => number;
    workers?: CryptoWorkerPool;
  },
): SignalsCoordinator {
  const s = config.signals;
  if (!s.keyFile)
    deps.log.warn('no signals.keyFile in the config: fraud-signal publish and query are refused');
  const limits = s.rateLimits;
  return new SignalsCoordinator({
    isMember: deps.isMember,
    key: s.keyFile ? CoordinatorKey.fromBase64(readSecretFile(s.keyFile, 'coordinator key', deps.log)) : null,
    // The benchmark anchor's plaintext lookups are accepted only on a machine explicitly set up for benchmarks.
    allowInsecurePlaintext: process.env['ACCORD_ALLOW_INSECURE_BENCHMARK'] === '1',
    ...(deps.workers ? { workers: deps.workers } : {}),
    store: deps.store,
    quotas: deps.quotas,
    audit: deps.audit,
    log: deps.log,
    now: deps.now ?? Date.now,
    settings: {
      kinds: deps.kinds,
      retentionDays: s.retentionDays,
      clockSkewMs: s.clockSkewMs,
      maxBackdateMs: s.maxBackdateMs,
      timeResolutionMs: s.timeResolutionMs,
      sweepIntervalMs: s.sweepIntervalMs,
      quotas: s.quotas,
      maxStreamsPerMember: s.maxStreamsPerMember,
      evaluationLimit: (member) => limits.perMember[member]?.evaluations ?? limits.evaluations,
      queryLimit: (member) => limits.perMember[member]?.queries ?? limits.queries,
    },
  });
}
