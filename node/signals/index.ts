/** Builds the node's fraud-signal side from its config (protocol: `signals-service.ts`). */
import type { Audit } from '../../platform/audit/audit-log.js';
import type { CryptoWorkerPool } from '../../platform/crypto-workers/pool.js';
import type { NodeConfig } from '../../platform/config/index.js';
import type { Logger } from '../../platform/log/logger.js';
import type { ScreeningJobStore } from '../../platform/store/screening-types.js';
import type { SettingsStore } from '../../platform/store/types.js';
import type { TlsMaterial } from '../../platform/tls/credentials.js';
import { AccordError } from '../../primitives/errors/index.js';
import { signalRoutes } from '../rest/routes/signals.js';
import { readSecretFile } from '../../platform/config/secret-file.js';
import { MemberKey } from '../../primitives/oprf/member-key.js';
import type { SignalKinds } from '../../primitives/signals/kinds.js';
import { ScreeningJobs } from './screening.js';
import { SignalsClient } from './signals-client.js';
import { NodeSignals } from './signals-service.js';
import { TokenCache } from './token-cache.js';

export const INSECURE_BENCHMARK_ENV = 'ACCORD_ALLOW_INSECURE_BENCHMARK';

export interface NodeSignalsPart {
  readonly routes: ReturnType<typeof signalRoutes>;
  start(): Promise<void>;
  close(): void;
}

export function buildNodeSignals(
  config: Readonly<NodeConfig>,
  deps: {
    tls: TlsMaterial;
    coordinatorAddress: string;
    settings: SettingsStore;
    screeningJobs: ScreeningJobStore;
    audit: Audit;
    /** The consortium's kinds from the node's latest registration (`CoordinatorLink.signalKinds`). */
    signalKinds: () => SignalKinds;
    log: Logger;
    /** The node's crypto worker pool (shared with PSI), for large batches. */
    workers?: CryptoWorkerPool;
  },
): NodeSignalsPart {
  const s = config.signals;
  if (s.insecurePlaintextBenchmark) {
    if (process.env[INSECURE_BENCHMARK_ENV] !== '1')
      throw new AccordError('ACCORD_SIGNAL_INSECURE_BENCHMARK_REFUSED');
    deps.log.warn('INSECURE plaintext benchmark routes are enabled: never use this node for real data');
  }
  if (!s.memberKeyFile) {
    deps.log.warn('no signals.memberKeyFile in the config: fraud-signal routes are disabled');
    return {
      routes: signalRoutes({
        signals: null,
        screening: null,
        kinds: deps.signalKinds,
        plaintextBenchmark: false,
      }),
      start: async () => {},
      close: () => {},
    };
  }
  const client = new SignalsClient(deps.coordinatorAddress, config.coordinator.serverName, deps.tls);
  const signals = new NodeSignals({
    member: config.member,
    memberKey: MemberKey.fromBase64(readSecretFile(s.memberKeyFile, 'member key', deps.log)),
    client,
    cache: new TokenCache(s.tokenCacheSize),
    settings: deps.settings,
    audit: deps.audit,
    kinds: deps.signalKinds,
    ...(deps.workers ? { workers: deps.workers } : {}),
  });
  const screening = new ScreeningJobs(signals, deps.screeningJobs, deps.log);
  return {
    routes: signalRoutes({
      signals,
      screening,
      kinds: deps.signalKinds,
      plaintextBenchmark: s.insecurePlaintextBenchmark,
    }),
    start: () => signals.init(),
    close: () => client.close(),
  };
}
