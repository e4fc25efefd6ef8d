/**
 * Loads a process's TLS material at start-up, refusing to start (with a coded error naming the file) when a file is
 * missing, unreadable, not PEM of the right kind, or when the key does not match the certificate.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AccordError } from '../../shared/errors/index.js';
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

function parseKey(file: string, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new AccordError('ACCORD_TLS_FILE_INVALID', { what: 'key', file, reason: (err as Error).message });
  }
}

export function loadTlsMaterial(files: { ca: string; cert: string; key: string }): TlsMaterial {
  const caPem = readPem('CA', files.ca);
  const certPem = readPem('certificate', files.cert);
  const keyPem = readPem('key', files.key);
  const ca = parseCertificate('CA', files.ca, caPem);
  const certificate = parseCertificate('certificate', files.cert, certPem);
  const key = parseKey(files.key, keyPem);
  if (!certificate.checkPrivateKey(key)) {
    throw new AccordError('ACCORD_TLS_FILE_INVALID', {
      what: 'key',
      file: files.key,
      reason: 'the key does not match the certificate',
    });
  }
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
