/**
 * Reads an X.509 v2 certificate revocation list (RFC 5280 §5) and accepts it only when the consortium CA signed it,
 * so that "a member can leave": the coordinator refuses a certificate whose serial the CA has revoked. Why our own
 * parser: node:crypto verifies signatures but has no CRL reader, and the structure is small (see `der-reader.ts`).
 *
 * What is checked, in order: PEM (`-----BEGIN X509 CRL-----`) or DER; strict DER structure; version v1 or v2; the
 * issuer Name is byte-for-byte the CA's subject Name; the signature algorithm is supported, the same inside and
 * outside the signed part, and fits the CA's key type; the signature verifies with the CA's public key; no critical
 * extension Accord does not understand (a delta CRL, an indirect CRL or a partitioned CRL is refused: each would
 * make the list mean something other than "every revoked certificate of this CA"). Freshness (`nextUpdate` in the
 * past) is NOT refused here: a stale list still names revoked certificates; the caller decides what to do with it.
 * Any problem throws ACCORD_TLS_CRL_INVALID naming the file and the reason.
 */
import { constants, type KeyObject, verify, type X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AccordError } from '../../primitives/errors/index.js';
import {
  childrenOf,
  contextTag,
  DerError,
  type DerNode,
  expectTag,
  parseDer,
  readBitStringBytes,
  readBoolean,
  readInteger,
  readOid,
  readTime,
  sequenceOf,
  TAG,
} from './der-reader.js';

export interface Crl {
  readonly thisUpdate: Date;
  /** Absent in the CRL = null (RFC 5280 wants it present, but v1 lists may omit it). */
  readonly nextUpdate: Date | null;
  /** Serials of the revoked certificates, normalised with `normaliseSerial`. */
  readonly revokedSerials: ReadonlySet<string>;
}

/** Signature algorithms accepted, by OID: the digest node:crypto takes and the CA key type it must go with. */
const SIGNATURE_ALGORITHMS: Readonly<
  Record<
    string,
    { name: string; hash: string | null; keyType: 'ec' | 'rsa' | 'ed25519'; nullParams: boolean }
  >
> = {
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256', keyType: 'ec', nullParams: false },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384', keyType: 'ec', nullParams: false },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512', keyType: 'ec', nullParams: false },
  '1.2.840.113549.1.1.11': {
    name: 'sha256WithRSAEncryption',
    hash: 'sha256',
    keyType: 'rsa',
    nullParams: true,
  },
  '1.2.840.113549.1.1.12': {
    name: 'sha384WithRSAEncryption',
    hash: 'sha384',
    keyType: 'rsa',
    nullParams: true,
  },
  '1.2.840.113549.1.1.13': {
    name: 'sha512WithRSAEncryption',
    hash: 'sha512',
    keyType: 'rsa',
    nullParams: true,
  },
  '1.3.101.112': { name: 'Ed25519', hash: null, keyType: 'ed25519', nullParams: false },
};

/**
 * Extensions Accord understands well enough to accept even if marked critical (they do not change which
 * certificates the list covers). Any other critical extension refuses the CRL (RFC 5280 §5.2, §5.3).
 */
const KNOWN_CRL_EXTENSIONS = new Set([
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.20', // cRLNumber
  '2.5.29.18', // issuerAltName
]);
const KNOWN_ENTRY_EXTENSIONS = new Set([
  '2.5.29.21', // reasonCode: every listed reason (certificateHold included) means "refuse it now"
  '2.5.29.24', // invalidityDate
]);

/** A refusal reason, turned into ACCORD_TLS_CRL_INVALID with the file name by `parseCrl`. */
class CrlRefusal extends Error {}

/**
 * A serial number as Accord compares it: lowercase hex, no leading zeros, no colons, `-` for the (non-conforming
 * but existing) negative serials. Accepts what node's `X509Certificate.serialNumber` and a `tls.PeerCertificate`'s
 * `serialNumber` give (uppercase hex, possibly a leading zero nibble, `-05` for negatives) and what operators type
 * (`0A:1B:...`, `0x0a1b`, any case). Throws RangeError for anything that is not a hex number.
 */
export function normaliseSerial(serial: string): string {
  const text = serial.trim().toLowerCase();
  const match = /^(-?)(?:0x)?([0-9a-f]+(?::[0-9a-f]+)*)$/.exec(text);
  if (!match) throw new RangeError(`not a hexadecimal serial number: ${JSON.stringify(serial)}`);
  const magnitude = BigInt(`0x${match[2]!.replaceAll(':', '')}`);
  return serialFromBigInt(match[1] === '-' ? -magnitude : magnitude);
}

function serialFromBigInt(n: bigint): string {
  return n < 0n ? `-${(-n).toString(16)}` : n.toString(16);
}

