/**
 * Issues the development consortium's PKI: a CA, and leaf certificates for the coordinator (server + client auth)
 * and each member (client auth, member name in subject CN and as URI SAN `urn:accord:member:<name>`). ECDSA P-256,
 * SHA-256. Production consortia bring their own PKI; configs only point at PEM files. Also issues the development CA's
 * certificate revocation list (`issueCrl`), so that a member who leaves can be refused by serial.
 */
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString,
  booleanTrue,
  explicit,
  implicitPrimitive,
  objectIdentifier,
  octetString,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './der.js';
import { normaliseSerial, subjectNameDer } from './crl.js';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  crlNumber: '2.5.29.20',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

export interface IssuedPem {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface Authority extends IssuedPem {
  readonly key: KeyObject;
  readonly name: string;
  readonly spkiDer: Buffer;
}

function name(commonName: string, organization: string): Buffer {
  const rdn = (oid: string, value: string) => set(sequence(objectIdentifier(oid), utf8String(value)));
  return sequence(rdn(OID.organization, organization), rdn(OID.commonName, commonName));
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return sequence(objectIdentifier(oid), ...(critical ? [booleanTrue()] : []), octetString(value));
}

function keyId(spkiDer: Buffer): Buffer {
  return createHash('sha1').update(spkiDer).digest();
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

interface CertSpec {
  subject: string;
  organization: string;
  subjectSpki: Buffer;
  issuer: { name: string; key: KeyObject; spkiDer: Buffer };
  isCa: boolean;
  extKeyUsages: string[];
  altNames: { dns?: string[]; ip?: string[]; uri?: string[] };
  days: number;
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  throw new Error(`only IPv4 SANs are supported, got ${ip}`);
}

function certificate(spec: CertSpec): Buffer {
  const now = new Date(Date.now() - 60_000);
  const notAfter = new Date(now.getTime() + spec.days * 86_400_000);
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const algorithm = sequence(objectIdentifier(OID.ecdsaWithSha256));
  const sans = [
    ...(spec.altNames.dns ?? []).map((d) => implicitPrimitive(2, Buffer.from(d, 'ascii'))),
    ...(spec.altNames.uri ?? []).map((u) => implicitPrimitive(6, Buffer.from(u, 'ascii'))),
    ...(spec.altNames.ip ?? []).map((ip) => implicitPrimitive(7, ipBytes(ip))),
  ];
  const keyUsageBits = spec.isCa ? Buffer.from([0x01, 0x06]) : Buffer.from([0x05, 0xa0]);
  const extensions = [
    extension(OID.basicConstraints, true, sequence(...(spec.isCa ? [booleanTrue()] : []))),
    // keyUsage as a BIT STRING: first byte = unused bits. CA: keyCertSign|cRLSign; leaf: digitalSignature|keyEncipherment.
    extension(OID.keyUsage, true, Buffer.concat([Buffer.from([0x03, 0x02]), keyUsageBits])),
    extension(OID.subjectKeyId, false, octetString(keyId(spec.subjectSpki))),
    extension(OID.authorityKeyId, false, sequence(implicitPrimitive(0, keyId(spec.issuer.spkiDer)))),
    ...(spec.extKeyUsages.length
      ? [extension(OID.extKeyUsage, false, sequence(...spec.extKeyUsages.map(objectIdentifier)))]
      : []),
    ...(sans.length ? [extension(OID.subjectAltName, false, sequence(...sans))] : []),
  ];
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serial),
    algorithm,
    name(spec.issuer.name, spec.organization),
    sequence(time(now), time(notAfter)),
    name(spec.subject, spec.organization),
    spec.subjectSpki,
    explicit(3, sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, { key: spec.issuer.key, dsaEncoding: 'der' });
  return sequence(tbs, algorithm, bitString(signature));
}

function newKey(): { key: KeyObject; spkiDer: Buffer; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    key: privateKey,
    spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function createAuthority(consortium: string, days = 3650): Authority {
  const { key, spkiDer, keyPem } = newKey();
  const caName = `${consortium} consortium CA`;
  const der = certificate({
    subject: caName,
    organization: consortium,
    subjectSpki: spkiDer,
    issuer: { name: caName, key, spkiDer },
    isCa: true,
    extKeyUsages: [],
    altNames: {},
    days,
  });
  return { certPem: toPem('CERTIFICATE', der), keyPem, key, name: caName, spkiDer };
}

/** The development CA from its PEM files (`accord init` wrote them), to issue a CRL or more certificates. */
export function loadAuthority(certPem: string, keyPem: string): Authority {
  const cert = new X509Certificate(certPem);
  const key = createPrivateKey(keyPem);
  if (!cert.checkPrivateKey(key)) throw new Error('the CA key does not match the CA certificate');
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1] ?? 'consortium CA';
  return { certPem, keyPem, key, name: cn, spkiDer: cert.publicKey.export({ type: 'spki', format: 'der' }) };
}

export interface LeafRequest {
  /** Member name or `coordinator`; goes into the subject CN. */
  commonName: string;
  consortium: string;
  /** Server certificates (the coordinator) also get serverAuth and host names. */
  server?: { dns: string[]; ip: string[] };
  /**
   * Server authentication only (no clientAuth), for listeners that are not consortium peers (a node's REST API):
   * such a certificate cannot stand in for its member on the mutual-TLS gRPC channels.
   */
  serverOnly?: boolean;
  /** URI SAN naming the member, e.g. urn:accord:member:bank-a. */
  uri?: string;
  days?: number;
}

export function issueLeaf(ca: Authority, request: LeafRequest): IssuedPem {
  const { spkiDer, keyPem } = newKey();
  const der = certificate({
    subject: request.commonName,
    organization: request.consortium,
    subjectSpki: spkiDer,
    issuer: { name: ca.name, key: ca.key, spkiDer: ca.spkiDer },
    isCa: false,
    extKeyUsages: request.serverOnly
      ? [OID.serverAuth]
      : request.server
        ? [OID.serverAuth, OID.clientAuth]
        : [OID.clientAuth],
    altNames: {
      dns: request.server?.dns ?? [],
      ip: request.server?.ip ?? [],
      uri: request.uri ? [request.uri] : [],
    },
    days: request.days ?? 825,
  });
  return { certPem: toPem('CERTIFICATE', der), keyPem };
}

/** A certificate's serial number in the form CRLs and deny-lists are compared in (see `normaliseSerial`). */
export function serialOf(certPem: string | Buffer): string {
  return normaliseSerial(new X509Certificate(certPem).serialNumber);
}

/** Unsigned big-endian bytes of a non-negative hex number (any form `normaliseSerial` accepts). */
function hexBytes(value: string): Buffer {
  const hex = normaliseSerial(value);
  if (hex.startsWith('-')) throw new Error(`cannot encode a negative serial or CRL number: ${value}`);
  return Buffer.from(hex.padStart(hex.length + (hex.length % 2), '0'), 'hex');
}

export interface CrlOptions {
  /** Issue time; defaults to now (whole seconds: DER times carry no fractions). */
  thisUpdate?: Date;
  /** When the next list is due; defaults to 30 days after thisUpdate. */
  nextUpdate?: Date;
  /** cRLNumber extension (monotonic per CA); defaults to thisUpdate in seconds since the epoch. */
  crlNumber?: bigint;
}

/**
 * An X.509 v2 CRL (RFC 5280 §5) signed by the development CA, as PEM, listing `revoked` serials (any hex form
 * `normaliseSerial` accepts; `at` is the revocation date, default thisUpdate). Carries the authorityKeyIdentifier
 * and cRLNumber extensions RFC 5280 asks of a conforming CA; an empty list omits revokedCertificates as it must.
 */
export function issueCrl(
  ca: Authority,
  revoked: ReadonlyArray<{ serial: string; at?: Date }>,
  options: CrlOptions = {},
): string {
  const thisUpdate = options.thisUpdate ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  const nextUpdate = options.nextUpdate ?? new Date(thisUpdate.getTime() + 30 * 86_400_000);
  const crlNumber = options.crlNumber ?? BigInt(Math.floor(thisUpdate.getTime() / 1000));
  const algorithm = sequence(objectIdentifier(OID.ecdsaWithSha256));
  const entries = revoked.map((entry) =>
    sequence(unsignedInteger(hexBytes(entry.serial)), time(entry.at ?? thisUpdate)),
  );
  const tbs = sequence(
    smallInteger(1), // v2
    algorithm,
    // The issuer must equal the CA certificate's subject byte for byte: copy it rather than re-encode it.
    subjectNameDer(new X509Certificate(ca.certPem)),
    time(thisUpdate),
    time(nextUpdate),
    ...(entries.length ? [sequence(...entries)] : []),
    explicit(
      0,
      sequence(
        extension(OID.authorityKeyId, false, sequence(implicitPrimitive(0, keyId(ca.spkiDer)))),
        extension(OID.crlNumber, false, unsignedInteger(hexBytes(crlNumber.toString(16)))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, { key: ca.key, dsaEncoding: 'der' });
  return toPem('X509 CRL', sequence(tbs, algorithm, bitString(signature)));
}
