/**
 * Revocation building blocks ("a member can leave"): the strict DER reader, CRLs issued by the development CA
 * (`issueCrl`) and read back (`parseCrl`), cross-checked with openssl both ways (openssl accepts ours; we accept what
 * `openssl ca -gencrl` makes, EC v2 and RSA v1), every tampering refused with ACCORD_TLS_CRL_INVALID, and the
 * `Revocation` deny-list + CRL, whose reload never un-revokes anyone on a bad file.
 */
import { execFileSync } from 'node:child_process';
import { sign, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type PeerCertificate } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { normaliseSerial, parseCrl, subjectNameDer } from '../../../platform/tls/crl.js';
import {
  bitString,
  booleanTrue,
  explicit,
  objectIdentifier,
  octetString,
  sequence,
  smallInteger,
  time,
} from '../../../platform/tls/der.js';
import { childrenOf, DerError, parseDer, readInteger, readTime } from '../../../platform/tls/der-reader.js';
import { createAuthority, issueCrl, issueLeaf, serialOf } from '../../../platform/tls/issue.js';
import { Revocation } from '../../../platform/tls/revocation.js';
import { thrown } from '../../helpers/thrown.js';

const OPENSSL = '/usr/bin/openssl';
const HAS_OPENSSL = existsSync(OPENSSL);
const WITHOUT_OPENSSL = HAS_OPENSSL ? '' : ` (SKIPPED: openssl not found at ${OPENSSL})`;

function derOf(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
}

const dir = mkdtempSync(join(tmpdir(), 'accord-crl-'));
const write = (name: string, content: string | Buffer): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

const ca = createAuthority('test');
const caCert = new X509Certificate(ca.certPem);
const leaving = issueLeaf(ca, { commonName: 'bank-c', consortium: 'test', uri: 'urn:accord:member:bank-c' });
const staying = issueLeaf(ca, { commonName: 'bank-a', consortium: 'test', uri: 'urn:accord:member:bank-a' });
const leavingSerial = serialOf(leaving.certPem);
const stayingSerial = serialOf(staying.certPem);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DER reader', () => {
  it('reads nested TLVs with short and long lengths', () => {
    const long = Buffer.concat([Buffer.from([0x04, 0x81, 0x80]), Buffer.alloc(0x80, 7)]);
    const root = parseDer(Buffer.concat([Buffer.from([0x30, 0x81, 0x86, 0x02, 0x01, 0x05]), long]));
    const [int, octets] = childrenOf(root);
    expect(readInteger(int, 'int')).toBe(5n);
    expect(octets!.value.length).toBe(0x80);
    expect(octets!.offset).toBe(6);
    expect(readInteger(parseDer(Buffer.from([0x02, 0x01, 0xfb])), 'neg')).toBe(-5n);
    expect(
      readTime(parseDer(Buffer.concat([Buffer.from([0x17, 13]), Buffer.from('491231235959Z')])), 't'),
    ).toEqual(new Date('2049-12-31T23:59:59Z'));
  });

  it.each([
    ['indefinite length', [0x30, 0x80, 0x00, 0x00]],
    ['trailing bytes', [0x02, 0x01, 0x01, 0x00]],
    ['length past the end', [0x04, 0x05, 0x01]],
    ['long-form length past the end', [0x04, 0x82, 0x01]],
    ['non-minimal long form', [0x04, 0x81, 0x01, 0x00]],
    ['length with a leading zero octet', [0x04, 0x82, 0x00, 0x81, ...new Array(0x81).fill(0)]],
    ['children that overrun their parent', [0x30, 0x03, 0x02, 0x02, 0x01]],
    ['empty input', []],
  ])('refuses %s', (_what, bytes) => {
    expect(() => {
      const node = parseDer(Buffer.from(bytes));
      if (node.constructed) childrenOf(node);
    }).toThrow(DerError);
  });

  it('refuses non-minimal INTEGERs and impossible times', () => {
    expect(() => readInteger(parseDer(Buffer.from([0x02, 0x02, 0x00, 0x01])), 'i')).toThrow(DerError);
    const time = (s: string) => parseDer(Buffer.concat([Buffer.from([0x17, s.length]), Buffer.from(s)]));
    expect(() => readTime(time('250230000000Z'), 't')).toThrow(DerError);
    expect(() => readTime(time('2502010000Z'), 't')).toThrow(DerError);
  });
});

