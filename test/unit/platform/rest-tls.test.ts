/**
 * TLS for the node's REST listener: the certificates `accord init --rest-tls` issues, and the loader's coded errors
 * (a missing file named, a key that does not match its certificate). The listener itself is tested over real
 * processes in test/integration/rest-tls.test.ts.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TokenAuthenticator } from '../../../node/rest/auth.js';
import { buildRestApp } from '../../../node/rest/app.js';
import { loadNodeConfig } from '../../../platform/config/index.js';
import { createLogger } from '../../../platform/log/logger.js';
import { loadRestClientTls, loadRestTlsMaterial } from '../../../platform/tls/credentials.js';
import { tempConsortium } from '../../helpers/temp-consortium.js';
import { thrown } from '../../helpers/thrown.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

describe('accord init --rest-tls', () => {
  const withTls = tempConsortium(['bank-a', 'bank-b'], { restTls: true });
  const without = tempConsortium(['bank-a']);
  afterAll(() => {
    withTls.cleanup();
    without.cleanup();
  });

  it('issues each node a REST server certificate from the consortium CA and points rest.tls at it', () => {
    for (const node of withTls.nodes) {
      const config = loadNodeConfig(node.config);
      const dir = join(withTls.dir, node.member);
      expect(config.rest).toMatchObject({
        host: '127.0.0.1',
        tls: { cert: join(dir, 'rest-cert.pem'), key: join(dir, 'rest-key.pem') },
        insecurePlainHttp: false,
      });
      expect(config.rest.tls?.clientCa).toBeUndefined();
      const cert = new X509Certificate(readFileSync(config.rest.tls!.cert));
      const ca = new X509Certificate(readFileSync(config.tls.ca));
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.subject).toContain(`CN=${node.member}`);
      expect(cert.checkHost('localhost')).toBe('localhost');
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      // Server-only: the REST key must not be usable as the member's client identity on the gRPC channels.
      expect(cert.keyUsage).toEqual([SERVER_AUTH]);
      expect(cert.keyUsage).not.toContain(CLIENT_AUTH);
      expect(statSync(config.rest.tls!.key).mode & 0o777).toBe(0o600);
      const material = loadRestTlsMaterial(config.rest.tls!);
      expect(material.cert.equals(readFileSync(config.rest.tls!.cert))).toBe(true);
      expect(material.ca).toBeUndefined();
    }
  });

  it('changes nothing without the flag', () => {
    const node = without.nodes[0]!;
    expect(loadNodeConfig(node.config).rest.tls).toBeUndefined();
    expect(existsSync(join(without.dir, node.member, 'rest-cert.pem'))).toBe(false);
    expect(existsSync(join(without.dir, node.member, 'rest-key.pem'))).toBe(false);
  });

  it('loads a client CA for mutual TLS on REST', () => {
    const dir = join(withTls.dir, 'bank-a');
    const material = loadRestTlsMaterial({
      cert: join(dir, 'rest-cert.pem'),
      key: join(dir, 'rest-key.pem'),
      clientCa: join(withTls.dir, 'ca', 'ca.pem'),
    });
    expect(material.ca?.equals(readFileSync(join(withTls.dir, 'ca', 'ca.pem')))).toBe(true);
  });

  it('refuses a missing file with ACCORD_TLS_FILE_UNREADABLE naming it', () => {
    const dir = join(withTls.dir, 'bank-a');
    const files = { cert: join(dir, 'rest-cert.pem'), key: join(dir, 'rest-key.pem') };
    for (const [which, missing] of [
      ['cert', join(dir, 'no-such-cert.pem')],
      ['key', join(dir, 'no-such-key.pem')],
      ['clientCa', join(dir, 'no-such-ca.pem')],
    ] as const) {
      const e = thrown(() => loadRestTlsMaterial({ ...files, [which]: missing }));
      expect(e.code).toBe('ACCORD_TLS_FILE_UNREADABLE');
      expect(e.params['file']).toBe(missing);
      expect(e.message).toContain(missing);
      expect(e.message).toContain('ENOENT');
    }
    const client = thrown(() => loadRestClientTls({ ca: join(dir, 'no-such-ca.pem') }));
    expect(client.code).toBe('ACCORD_TLS_FILE_UNREADABLE');
    expect(client.message).toContain(join(dir, 'no-such-ca.pem'));
  });

  it('refuses a key that does not match the certificate, naming the key file', () => {
    const a = join(withTls.dir, 'bank-a');
    const b = join(withTls.dir, 'bank-b');
    const e = thrown(() =>
      loadRestTlsMaterial({ cert: join(a, 'rest-cert.pem'), key: join(b, 'rest-key.pem') }),
    );
    expect(e.code).toBe('ACCORD_TLS_FILE_INVALID');
    expect(e.params['file']).toBe(join(b, 'rest-key.pem'));
    expect(e.message).toContain('the key does not match the certificate');
    // The CLI's client certificate goes through the same check.
    const client = thrown(() => loadRestClientTls({ cert: join(a, 'cert.pem'), key: join(b, 'key.pem') }));
    expect(client.code).toBe('ACCORD_TLS_FILE_INVALID');
    expect(client.message).toContain('does not match');
  });

  it('refuses files that are not PEM of the right kind', () => {
    const dir = join(withTls.dir, 'bank-a');
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    for (const files of [
      { cert: junk, key: join(dir, 'rest-key.pem') },
      { cert: join(dir, 'rest-cert.pem'), key: junk },
      { cert: join(dir, 'rest-cert.pem'), key: join(dir, 'rest-key.pem'), clientCa: junk },
    ]) {
      const e = thrown(() => loadRestTlsMaterial(files));
      expect(e.code).toBe('ACCORD_TLS_FILE_INVALID');
      expect(e.params['file']).toBe(junk);
    }
  });

  it('builds an HTTPS app that still answers inject()', async () => {
    const dir = join(withTls.dir, 'bank-a');
    const app = buildRestApp({
      routes: [],
      auth: new TokenAuthenticator([]),
      audit: async () => {},
      log: createLogger('test', 'error'),
      version: 'test',
      https: loadRestTlsMaterial({
        cert: join(dir, 'rest-cert.pem'),
        key: join(dir, 'rest-key.pem'),
        clientCa: join(withTls.dir, 'ca', 'ca.pem'),
      }),
    });
    const response = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    await app.close();
  });
});
