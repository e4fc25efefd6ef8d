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

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * What the member key and the coordinator key share: a validated secret scalar that serialises, prints and logs
 * as "redacted" and leaves only through `secretScalar` (a copy) or `toBase64` (for its own config file).
 */
export abstract class SecretScalarKey {
  abstract readonly role: KeyRole;
  readonly #scalar: Uint8Array;

  protected constructor(scalar: Uint8Array) {
    this.#scalar = scalar;
  }

  /** The base64 form for the holder's own key file. It is the secret itself: write it only there. */
  toBase64(): string {
    return scalarToBase64(this.#scalar);
  }

  /** The secret scalar (a copy; 32 bytes, little-endian). Never send, log or put it in an error. */
  get secretScalar(): Uint8Array {
    return Uint8Array.from(this.#scalar);
  }

  /** Same key of the same role? (Not constant-time; for tests and config checks.) */
  equals(other: SecretScalarKey): boolean {
    return (
      other instanceof SecretScalarKey && other.role === this.role && this.toBase64() === other.toBase64()
    );
  }

  toJSON(): string {
    return `[${this.constructor.name} redacted]`;
  }

  toString(): string {
    return this.toJSON();
  }

  [inspectSymbol](): string {
    return this.toJSON();
  }
}