describe('serial numbers', () => {
  it('normalises every form to lowercase hex without leading zeros or colons', () => {
    expect(normaliseSerial('0A:1B:2C')).toBe('a1b2c');
    expect(normaliseSerial('00ff')).toBe('ff');
    expect(normaliseSerial('0x00FF')).toBe('ff');
    expect(normaliseSerial(' 0 ')).toBe('0');
    expect(normaliseSerial('-05')).toBe('-5');
    expect(() => normaliseSerial('not-hex')).toThrow(RangeError);
    expect(() => normaliseSerial('0a::1b')).toThrow(RangeError);
    expect(() => normaliseSerial('')).toThrow(RangeError);
  });

  it('serialOf reads a certificate the way X509Certificate and a TLS peer certificate report it', async () => {
    expect(leavingSerial).toBe(normaliseSerial(new X509Certificate(leaving.certPem).serialNumber));
    expect(leavingSerial).toMatch(/^[1-9a-f][0-9a-f]*$/);
    // What grpc-js hands the server: the client certificate of a real mutual-TLS handshake.
    const server = issueLeaf(ca, {
      commonName: 'coordinator',
      consortium: 'test',
      server: { dns: ['localhost'], ip: ['127.0.0.1'] },
    });
    const peer = await new Promise<PeerCertificate>((resolve, reject) => {
      const listener = createServer(
        {
          key: server.keyPem,
          cert: server.certPem,
          ca: ca.certPem,
          requestCert: true,
          rejectUnauthorized: true,
        },
        (socket) => {
          resolve(socket.getPeerCertificate());
          socket.end();
          listener.close();
        },
      );
      listener.on('error', reject);
      listener.listen(0, '127.0.0.1', () => {
        const address = listener.address();
        if (typeof address !== 'object' || !address) return reject(new Error('no address'));
        const client = connect({
          host: '127.0.0.1',
          port: address.port,
          servername: 'localhost',
          ca: ca.certPem,
          key: leaving.keyPem,
          cert: leaving.certPem,
        });
        client.on('error', () => {});
        client.on('secureConnect', () => client.end());
      });
    });
    expect(normaliseSerial(peer.serialNumber)).toBe(leavingSerial);
  });
});