/** The DER of a certificate's subject Name (what a CRL's issuer must equal byte for byte). */
export function subjectNameDer(cert: X509Certificate): Buffer {
  const [tbs] = sequenceOf(parseDer(cert.raw), 'Certificate');
  const fields = sequenceOf(tbs, 'tbsCertificate');
  // [0] version (optional), serialNumber, signature, issuer, validity, subject.
  const start = fields[0]?.tag === contextTag(0) ? 1 : 0;
  return Buffer.from(expectTag(fields[start + 4], TAG.SEQUENCE, 'subject').raw);
}

/** The CRL's DER from PEM text or raw DER; refuses anything else with a reason that says what it was instead. */
function toDer(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  if (bytes.length > 0 && bytes[0] === TAG.SEQUENCE) return bytes;
  const text = bytes.toString('latin1');
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)];
  const crls = blocks.filter((b) => b[1] === 'X509 CRL');
  if (crls.length === 0) {
    if (blocks.length > 0) {
      const labels = [...new Set(blocks.map((b) => b[1]))].join(', ');
      throw new CrlRefusal(`it holds a PEM ${labels}, not an X509 CRL`);
    }
    throw new CrlRefusal('it is neither PEM (-----BEGIN X509 CRL-----) nor DER');
  }
  if (crls.length > 1) throw new CrlRefusal(`it holds ${crls.length} X509 CRL blocks; give exactly one`);
  const body = crls[0]![2]!.replace(/\s+/g, '');
  if (body.length === 0 || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    throw new CrlRefusal('the PEM block is not valid base64');
  }
  return Buffer.from(body, 'base64');
}

/** Refuses duplicate extensions and critical ones outside `known` (RFC 5280 §4.2, §5.2). */
function checkExtensions(extensions: DerNode, known: ReadonlySet<string>, where: string): void {
  const seen = new Set<string>();
  for (const extension of sequenceOf(extensions, `${where} extensions`)) {
    const fields = sequenceOf(extension, `${where} extension`);
    const oid = readOid(fields[0], `${where} extension id`);
    let k = 1;
    // critical BOOLEAN DEFAULT FALSE: usually absent; an explicit FALSE is tolerated.
    const critical =
      fields[k]?.tag === TAG.BOOLEAN ? readBoolean(fields[k++], `${where} extension critical`) : false;
    expectTag(fields[k++], TAG.OCTET_STRING, `${where} extension ${oid} value`);
    if (k !== fields.length) throw new DerError(`${where} extension ${oid} has extra fields`);
    if (seen.has(oid)) throw new DerError(`${where} extension ${oid} appears twice`);
    seen.add(oid);
    if (critical && !known.has(oid)) {
      throw new CrlRefusal(`it has a critical ${where} extension Accord does not support (${oid})`);
    }
  }
}

interface Structure {
  readonly tbs: DerNode;
  readonly algorithm: DerNode;
  readonly signature: Buffer;
  readonly issuer: DerNode;
  readonly crl: Crl;
}

/** Decodes CertificateList (RFC 5280 §5.1) without judging the signature or the issuer yet. */
function decode(der: Buffer): Structure {
  const [tbsNode, algorithm, signatureNode, ...extra] = sequenceOf(parseDer(der), 'CertificateList');
  if (extra.length) throw new DerError('CertificateList has extra fields');
  const tbs = sequenceOf(tbsNode, 'tbsCertList');
  let i = 0;
  // version is absent for v1; when present it must be v2 (INTEGER 1).
  let v2 = false;
  if (tbs[i]?.tag === TAG.INTEGER) {
    const version = readInteger(tbs[i++], 'version');
    if (version !== 1n) throw new DerError(`version ${version + 1n} is not a CRL version (v1 or v2)`);
    v2 = true;
  }
  const innerAlgorithm = expectTag(tbs[i++], TAG.SEQUENCE, 'tbsCertList.signature');
  const issuer = expectTag(tbs[i++], TAG.SEQUENCE, 'issuer');
  const thisUpdate = readTime(tbs[i++], 'thisUpdate');
  let nextUpdate: Date | null = null;
  if (tbs[i]?.tag === TAG.UTC_TIME || tbs[i]?.tag === TAG.GENERALIZED_TIME) {
    nextUpdate = readTime(tbs[i++], 'nextUpdate');
  }
  const revokedSerials = new Set<string>();
  if (tbs[i]?.tag === TAG.SEQUENCE) {
    for (const entry of childrenOf(tbs[i++]!)) {
      const [serial, date, extensions, ...rest] = sequenceOf(entry, 'revoked certificate entry');
      const normalised = serialFromBigInt(readInteger(serial, 'revoked certificate serial'));
      readTime(date, 'revocationDate');
      if (rest.length)
        throw new DerError(`revoked certificate entry at byte ${entry.offset} has extra fields`);
      if (extensions) {
        if (!v2) throw new DerError('a v1 CRL carries entry extensions');
        checkExtensions(extensions, KNOWN_ENTRY_EXTENSIONS, 'entry');
      }
      revokedSerials.add(normalised);
    }
  }
  if (tbs[i]?.tag === contextTag(0)) {
    if (!v2) throw new DerError('a v1 CRL carries CRL extensions');
    const [extensions, ...rest] = childrenOf(tbs[i++]!);
    if (!extensions || rest.length) throw new DerError('crlExtensions must hold exactly one SEQUENCE');
    checkExtensions(extensions, KNOWN_CRL_EXTENSIONS, 'CRL');
  }
  if (i !== tbs.length) throw new DerError(`unexpected field at byte ${tbs[i]!.offset} of tbsCertList`);
  // RFC 5280 §5.1.1.2: the algorithm inside the signed part must equal the outer one (else it could be swapped).
  expectTag(algorithm, TAG.SEQUENCE, 'signatureAlgorithm');
  if (!innerAlgorithm.raw.equals(algorithm!.raw)) {
    throw new DerError('the signature algorithm inside the signed part differs from the outer one');
  }
  const signature = readBitStringBytes(signatureNode, 'signatureValue');
  return {
    tbs: tbsNode!,
    algorithm: algorithm!,
    signature,
    issuer,
    crl: { thisUpdate, nextUpdate, revokedSerials },
  };
}

