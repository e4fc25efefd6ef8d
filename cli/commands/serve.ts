/**
 * `accord coordinator --config f` and `accord node --config f`: the two long-lived processes. Both set the umask to
 * 077 first, so every file they create (database, logs, screening results) is readable by their user alone.
 */
import { buildCoordinator } from '../../coordinator/app.js';
import { buildNode } from '../../node/app.js';
import { loadCoordinatorConfig, loadNodeConfig } from '../../platform/config/index.js';
import { emitEvent } from '../output.js';

function onShutdown(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: string) => {
      if (stopping) return;
      stopping = true;
      emitEvent('stopping', { signal });
      void stop().finally(resolve);
    };
    process.once('SIGINT', () => handler('SIGINT'));
    process.once('SIGTERM', () => handler('SIGTERM'));
  });
}

/** Files and folders this process creates are its user's alone (the data it holds is the bank's). */
const PRIVATE_UMASK = 0o077;

export async function runCoordinator(configFile: string): Promise<void> {
  process.umask(PRIVATE_UMASK);
  const config = loadCoordinatorConfig(configFile);
  const coordinator = buildCoordinator(config);
  const { port } = await coordinator.start();
  // SIGHUP re-reads the config file and applies its revocation list (a member leaving needs no restart). Any other
  // change in the file waits for a restart; a file that does not load changes nothing.
  const reload = () => {
    try {
      const fresh = loadCoordinatorConfig(configFile);
      coordinator.reloadRevocation(fresh.revocation).then(
        (change) => emitEvent('revocation-reloaded', { ...change }),
        (err: Error) => emitEvent('revocation-reload-failed', { error: err.message }),
      );
    } catch (err) {
      emitEvent('revocation-reload-failed', { error: (err as Error).message });
    }
  };
  process.on('SIGHUP', reload);
  emitEvent('ready', { role: 'coordinator', grpc: `${config.listen.host}:${port}` });
  await onShutdown(() => coordinator.stop());
  process.off('SIGHUP', reload);
}

export async function runNode(
  configFile: string,
  overrides: { coordinator?: string; restPort?: number },
): Promise<void> {
  process.umask(PRIVATE_UMASK);
  const config = loadNodeConfig(configFile);
  const node = buildNode(config, {
    ...(overrides.coordinator ? { coordinatorAddress: overrides.coordinator } : {}),
    ...(overrides.restPort !== undefined ? { restPort: overrides.restPort } : {}),
  });
  const { restUrl } = await node.start();
  emitEvent('ready', { role: 'node', member: config.member, rest: restUrl });
  await onShutdown(() => node.stop());
}
