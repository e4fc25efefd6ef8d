/**
 * X25519 key agreement (RFC 7748) for secure aggregation, through node:crypto, with raw 32-byte public keys.
 *
 * Each participant holds two fresh key pairs per round (`protocol.ts`): c, whose agreement keys the share boxes
 * (`share-box.ts`), and s, whose agreement seeds the pairwise masks. From the shared secret X25519(s_i, S_j) both
 * members of a pair derive the same 32-byte mask seed s_ij = HKDF-SHA256(shared, info = H(label, session, round,
 * lower name, higher name)): order-independent, and different for every session, round and pair, so a mask is never
 * reused even if a key were.
 *
 * A shared secret of all zeros comes only from a low-order public key (RFC 7748 section 6.1); it carries no secret
 * and is refused (OpenSSL refuses it too).
 *
 * The secret half of a key pair is only ever: kept by its owner, Shamir-shared by its owner to its neighbours (the s
 * key, so that the coordinator can remove the pairwise masks of a participant that drops), and rebuilt by the
 * coordinator from those shares for a dropped participant only (`X25519KeyPair.recover`).
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { checkBytes, hashFields } from './encoding.js';
import { SEED_BYTES } from './prg.js';
import { SECAGG_LABEL } from './stages.js';

export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 32;

// PKCS#8 wrapping of a raw X25519 private key (RFC 8410), as in primitives/psi/psi-key.ts.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The pair a mask seed belongs to; `a` and `b` may come in either order. */
export interface PairContext {
  readonly session: string;
  readonly round: number;
  readonly a: string;
  readonly b: string;
}

function rawPublic(key: KeyObject): Uint8Array {
  const x = key.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new TypeError('not an X25519 key');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

function fromSecret(secret: Uint8Array): { privateKey: KeyObject; publicKey: Uint8Array } {
  checkBytes(secret, SECRET_KEY_BYTES, 'secret key');
  const der = Buffer.concat([PKCS8_PREFIX, secret]);
  try {
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return { privateKey, publicKey: rawPublic(createPublicKey(privateKey)) };
  } finally {
    der.fill(0);
  }
}

export class X25519KeyPair {
  readonly #privateKey: KeyObject;
  /** Raw 32-byte public key (RFC 7748 u-coordinate, little-endian). */
  readonly publicKey: Uint8Array;

  private constructor(privateKey: KeyObject, publicKey: Uint8Array) {
    this.#privateKey = privateKey;
    this.publicKey = publicKey;
  }

  /** A fresh random key pair: one per purpose, participant and round. */
  static generate(): X25519KeyPair {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    return new X25519KeyPair(privateKey, rawPublic(publicKey));
  }

  /**
   * Rebuilds the key pair of a dropped participant from its secret key reconstructed from Shamir shares, so that the
   * coordinator can compare the public key with the signed one and remove that participant's pairwise masks. Never
   * use it to make a key for a round: that is `generate()`.
   */
  static recover(secret: Uint8Array): X25519KeyPair {
    const { privateKey, publicKey } = fromSecret(secret);
    return new X25519KeyPair(privateKey, publicKey);
  }

  /**
   * WARNING: for tests and known-answer vectors only. A key pair from fixed bytes is public: anyone could strip the
   * masks it seeds or open the boxes it keys.
   */
  static fromSecretForTesting(secret: Uint8Array): X25519KeyPair {
    return X25519KeyPair.recover(secret);
  }

  /**
   * The raw 32-byte secret key. Never send it, log it or store it: its owner reads it only to Shamir-share it, and
   * the copy returned should be zeroed after use.
   */
  secretKeyBytes(): Uint8Array {
    const d = this.#privateKey.export({ format: 'jwk' }).d;
    if (typeof d !== 'string') throw new TypeError('secret key not exportable');
    return new Uint8Array(Buffer.from(d, 'base64url'));
  }

  /**
   * X25519(secret, theirPublic). Throws TypeError/RangeError for a public key that is not 32 bytes or that yields the
   * all-zero secret (low order); the message never contains key material.
   */
  sharedSecret(theirPublic: Uint8Array): Uint8Array {
    checkBytes(theirPublic, PUBLIC_KEY_BYTES, 'public key');
    let shared: Buffer;
    try {
      const publicKey = createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(theirPublic).toString('base64url') },
        format: 'jwk',
      });
      shared = diffieHellman({ privateKey: this.#privateKey, publicKey });
    } catch (cause) {
      throw new RangeError('X25519 agreement refused (low-order or invalid public key)', { cause });
    }
    let any = 0;
    for (const byte of shared) any |= byte;
    if (any === 0) throw new RangeError('X25519 agreement refused (low-order public key)');
    return new Uint8Array(shared);
  }
}

/** HKDF-SHA256(ikm, no salt, info = H(label, fields)) -> 32 bytes. */
export function deriveKey(ikm: Uint8Array, label: string, fields: readonly (string | number)[]): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, new Uint8Array(0), hashFields(label, fields), SEED_BYTES));
}

function checkContext(context: PairContext): void {
  if (typeof context.a !== 'string' || typeof context.b !== 'string' || context.a === context.b) {
    throw new RangeError('a pair needs two different member names');
  }
}

/**
 * The pairwise mask seed s_ij of `context`'s pair: HKDF-SHA256 of X25519(mine, theirPublic) with the session, the
 * round and the two names in sorted order. Both members get the same 32 bytes. Throws like `sharedSecret`.
 */
export function pairwiseSeed(mine: X25519KeyPair, theirPublic: Uint8Array, context: PairContext): Uint8Array {
  checkContext(context);
  const [lo, hi] = context.a < context.b ? [context.a, context.b] : [context.b, context.a];
  const shared = mine.sharedSecret(theirPublic);
  try {
    return deriveKey(shared, SECAGG_LABEL.PAIR_SEED, [context.session, context.round, lo, hi]);
  } finally {
    shared.fill(0);
  }
}
