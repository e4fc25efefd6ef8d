/**
 * How CLI commands reach a node's REST API: the URL from `--url` or the node config (`https://` when it has
 * `rest.tls`), the bearer token from `--token`, `ACCORD_TOKEN`, or the `tokens.json` that `accord init` put next to
 * the config (first of the wanted roles). An HTTPS node is verified against `--ca`, else the consortium CA of the node
 * config (`tls.ca`, which signed the certificates `accord init --rest-tls` issues), else the system's CAs;
 * `--cert`/`--key` present a client certificate to nodes that ask for one (`rest.tls.clientCa`).
 *
 * Uses node:http(s) rather than fetch: Node 20's fetch cannot take a CA or a client certificate without undici.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { loadNodeConfig } from '../platform/config/index.js';
import { restBaseUrl } from '../platform/config/rest-listener.js';
import { loadRestClientTls } from '../platform/tls/credentials.js';
import { memberNameOfPeer } from '../platform/tls/identity.js';
import { AccordError } from '../primitives/errors/index.js';
import type { Role } from '../primitives/consortium/roles.js';

export interface NodeApi {
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** GETs `path` and streams a successful answer's body into `out` (a list export); returns the bytes written. */
  download(path: string, out: Writable): Promise<number>;
}

export interface NodeApiOptions {
  readonly config?: string | undefined;
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  /** PEM file of the CA to verify an HTTPS node with (default: the node config's `tls.ca`). */
  readonly ca?: string | undefined;
  /** PEM client certificate and key, for nodes with `rest.tls.clientCa`. */
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  /** Roles whose token to take from tokens.json, in order of preference. */
  readonly roles: readonly Role[];
}

function usage(problem: string): never {
  throw new AccordError('ACCORD_USAGE', { problem });
}

/** One agent per CLI run: keeps the connection (and TLS session) across the polls of a long job. */
function agentFor(
  url: string,
  options: NodeApiOptions,
  configCa: string | undefined,
  expectedMember: string | null,
): HttpAgent {
  const tlsFlags = options.ca ?? options.cert ?? options.key;
  if (!url.startsWith('https://')) {
    if (tlsFlags) usage(`--ca, --cert and --key apply to https:// nodes only, and ${url} is plain HTTP`);
    return new HttpAgent({ keepAlive: true });
  }
  if (Boolean(options.cert) !== Boolean(options.key)) usage('give --cert and --key together');
  const tls = loadRestClientTls({ ca: options.ca ?? configCa, cert: options.cert, key: options.key });
  // The consortium CA signs every member's and the coordinator's certificates: trusting it alone would let any of
  // them stand in for this bank's node and collect its tokens. So without --ca the node must also be this member.
  const member = options.ca ? null : expectedMember;
  return new HttpsAgent({
    keepAlive: true,
    ...tls,
    ...(member ? { checkServerIdentity: (host, cert) => sameMember(host, cert, member) } : {}),
  });
}

function sameMember(host: string, cert: PeerCertificate, member: string): Error | undefined {
  const hostProblem = checkServerIdentity(host, cert);
  if (hostProblem) return hostProblem;
  const named = memberNameOfPeer(cert);
  if (named === member) return undefined;
  return new Error(
    `the server's certificate names ${named ?? 'no member'}, not ${member}: pass --ca <file> if this node uses another PKI`,
  );
}

function send(
  agent: HttpAgent,
  target: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; text: string }> {
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(target, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function nodeApi(options: NodeApiOptions): NodeApi {
  const configFile = options.config;
  const config = configFile ? loadNodeConfig(configFile) : null;
  if (!options.url && !config) usage('give --config <node.json> or --url <node REST URL>');
  const url = (options.url ?? restBaseUrl(config!.rest, config!.rest.port)).replace(/\/$/, '');
  let token = options.token ?? process.env['ACCORD_TOKEN'];
  const tokensFile = configFile ? join(dirname(configFile), 'tokens.json') : null;
  if (!token && tokensFile && existsSync(tokensFile)) {
    const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, string>;
    token = options.roles.map((r) => tokens[r]).find(Boolean);
  }
  if (!token) usage('no API token: pass --token or set ACCORD_TOKEN');
  const agent = agentFor(url, options, config?.tls.ca, config?.member ?? null);
  // Without --cert, a node that asks for client certificates ends the handshake: say what is missing.
  const certHint =
    config?.rest.tls?.clientCa && !options.cert
      ? ' (this node asks for a client certificate: pass --cert and --key)'
      : '';
  const unreachable = (err: unknown): never => {
    // OpenSSL errors carry the readable part (e.g. "tlsv13 alert certificate required") in `reason`.
    const reason = (err as { reason?: string }).reason ?? (err as Error).message;
    return usage(`cannot reach the node at ${url}: ${reason}${certHint}`);
  };
  const failed = (text: string): AccordError => {
    let payload: { error?: { code: string; params?: unknown } } = {};
    try {
      payload = JSON.parse(text);
    } catch {}
    return AccordError.fromWire(payload.error?.code ?? 'ACCORD_INTERNAL', payload.error?.params ?? {});
  };
  return {
    async download(path: string, out: Writable): Promise<number> {
      const target = new URL(`${url}${path}`);
      const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(
          target,
          { method: 'GET', headers: { authorization: `Bearer ${token}` }, agent },
          resolve,
        );
        req.on('error', reject);
        req.end();
      }).catch(unreachable);
      if ((res.statusCode ?? 0) !== 200) {
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        throw failed(Buffer.concat(chunks).toString('utf8'));
      }
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      await pipeline(res, out, { end: out !== process.stdout });
      return bytes;
    },
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      let response: { status: number; text: string };
      try {
        response = await send(
          agent,
          new URL(`${url}${path}`),
          method,
          {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body === undefined ? undefined : JSON.stringify(body),
        );
      } catch (err) {
        return unreachable(err);
      }
      if (response.status < 200 || response.status > 299) throw failed(response.text);
      try {
        return JSON.parse(response.text) as T;
      } catch {
        return {} as T;
      }
    },
  };
}
