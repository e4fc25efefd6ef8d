import { describe, expect, it } from 'vitest';
import { parseNodeConfig } from '../../../platform/config/index.js';
import { AccordError } from '../../../shared/errors/index.js';

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