/** Verifies the CRL's signature with the CA key, refusing algorithms that do not fit the key. */
function checkSignature(structure: Structure, caKey: KeyObject): void {
  const [oidNode, params, ...rest] = sequenceOf(structure.algorithm, 'signatureAlgorithm');
  const oid = readOid(oidNode, 'signatureAlgorithm');
  const algorithm = SIGNATURE_ALGORITHMS[oid];
  if (!algorithm) throw new CrlRefusal(`unsupported signature algorithm ${oid}`);
  const paramsOk =
    params === undefined || (algorithm.nullParams && params.tag === TAG.NULL && !params.value.length);
  if (!paramsOk || rest.length) throw new DerError(`${algorithm.name} has unexpected parameters`);
  if (caKey.asymmetricKeyType !== algorithm.keyType) {
    throw new CrlRefusal(
      `its signature algorithm ${algorithm.name} does not fit the consortium CA's ${caKey.asymmetricKeyType ?? 'unknown'} key`,
    );
  }
  let ok: boolean;
  try {
    const key =
      algorithm.keyType === 'ec'
        ? { key: caKey, dsaEncoding: 'der' as const }
        : algorithm.keyType === 'rsa'
          ? { key: caKey, padding: constants.RSA_PKCS1_PADDING }
          : caKey;
    ok = verify(algorithm.hash, structure.tbs.raw, key, structure.signature);
  } catch {
    // A signature that is not even well-formed (bad DER for ECDSA, wrong length for RSA) simply does not verify.
    ok = false;
  }
  if (!ok) throw new CrlRefusal('its signature does not verify with the consortium CA');
}

/**
 * Parses and verifies a CRL issued by `ca`. `file` only names the source in the error (`(inline)` when the bytes
 * did not come from a file). Returns the dates and the normalised revoked serials.
 */
export function parseCrl(data: Buffer | string, ca: X509Certificate, file = '(inline)'): Crl {
  try {
    const structure = decode(toDer(data));
    if (!structure.issuer.raw.equals(subjectNameDer(ca))) {
      throw new CrlRefusal('its issuer is not the consortium CA');
    }
    checkSignature(structure, ca.publicKey);
    return structure.crl;
  } catch (err) {
    if (err instanceof CrlRefusal) {
      throw new AccordError('ACCORD_TLS_CRL_INVALID', { file, reason: err.message }, { cause: err });
    }
    if (err instanceof DerError) {
      throw new AccordError(
        'ACCORD_TLS_CRL_INVALID',
        { file, reason: `malformed: ${err.message}` },
        { cause: err },
      );
    }
    throw err;
  }
}

/** Reads `file` and parses it with `parseCrl`; an unreadable file is ACCORD_TLS_FILE_UNREADABLE (what: CRL). */
export function loadCrlFile(file: string, ca: X509Certificate): Crl {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new AccordError('ACCORD_TLS_FILE_UNREADABLE', {
      what: 'CRL',
      file,
      reason: (err as NodeJS.ErrnoException).code ?? 'unreadable',
    });
  }
  return parseCrl(data, ca, file);
}
