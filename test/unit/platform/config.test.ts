import { describe, expect, it } from 'vitest';
import { parseNodeConfig } from '../../../platform/config/index.js';
import { AccordError } from '../../../primitives/errors/index.js';

const valid = {
  kind: 'node',
  member: 'bank-a',
  dataDir: 'data',
  coordinator: { address: '127.0.0.1:7443' },
  tls: { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' },
  tokens: [{ role: 'admin', sha256: 'a'.repeat(64), label: 'ops' }],
};

describe('node config', () => {
  it('fills defaults, resolves paths against the config folder, and freezes the result', () => {
    const config = parseNodeConfig(valid, '/etc/accord/node.json');
    expect(config.tls.cert).toBe('/etc/accord/cert.pem');
    expect(config.store.path).toBe('/etc/accord/data/node.db');
    expect(config.rest.port).toBe(8080);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.tls)).toBe(true);
  });

  it('lists every invalid field in one error', () => {
    const broken = {
      ...valid,
      member: 'Bank A',
      rest: { port: 70000 },
      tokens: [{ role: 'janitor', sha256: 'xyz', label: 'x' }],
      surprise: true,
    };
    let error: unknown;
    try {
      parseNodeConfig(broken, null);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AccordError);
    const e = error as AccordError;
    expect(e.code).toBe('ACCORD_CONFIG_INVALID');
    for (const field of ['member', 'rest.port', 'tokens.0.role', 'tokens.0.sha256', 'surprise']) {
      expect(e.message).toContain(field);
    }
  });
});

describe('node REST listener: plain HTTP only on loopback', () => {
  const withRest = (rest: Record<string, unknown>) => ({ ...valid, rest });
  const problemsOf = (raw: unknown): string => {
    try {
      parseNodeConfig(raw, null);
    } catch (err) {
      expect(err).toBeInstanceOf(AccordError);
      expect((err as AccordError).code).toBe('ACCORD_CONFIG_INVALID');
      return (err as AccordError).message;
    }
    throw new Error('the config was accepted');
  };

  it.each(['10.0.0.5', '0.0.0.0', '::', 'bank-a.internal', '128.0.0.1'])(
    'refuses host %s without rest.tls, naming the field and the fixes',
    (host) => {
      const message = problemsOf(withRest({ host }));
      expect(message).toContain(`rest.tls: required because rest.host ${host} is not a loopback address`);
      expect(message).toContain('bearer tokens would cross the network in clear');
      for (const fix of ['set rest.tls', 'bind rest.host to 127.0.0.1', 'rest.insecurePlainHttp'])
        expect(message).toContain(fix);
    },
  );

  it.each(['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost', 'LocalHost', '::ffff:127.0.0.1'])(
    'accepts loopback host %s over plain HTTP',
    (host) => {
      expect(parseNodeConfig(withRest({ host }), null).rest).toMatchObject({
        host,
        insecurePlainHttp: false,
      });
    },
  );

  it('keeps the default host (127.0.0.1, no tls) valid', () => {
    expect(parseNodeConfig(valid, null).rest).toEqual({
      host: '127.0.0.1',
      port: 8080,
      insecurePlainHttp: false,
    });
  });

  it('accepts a non-loopback host with rest.tls, resolving its paths against the config folder', () => {
    const config = parseNodeConfig(
      withRest({
        host: '0.0.0.0',
        tls: { cert: 'rest-cert.pem', key: '/keys/rest-key.pem', clientCa: 'ca.pem' },
      }),
      '/etc/accord/node.json',
    );
    expect(config.rest.tls).toEqual({
      cert: '/etc/accord/rest-cert.pem',
      key: '/keys/rest-key.pem',
      clientCa: '/etc/accord/ca.pem',
    });
  });

  it('accepts a non-loopback host with insecurePlainHttp (behind a TLS-terminating proxy)', () => {
    expect(parseNodeConfig(withRest({ host: '10.0.0.5', insecurePlainHttp: true }), null).rest.host).toBe(
      '10.0.0.5',
    );
  });

  it('lists the rule together with the other invalid fields', () => {
    const message = problemsOf({ ...withRest({ host: '0.0.0.0', port: 70000 }), member: 'Bank A' });
    for (const field of ['member', 'rest.port', 'rest.tls']) expect(message).toContain(`${field}:`);
  });

  it('refuses incomplete or unknown rest.tls fields', () => {
    const message = problemsOf(withRest({ tls: { cert: 'c.pem', ca: 'x.pem' } }));
    expect(message).toContain('rest.tls.key:');
    expect(message).toContain('rest.tls: Unrecognized key: "ca"');
  });
});