describe('issueCrl + parseCrl', () => {
  const crlPem = issueCrl(
    ca,
    [{ serial: leavingSerial }, { serial: '0A:0B', at: new Date('2026-01-02T03:04:05Z') }],
    {
      thisUpdate: new Date('2026-03-01T00:00:00Z'),
      nextUpdate: new Date('2026-04-01T00:00:00Z'),
    },
  );
  const crlFile = write('crl.pem', crlPem);
  const caFile = write('ca.pem', ca.certPem);

  it('lists exactly the revoked serials, with the dates, from PEM and from DER', () => {
    for (const input of [crlPem, Buffer.from(crlPem), derOf(crlPem)]) {
      const crl = parseCrl(input, caCert);
      expect([...crl.revokedSerials].sort()).toEqual([leavingSerial, 'a0b'].sort());
      expect(crl.thisUpdate).toEqual(new Date('2026-03-01T00:00:00Z'));
      expect(crl.nextUpdate).toEqual(new Date('2026-04-01T00:00:00Z'));
    }
    expect(parseCrl(crlPem, caCert).revokedSerials.has(serialOf(leaving.certPem))).toBe(true);
    expect(parseCrl(crlPem, caCert).revokedSerials.has(stayingSerial)).toBe(false);
  });

  it('an empty list omits revokedCertificates and parses to no serials', () => {
    expect(parseCrl(issueCrl(ca, []), caCert).revokedSerials.size).toBe(0);
  });

  it.skipIf(!HAS_OPENSSL)(`openssl crl accepts our CRL and verifies its signature${WITHOUT_OPENSSL}`, () => {
    const out = execFileSync(OPENSSL, ['crl', '-in', crlFile, '-noout', '-text', '-CAfile', caFile], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toContain('Version 2');
    expect(out).toContain('ecdsa-with-SHA256');
    expect(out.replaceAll(':', '').toLowerCase()).toContain(leavingSerial);
    // `verify OK` goes to stderr; a signature that does not verify exits non-zero.
    const all = execFileSync(
      '/bin/sh',
      ['-c', `"${OPENSSL}" crl -in "${crlFile}" -noout -CAfile "${caFile}" 2>&1`],
      {
        encoding: 'utf8',
      },
    );
    expect(all).toContain('verify OK');
    // And openssl's own chain check refuses the revoked certificate with a current list, but not the other one.
    const current = write('current.pem', issueCrl(ca, [{ serial: leavingSerial }]));
    const verify = (cert: string) =>
      execFileSync('/bin/sh', [
        '-c',
        `"${OPENSSL}" verify -crl_check -CAfile "${caFile}" -CRLfile "${current}" "${cert}" 2>&1; true`,
      ]).toString();
    expect(verify(write('leaving.pem', leaving.certPem))).toContain('certificate revoked');
    expect(verify(write('staying.pem', staying.certPem))).toContain('OK');
  });

  it.skipIf(!HAS_OPENSSL)(`reads CRLs made by openssl ca -gencrl (EC v2, RSA v1)${WITHOUT_OPENSSL}`, () => {
    const opensslSerial = execFileSync(OPENSSL, [
      'x509',
      '-in',
      write('ossl-leaf.pem', leaving.certPem),
      '-noout',
      '-serial',
    ])
      .toString()
      .trim()
      .split('=')[1]!;
    /** `openssl ca -gencrl` over an index revoking `leaving`; with a crlnumber file (and a reason), openssl makes v2. */
    const gencrl = (name: string, caPem: string, keyPem: string, v2: boolean): string => {
      const sub = mkdtempSync(join(dir, `${name}-`));
      const at = (f: string) => join(sub, f);
      writeFileSync(at('ca.pem'), caPem);
      writeFileSync(at('ca.key'), keyPem);
      const revoked = v2 ? '240102030405Z,keyCompromise' : '240102030405Z';
      writeFileSync(at('index.txt'), `R\t301231000000Z\t${revoked}\t${opensslSerial}\tunknown\t/CN=bank-c\n`);
      if (v2) writeFileSync(at('crlnumber'), '1000\n');
      const config = [
        '[ca]',
        'default_ca = d',
        '[d]',
        `database = ${at('index.txt')}`,
        'default_md = sha256',
      ];
      if (v2) config.push(`crlnumber = ${at('crlnumber')}`);
      writeFileSync(at('ca.cnf'), `${config.join('\n')}\ndefault_crl_days = 30\n`);
      execFileSync(
        OPENSSL,
        [
          'ca',
          '-gencrl',
          '-batch',
          '-config',
          at('ca.cnf'),
          '-keyfile',
          at('ca.key'),
          '-cert',
          at('ca.pem'),
        ].concat(['-out', at('crl.pem')]),
        { stdio: 'ignore' },
      );
      return readFileSync(at('crl.pem'), 'utf8');
    };
    const ec = parseCrl(gencrl('ec', ca.certPem, ca.keyPem, true), caCert);
    expect([...ec.revokedSerials]).toEqual([leavingSerial]);

    const rsaDir = mkdtempSync(join(dir, 'rsa-ca-'));
    const rsaKey = join(rsaDir, 'ca.key');
    const rsaCert = join(rsaDir, 'ca.pem');
    execFileSync(
      OPENSSL,
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        '30',
        '-subj',
        '/O=test/CN=rsa CA',
      ].concat(['-keyout', rsaKey, '-out', rsaCert]),
      { stdio: 'ignore' },
    );
    const rsaCaPem = readFileSync(rsaCert, 'utf8');
    const rsaCrl = gencrl('rsa', rsaCaPem, readFileSync(rsaKey, 'utf8'), false);
    const rsa = parseCrl(rsaCrl, new X509Certificate(rsaCaPem));
    expect([...rsa.revokedSerials]).toEqual([leavingSerial]);
    // v1 (no version field) signed with sha256WithRSAEncryption: the path openssl took.
    expect(childrenOf(childrenOf(parseDer(derOf(rsaCrl)))[0]!)[0]!.tag).toBe(0x30);
    // And the RSA CA's list is not ours.
    expect(thrown(() => parseCrl(rsaCrl, caCert)).params['reason']).toBe(
      'its issuer is not the consortium CA',
    );
  });

  it('refuses a CRL from another CA: by issuer when its name differs, by signature when only the key does', () => {
    const other = createAuthority('elsewhere');
    const named = thrown(() => parseCrl(issueCrl(other, [{ serial: leavingSerial }]), caCert));
    expect(named.code).toBe('ACCORD_TLS_CRL_INVALID');
    expect(named.message).toContain('its issuer is not the consortium CA');
    const impostor = createAuthority('test'); // same subject Name, another key
    const signed = thrown(() =>
      parseCrl(issueCrl(impostor, [{ serial: leavingSerial }]), caCert, 'impostor.pem'),
    );
    expect(signed.code).toBe('ACCORD_TLS_CRL_INVALID');
    expect(signed.message).toBe(
      'certificate revocation list impostor.pem is refused: its signature does not verify with the consortium CA',
    );
  });

  it('refuses a CRL with one byte flipped in the signature, in the serial list or in thisUpdate', () => {
    const der = derOf(crlPem);
    const [tbs] = childrenOf(parseDer(der));
    const fields = childrenOf(tbs!);
    // tbsCertList: version, signature, issuer, thisUpdate, nextUpdate, revokedCertificates, [0] extensions.
    const thisUpdate = fields[3]!;
    const [firstEntry] = childrenOf(fields[5]!);
    const [serial] = childrenOf(firstEntry!);
    const endOf = (node: { offset: number; raw: Buffer }) => node.offset + node.raw.length - 1;
    const flipped = (at: number, mask = 0x01) => {
      const copy = Buffer.from(der);
      copy[at]! ^= mask;
      return copy;
    };
    expect(readInteger(serial, 'serial').toString(16)).toBe(leavingSerial);
    for (const [what, bytes] of [
      ['signature', flipped(der.length - 1)],
      ['serial list', flipped(endOf(serial!))],
      // The seconds digit before the Z: still a valid time (0<->1, 2<->3, ...), but no longer what was signed.
      ['thisUpdate', flipped(endOf(thisUpdate) - 1)],
    ] as const) {
      const err = thrown(() => parseCrl(bytes, caCert, what));
      expect(err.code, what).toBe('ACCORD_TLS_CRL_INVALID');
      expect(err.params['reason'], what).toBe('its signature does not verify with the consortium CA');
    }
  });

  it('refuses garbage, a certificate, truncated and padded DER, each with ACCORD_TLS_CRL_INVALID', () => {
    const cases: Array<[Buffer | string, RegExp]> = [
      ['hello, world', /neither PEM .* nor DER/],
      [Buffer.alloc(0), /neither PEM .* nor DER/],
      [leaving.certPem, /holds a PEM CERTIFICATE, not an X509 CRL/],
      [derOf(leaving.certPem), /^malformed: /],
      [derOf(crlPem).subarray(0, 100), /^malformed: .*runs past the end/],
      [Buffer.concat([derOf(crlPem), Buffer.from([0])]), /^malformed: 1 trailing byte/],
      [crlPem + crlPem, /2 X509 CRL blocks/],
      ['-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n', /not valid base64/],
    ];
    for (const [input, reason] of cases) {
      const err = thrown(() => parseCrl(input, caCert, 'f'));
      expect(err.code).toBe('ACCORD_TLS_CRL_INVALID');
      expect(String(err.params['reason'])).toMatch(reason);
    }
  });

  it('refuses an unsupported signature algorithm, one that does not fit the CA key, and unknown critical extensions', () => {
    /** A CRL built field by field and signed by the CA, to reach the checks `issueCrl` never trips. */
    const crafted = (algorithmOid: string, extensions: Buffer[]) => {
      const algorithm = sequence(objectIdentifier(algorithmOid));
      const tbs = sequence(
        smallInteger(1),
        algorithm,
        subjectNameDer(caCert),
        time(new Date('2026-03-01T00:00:00Z')),
        sequence(sequence(smallInteger(7), time(new Date('2026-03-01T00:00:00Z')))),
        ...(extensions.length ? [explicit(0, sequence(...extensions))] : []),
      );
      return sequence(tbs, algorithm, bitString(sign('sha256', tbs, { key: ca.key, dsaEncoding: 'der' })));
    };
    const reason = (der: Buffer) => thrown(() => parseCrl(der, caCert)).params['reason'];
    // The builder itself is sound: a plain crafted list parses (no nextUpdate, which is optional).
    expect(parseCrl(crafted('1.2.840.10045.4.3.2', []), caCert)).toMatchObject({ nextUpdate: null });
    expect(reason(crafted('1.2.840.10045.4.3.1', []))).toBe(
      'unsupported signature algorithm 1.2.840.10045.4.3.1',
    );
    expect(reason(crafted('1.2.840.113549.1.1.11', []))).toBe(
      "its signature algorithm sha256WithRSAEncryption does not fit the consortium CA's ec key",
    );
    // issuingDistributionPoint, critical: a partitioned list does not say "everything this CA revoked".
    const idp = sequence(objectIdentifier('2.5.29.28'), booleanTrue(), octetString(sequence()));
    expect(reason(crafted('1.2.840.10045.4.3.2', [idp]))).toBe(
      'it has a critical CRL extension Accord does not support (2.5.29.28)',
    );
    const number = sequence(objectIdentifier('2.5.29.20'), octetString(smallInteger(1)));
    expect(reason(crafted('1.2.840.10045.4.3.2', [number, number]))).toMatch(/^malformed: .*appears twice/);
  });
});

