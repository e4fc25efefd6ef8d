/**
 * Shared plumbing of `MemberKey` and `CoordinatorKey`: strict base64 parsing and validation of a secret
 * ristretto255 scalar. Errors never include the key text or bytes.
 */
import { AccordError } from '../errors/index.js';
import { isCanonicalNonZeroScalar, SCALAR_BYTES } from './ristretto.js';

export type KeyRole = 'member' | 'coordinator';

/** Standard base64 of exactly 32 bytes: 43 characters and one `=` pad. */
const BASE64_32 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export function scalarFromBase64(role: KeyRole, text: string): Uint8Array {
  if (typeof text !== 'string' || !BASE64_32.test(text)) {
    throw new AccordError('ACCORD_OPRF_KEY_INVALID', {
      role,
      reason: 'not the standard base64 of 32 bytes (44 characters ending in "=")',
    });
  }
  return checkedScalar(role, new Uint8Array(Buffer.from(text, 'base64')));
}

export function checkedScalar(role: KeyRole, bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SCALAR_BYTES) {
    throw new AccordError('ACCORD_OPRF_KEY_INVALID', { role, reason: 'not 32 bytes' });
  }
  if (!isCanonicalNonZeroScalar(bytes)) {
    throw new AccordError('ACCORD_OPRF_KEY_INVALID', {
      role,
      reason: 'zero or not reduced modulo the ristretto255 group order',
    });
  }
  return Uint8Array.from(bytes);
}

export function scalarToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** What `util.inspect` and `JSON.stringify` show instead of a key. */
export const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
