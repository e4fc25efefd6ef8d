/** `accord coordinator --config f` and `accord node --config f`: the two long-lived processes. */
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

export async function runCoordinator(configFile: string): Promise<void> {
  const config = loadCoordinatorConfig(configFile);
  const coordinator = buildCoordinator(config);
  const { port } = await coordinator.start();
  emitEvent('ready', { role: 'coordinator', grpc: `${config.listen.host}:${port}` });
  await onShutdown(() => coordinator.stop());
}

export async function runNode(
  configFile: string,
  overrides: { coordinator?: string; restPort?: number },
): Promise<void> {
  const config = loadNodeConfig(configFile);
  const node = buildNode(config, {
    ...(overrides.coordinator ? { coordinatorAddress: overrides.coordinator } : {}),
    ...(overrides.restPort !== undefined ? { restPort: overrides.restPort } : {}),
  });
  const { restUrl } = await node.start();
  emitEvent('ready', { role: 'node', member: config.member, rest: restUrl });
  await onShutdown(() => node.stop());
}