describe('Revocation', () => {
  const caPem = Buffer.from(ca.certPem);
  const peer = (cert: string, member: string) => ({ member, serial: new X509Certificate(cert).serialNumber });

  it('refuses by member name, by deny-listed serial in any form, and by CRL; lets the others in', () => {
    const upper = new X509Certificate(leaving.certPem).serialNumber;
    const colons = upper.match(/.{1,2}/g)!.join(':');
    for (const form of [
      upper,
      upper.toLowerCase(),
      colons,
      colons.toLowerCase(),
      `0x${upper}`,
      leavingSerial,
    ]) {
      const revocation = new Revocation({ deniedMembers: [], deniedSerials: ['01', form] }, caPem);
      expect(revocation.match(peer(leaving.certPem, 'bank-c')), form).toBe('serial');
      expect(revocation.check(peer(staying.certPem, 'bank-a')), form).toBe(false);
    }
    const byMember = new Revocation({ deniedMembers: ['bank-c'], deniedSerials: [] }, caPem);
    expect(byMember.match(peer(leaving.certPem, 'bank-c'))).toBe('member');
    expect(byMember.check(peer(staying.certPem, 'bank-a'))).toBe(false);
    const byCrl = new Revocation(
      {
        deniedMembers: [],
        deniedSerials: [],
        crlFile: write('r.pem', issueCrl(ca, [{ serial: leavingSerial }])),
      },
      caPem,
    );
    expect(byCrl.match(peer(leaving.certPem, 'bank-c'))).toBe('crl');
    expect(byCrl.check(peer(staying.certPem, 'bank-a'))).toBe(false);
    expect(byCrl.describe()).toMatchObject({
      deniedMembers: 0,
      deniedSerials: 0,
      crl: { revoked: 1, stale: false },
    });
    // A peer serial that is not hex cannot happen after a handshake; if it does, it fails closed.
    expect(byCrl.check({ member: 'bank-a', serial: '' })).toBe(true);
  });

  it('refuses bad deny-list entries with ACCORD_CONFIG_INVALID', () => {
    const err = thrown(() => new Revocation({ deniedMembers: ['Bank C'], deniedSerials: ['xyz'] }, caPem));
    expect(err.code).toBe('ACCORD_CONFIG_INVALID');
    expect(err.message).toContain('deniedMembers[0]');
    expect(err.message).toContain('deniedSerials[0]');
  });

  it('refuses to start on a broken or missing CRL', () => {
    const broken = write('broken-start.pem', 'garbage');
    expect(
      thrown(() => new Revocation({ deniedMembers: [], deniedSerials: [], crlFile: broken }, caPem)).code,
    ).toBe('ACCORD_TLS_CRL_INVALID');
    const missing = join(dir, 'missing.pem');
    expect(
      thrown(() => new Revocation({ deniedMembers: [], deniedSerials: [], crlFile: missing }, caPem)).code,
    ).toBe('ACCORD_TLS_FILE_UNREADABLE');
  });

  it('reload reports changes; a broken, missing or older CRL keeps the revocations in force and throws', () => {
    const file = join(dir, 'reload.pem');
    const t0 = new Date('2026-05-01T00:00:00Z');
    writeFileSync(file, issueCrl(ca, [{ serial: leavingSerial }], { thisUpdate: t0 }));
    const settings = { deniedMembers: [], deniedSerials: [], crlFile: file };
    const revocation = new Revocation(settings, caPem);
    const before = revocation.describe();

    writeFileSync(file, 'not a crl');
    expect(thrown(() => revocation.reload(settings)).code).toBe('ACCORD_TLS_CRL_INVALID');
    expect(revocation.check(peer(leaving.certPem, 'bank-c'))).toBe(true);
    expect(revocation.describe()).toEqual(before);

    const tampered = Buffer.from(derOf(issueCrl(ca, [], { thisUpdate: new Date('2026-05-02T00:00:00Z') })));
    tampered[tampered.length - 1]! ^= 1;
    writeFileSync(file, tampered);
    expect(thrown(() => revocation.reload(settings)).code).toBe('ACCORD_TLS_CRL_INVALID');
    expect(revocation.check(peer(leaving.certPem, 'bank-c'))).toBe(true);

    rmSync(file);
    expect(thrown(() => revocation.reload(settings)).code).toBe('ACCORD_TLS_FILE_UNREADABLE');
    expect(revocation.check(peer(leaving.certPem, 'bank-c'))).toBe(true);

    // A replayed older list (validly signed, from before the revocation) would un-revoke: refused.
    writeFileSync(file, issueCrl(ca, [], { thisUpdate: new Date('2026-04-01T00:00:00Z') }));
    expect(thrown(() => revocation.reload(settings)).params['reason']).toMatch(
      /older than the list in force/,
    );
    expect(revocation.check(peer(leaving.certPem, 'bank-c'))).toBe(true);

    // A newer valid list, and a deny-listed member: the change is reported.
    writeFileSync(
      file,
      issueCrl(ca, [{ serial: stayingSerial }], { thisUpdate: new Date('2026-06-01T00:00:00Z') }),
    );
    expect(revocation.reload({ ...settings, deniedMembers: ['bank-d'] })).toEqual({
      added: ['member:bank-d', `serial:${stayingSerial}`],
      removed: [`serial:${leavingSerial}`],
    });
    expect(revocation.check(peer(leaving.certPem, 'bank-c'))).toBe(false);
    expect(revocation.check(peer(staying.certPem, 'bank-a'))).toBe(true);
    expect(revocation.describe()).toMatchObject({ deniedMembers: 1, crl: { revoked: 1 } });
  });
});
