/**
 * The coordinator key k_c of the fraud-token PRF (see `fraud-token.ts`): one secret ristretto255 scalar held by
 * the coordinator only — never by a member node, which holds k_m. Anyone holding both k_m and k_c can compute
 * the token of any guessed identifier, so k_c must never be sent to a member, logged, or written anywhere but
 * the coordinator's key file.
 */
import { defaultBackend, type RistrettoBackend } from './ristretto.js';
import { checkedScalar, SecretScalarKey, scalarFromBase64 } from './secret-scalar.js';

export class CoordinatorKey extends SecretScalarKey {
  readonly role = 'coordinator' as const;

  private constructor(scalar: Uint8Array) {
    super(scalar);
  }

  /** A fresh uniformly random key (run once, on the coordinator). */
  static generate(backend: RistrettoBackend = defaultBackend): CoordinatorKey {
    return new CoordinatorKey(checkedScalar('coordinator', backend.randomScalar()));
  }

  /**
   * Reads the key from the coordinator's key file (standard base64 of the 32-byte little-endian scalar).
   * Throws ACCORD_OPRF_KEY_INVALID; the error never contains the text.
   */
  static fromBase64(text: string): CoordinatorKey {
    return new CoordinatorKey(scalarFromBase64('coordinator', text));
  }

  /** Rebuilds the coordinator's key inside its own crypto worker threads, from `secretScalar` handed over in memory. */
  static fromWorkerBytes(bytes: Uint8Array): CoordinatorKey {
    return new CoordinatorKey(checkedScalar('coordinator', bytes));
  }

  /**
   * WARNING: for tests and known-answer vectors only. Production keys come from `generate()` and `fromBase64()`;
   * a key built from fixed bytes is public and lets any member compute tokens offline.
   */
  static fromBytesForTesting(bytes: Uint8Array): CoordinatorKey {
    return new CoordinatorKey(checkedScalar('coordinator', bytes));
  }
}
