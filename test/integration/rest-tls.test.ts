/**
 * The node's REST API over HTTPS, as an operator runs it: `accord init --rest-tls`, a coordinator and two node
 * processes. bank-a serves HTTPS; bank-b also asks for client certificates from the consortium CA
 * (`rest.tls.clientCa`).
 * Checked with real handshakes: the server verifies against the consortium CA, plain HTTP and unverified clients are
 * refused, and the CLI finds and verifies the node from its config alone.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, type RequestOptions, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InitResult, initConsortium } from '../../cli/commands/init.js';
import { spawnCli, stopProcess, waitReady } from '../../examples/local-consortium.js';
import { createAuthority, issueLeaf } from '../../platform/tls/issue.js';
import { accord } from '../helpers/run-cli.js';

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field
  body: any;
}

/** One GET on a fresh connection (`agent: false`: no pooled socket or resumed TLS session between checks). */
function get(url: string, options: RequestOptions = {}): Promise<Reply> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.setTimeout(5_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function waitConnected(url: string, options: RequestOptions, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await get(`${url}/v1/health`, options).catch(() => null);
    if (health?.body?.coordinator?.connected) return;
    if (Date.now() > deadline) throw new Error(`node at ${url} did not connect to the coordinator`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('node REST API over HTTPS (accord init --rest-tls)', () => {
  let dir: string;
  let init: InitResult;
  const children: ChildProcess[] = [];
  const urls: Record<string, string> = {};
  const file = (...parts: string[]) => join(dir, ...parts);
  let ca: Buffer;
  /** bank-b's member certificate: issued by the consortium CA for client authentication. */
  let memberClient: { cert: Buffer; key: Buffer };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'accord-rest-tls-'));
    init = initConsortium({
      dir,
      members: ['bank-a', 'bank-b'],
      consortium: 'accord-local',
      coordinatorPort: 0,
      firstRestPort: 0,
      force: true,
      restTls: true,
    });
    ca = readFileSync(file('ca', 'ca.pem'));
    memberClient = {
      cert: readFileSync(file('bank-b', 'cert.pem')),
      key: readFileSync(file('bank-b', 'key.pem')),
    };
    const bConfig = JSON.parse(readFileSync(file('bank-b', 'node.json'), 'utf8'));
    bConfig.rest.tls.clientCa = '../ca/ca.pem';
    writeFileSync(file('bank-b', 'node.json'), JSON.stringify(bConfig, null, 2));

    const coordinatorLog = file('coordinator.log');
    const coordinator = spawnCli(['coordinator', '--config', init.coordinatorConfig], coordinatorLog);
    children.push(coordinator);
    const grpc = (await waitReady(coordinator, 'coordinator', coordinatorLog))['grpc']!;
    await Promise.all(
      init.nodes.map(async (n) => {
        const log = file(`${n.member}.log`);
        const child = spawnCli(
          ['node', '--config', n.config, '--coordinator', grpc, '--rest-port', '0'],
          log,
        );
        children.push(child);
        urls[n.member] = (await waitReady(child, n.member, log))['rest']!;
        // The CLI finds the node from its config: write the ephemeral port the node took into it.
        const config = JSON.parse(readFileSync(n.config, 'utf8'));
        config.rest.port = Number(new URL(urls[n.member]!).port);
        config.coordinator.address = grpc;
        writeFileSync(n.config, JSON.stringify(config, null, 2));
      }),
    );
    await waitConnected(urls['bank-a']!, { ca });
    await waitConnected(urls['bank-b']!, { ca, ...memberClient });
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => stopProcess(c)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('announces an https:// URL and serves /v1/health verified with the consortium CA', async () => {
    expect(urls['bank-a']).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await get(`${urls['bank-a']}/v1/health`, { ca });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', member: 'bank-a' });
    // Also by name: the certificate carries localhost as well as 127.0.0.1.
    const byName = await get(`${urls['bank-a']!.replace('127.0.0.1', 'localhost')}/v1/health`, { ca });
    expect(byName.status).toBe(200);
  });

  it('is not trusted without the consortium CA, and speaks no plain HTTP', async () => {
    await expect(get(`${urls['bank-a']}/v1/health`)).rejects.toMatchObject({
      code: expect.stringMatching(/UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE/),
    });
    const plain = urls['bank-a']!.replace('https://', 'http://');
    await expect(get(`${plain}/v1/health`)).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('with rest.tls.clientCa: refuses a client without a certificate or with a foreign one', async () => {
    // The server ends the handshake: an alert, or a reset if the client was still writing when it came.
    const refused = { code: expect.stringMatching(/^ERR_SSL_TLSV1\d?_ALERT_|^ECONNRESET$/) };
    await expect(get(`${urls['bank-b']}/v1/health`, { ca })).rejects.toMatchObject(refused);
    const other = createAuthority('elsewhere');
    const foreign = issueLeaf(other, { commonName: 'bank-b', consortium: 'elsewhere' });
    await expect(
      get(`${urls['bank-b']}/v1/health`, { ca, cert: foreign.certPem, key: foreign.keyPem }),
    ).rejects.toMatchObject(refused);
  });

  it('with rest.tls.clientCa: serves a client with a certificate from that CA; tokens still needed', async () => {
    const health = await get(`${urls['bank-b']}/v1/health`, { ca, ...memberClient });
    expect(health.status).toBe(200);
    expect(health.body.member).toBe('bank-b');
    const anonymous = await get(`${urls['bank-b']}/v1/datasets`, { ca, ...memberClient });
    expect(anonymous.status).toBe(401);
    const tokens = JSON.parse(readFileSync(file('bank-b', 'tokens.json'), 'utf8'));
    const authorized = await get(`${urls['bank-b']}/v1/datasets`, {
      ca,
      ...memberClient,
      headers: { authorization: `Bearer ${tokens.risk}` },
    });
    expect(authorized.status).toBe(200);
  });

  it('accord signals query reaches an HTTPS node from its config, verified with the config CA', async () => {
    const query = ['signals', 'query', '--id-kind', 'phone', '--id', '+44 7700 900123'];
    const otherCa = file('other-ca.pem');
    writeFileSync(otherCa, createAuthority('elsewhere').certPem);
    const [a, bWithout, bWith, wrongCa] = await Promise.all([
      accord([...query, '--config', file('bank-a', 'node.json')]),
      accord([...query, '--config', file('bank-b', 'node.json')]),
      accord([
        ...query,
        '--config',
        file('bank-b', 'node.json'),
        '--cert',
        file('bank-b', 'cert.pem'),
        '--key',
        file('bank-b', 'key.pem'),
      ]),
      accord([...query, '--config', file('bank-a', 'node.json'), '--ca', otherCa]),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).flags).toEqual([]);
    expect(bWith.code, bWith.stderr).toBe(0);
    expect(JSON.parse(bWith.stdout).flags).toEqual([]);
    expect(bWithout.code).not.toBe(0);
    expect(bWithout.stderr).toContain(`cannot reach the node at ${urls['bank-b']}`);
    expect(bWithout.stderr).toContain('pass --cert and --key');
    expect(wrongCa.code).not.toBe(0);
    expect(wrongCa.stderr).toMatch(/cannot reach the node at https:\/\/.*(certificate|issuer)/);
  });

  it('the CLI refuses another member’s REST certificate, though the consortium CA signed it', async () => {
    // An impostor serving bank-b's genuine REST certificate where bank-a's config points.
    const impostor = createHttpsServer(
      {
        cert: readFileSync(file('bank-b', 'rest-cert.pem')),
        key: readFileSync(file('bank-b', 'rest-key.pem')),
      },
      (_req, res) => res.end('{}'),
    );
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    try {
      const config = JSON.parse(readFileSync(file('bank-a', 'node.json'), 'utf8'));
      config.rest.port = (impostor.address() as AddressInfo).port;
      const misdirected = file('bank-a', 'misdirected.json');
      writeFileSync(misdirected, JSON.stringify(config));
      const r = await accord([
        'signals',
        'query',
        '--id-kind',
        'phone',
        '--id',
        '+44 7700 900123',
        '--config',
        misdirected,
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('names bank-b, not bank-a');
    } finally {
      impostor.close();
    }
  });
});
