/**
 * Loads a process's TLS material at start-up, refusing to start (with a coded error naming the file) when a file is
 * missing, unreadable, not PEM of the right kind, or when the key does not match the certificate.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AccordError } from '../../primitives/errors/index.js';
import { memberNameOf } from './identity.js';

export interface TlsMaterial {
  readonly caPem: Buffer;
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
  readonly certificate: X509Certificate;
  /** The name this process's own certificate carries (member name or `coordinator`). */
  readonly name: string;
}

function readPem(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new AccordError('ACCORD_TLS_FILE_UNREADABLE', {
      what,
      file,
      reason: (err as NodeJS.ErrnoException).code ?? 'unreadable',
    });
  }
}

function parseCertificate(what: string, file: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new AccordError('ACCORD_TLS_FILE_INVALID', { what, file, reason: (err as Error).message });
  }
}

function parseKey(what: string, file: string, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new AccordError('ACCORD_TLS_FILE_INVALID', { what, file, reason: (err as Error).message });
  }
}

/** Reads a certificate and its key and checks they match: a swapped file fails at start, not at a handshake. */
function loadCertAndKey(
  what: string,
  files: { cert: string; key: string },
): { certPem: Buffer; keyPem: Buffer; certificate: X509Certificate } {
  const certPem = readPem(`${what}certificate`, files.cert);
  const keyPem = readPem(`${what}key`, files.key);
  const certificate = parseCertificate(`${what}certificate`, files.cert, certPem);
  const key = parseKey(`${what}key`, files.key, keyPem);
  if (!certificate.checkPrivateKey(key)) {
    throw new AccordError('ACCORD_TLS_FILE_INVALID', {
      what: `${what}key`,
      file: files.key,
      reason: 'the key does not match the certificate',
    });
  }
  return { certPem, keyPem, certificate };
}

export function loadTlsMaterial(files: { ca: string; cert: string; key: string }): TlsMaterial {
  const caPem = readPem('CA', files.ca);
  const ca = parseCertificate('CA', files.ca, caPem);
  const { certPem, keyPem, certificate } = loadCertAndKey('', files);
  if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) {
    throw new AccordError('ACCORD_TLS_FILE_INVALID', {
      what: 'certificate',
      file: files.cert,
      reason: 'it was not issued by the configured CA',
    });
  }
  const name = memberNameOf(certificate);
  if (!name) throw new AccordError('ACCORD_TLS_PEER_UNIDENTIFIED');
  return { caPem, certPem, keyPem, certificate, name };
}

/** What the node's REST listener needs for HTTPS, as buffers for the https server (`ca` only for mutual TLS). */
export interface RestTlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** CA(s) that REST client certificates must chain to; absent = no client certificates asked for. */
  readonly ca?: Buffer;
}

/**
 * Loads `rest.tls` for the node's REST listener: the certificate and the key (which must match), and the client CA
 * if mutual TLS is on. Throws ACCORD_TLS_FILE_UNREADABLE or ACCORD_TLS_FILE_INVALID naming the file.
 */
export function loadRestTlsMaterial(files: {
  cert: string;
  key: string;
  clientCa?: string | undefined;
}): RestTlsMaterial {
  const { certPem, keyPem } = loadCertAndKey('REST ', files);
  if (!files.clientCa) return { cert: certPem, key: keyPem };
  const ca = readPem('REST client CA', files.clientCa);
  parseCertificate('REST client CA', files.clientCa, ca);
  return { cert: certPem, key: keyPem, ca };
}

/**
 * Loads what a REST client (the CLI) may bring: a CA to verify the node with, and a client certificate and key for
 * nodes that ask for one. Same checks and coded errors as the listener's files.
 */
export function loadRestClientTls(files: {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  let ca: Buffer | undefined;
  if (files.ca) {
    ca = readPem('CA', files.ca);
    parseCertificate('CA', files.ca, ca);
  }
  // Both or neither: the caller reports a lone --cert or --key as a usage error.
  const client =
    files.cert && files.key ? loadCertAndKey('client ', { cert: files.cert, key: files.key }) : undefined;
  return {
    ...(ca ? { ca } : {}),
    ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
  };
}
