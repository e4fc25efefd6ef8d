/**
 * How CLI commands reach a node's REST API: the URL from `--url` or the node config, the bearer token from `--token`,
 * `ACCORD_TOKEN`, or the `tokens.json` that `accord init` put next to the config (first of the wanted roles).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadNodeConfig } from '../platform/config/index.js';
import { AccordError } from '../shared/errors/index.js';
import type { Role } from '../shared/consortium/roles.js';

export interface NodeApi {
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export interface NodeApiOptions {
  readonly config?: string | undefined;
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  /** Roles whose token to take from tokens.json, in order of preference. */
  readonly roles: readonly Role[];
}

export function nodeApi(options: NodeApiOptions): NodeApi {
  const configFile = options.config;
  const config = configFile ? loadNodeConfig(configFile) : null;
  if (!options.url && !config) {
    throw new AccordError('ACCORD_USAGE', { problem: 'give --config <node.json> or --url <node REST URL>' });
  }
  const url = (options.url ?? `http://${config!.rest.host}:${config!.rest.port}`).replace(/\/$/, '');
  let token = options.token ?? process.env['ACCORD_TOKEN'];
  const tokensFile = configFile ? join(dirname(configFile), 'tokens.json') : null;
  if (!token && tokensFile && existsSync(tokensFile)) {
    const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, string>;
    token = options.roles.map((r) => tokens[r]).find(Boolean);
  }
  if (!token)
    throw new AccordError('ACCORD_USAGE', { problem: 'no API token: pass --token or set ACCORD_TOKEN' });
  return {
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      let response: Response;
      try {
        response = await fetch(`${url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? null : JSON.stringify(body),
        });
      } catch (err) {
        throw new AccordError('ACCORD_USAGE', {
          problem: `cannot reach the node at ${url}: ${(err as Error).message}`,
        });
      }
      const payload = (await response.json().catch(() => ({}))) as {
        error?: { code: string; params?: unknown };
      };
      if (!response.ok)
        throw AccordError.fromWire(payload.error?.code ?? 'ACCORD_INTERNAL', payload.error?.params ?? {});
      return payload as T;
    },
  };
}
