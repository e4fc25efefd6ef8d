import { join } from 'node:path';
import { parseConfig, readJsonFile, resolveFrom } from './load.js';
import {
  type CoordinatorConfig,
  coordinatorConfigSchema,
  type NodeConfig,
  nodeConfigSchema,
} from './schemas.js';

export type { CoordinatorConfig, NodeConfig } from './schemas.js';

function resolveTls<T extends { tls: { ca: string; cert: string; key: string } }>(c: T, base: string): T {
  return {
    ...c,
    tls: {
      ca: resolveFrom(base, c.tls.ca),
      cert: resolveFrom(base, c.tls.cert),
      key: resolveFrom(base, c.tls.key),
    },
  };
}

export function parseCoordinatorConfig(
  raw: unknown,
  file: string | null = null,
): Readonly<CoordinatorConfig> {
  return parseConfig(coordinatorConfigSchema, raw, file, (c, base) => ({
    ...resolveTls(c, base),
    dataDir: resolveFrom(base, c.dataDir),
    signals: {
      ...c.signals,
      ...(c.signals.keyFile ? { keyFile: resolveFrom(base, c.signals.keyFile) } : {}),
    },
    revocation: {
      ...c.revocation,
      ...(c.revocation.crlFile ? { crlFile: resolveFrom(base, c.revocation.crlFile) } : {}),
    },
  }));
}

export function parseNodeConfig(raw: unknown, file: string | null = null): Readonly<NodeConfig> {
  return parseConfig(nodeConfigSchema, raw, file, (c, base) => {
    const dataDir = resolveFrom(base, c.dataDir);
    const restTls = c.rest.tls;
    return {
      ...resolveTls(c, base),
      dataDir,
      rest: {
        ...c.rest,
        ...(restTls
          ? {
              tls: {
                cert: resolveFrom(base, restTls.cert),
                key: resolveFrom(base, restTls.key),
                ...(restTls.clientCa ? { clientCa: resolveFrom(base, restTls.clientCa) } : {}),
              },
            }
          : {}),
      },
      signals: {
        ...c.signals,
        ...(c.signals.memberKeyFile ? { memberKeyFile: resolveFrom(base, c.signals.memberKeyFile) } : {}),
      },
      store: { ...c.store, path: c.store.path ? resolveFrom(base, c.store.path) : join(dataDir, 'node.db') },
    };
  });
}

export function loadCoordinatorConfig(file: string): Readonly<CoordinatorConfig> {
  return parseCoordinatorConfig(readJsonFile(file), file);
}

export function loadNodeConfig(file: string): Readonly<NodeConfig> {
  return parseNodeConfig(readJsonFile(file), file);
}
