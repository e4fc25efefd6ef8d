/**
 * Share boxes: how participant i hands participant j its shares of b_i (the self-mask seed) and of s_i (the mask
 * secret key) through the coordinator, which relays the box but must not read it (with both shares of one party,
 * t holders' worth, the coordinator could strip that party's masks).
 *
 * box = nonce (12) || AES-256-GCM(key, nonce, share(b_i) || share(s_i), aad) || tag (16), where
 *   key = HKDF-SHA256(X25519(c_i, C_j), info = H(label, session, round, sender, receiver)) (`key-agreement.ts`),
 *   aad = label, session, round, sender, receiver (`encoding.ts`).
 * The key is one-directional (i -> j and j -> i get different keys) and the nonce random, so no key-nonce pair ever
 * repeats. The associated data binds the box to its round and to both names: a box replayed from another round, or
 * re-addressed by the relay, fails to open, as does any flipped bit. A box that does not open is
 * ACCORD_SECAGG_SHARE_INVALID naming the sender.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AccordError } from '../errors/index.js';
import { checkBytes, encodeFields } from './encoding.js';
import { deriveKey, type X25519KeyPair } from './key-agreement.js';
import { SHARE_BYTES } from './shamir.js';
import { SECAGG_LABEL } from './stages.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const PLAINTEXT_BYTES = 2 * SHARE_BYTES;
export const BOX_BYTES = NONCE_BYTES + PLAINTEXT_BYTES + TAG_BYTES;

export interface BoxContext {
  readonly session: string;
  readonly round: number;
  readonly sender: string;
  readonly receiver: string;
}

/** The two shares a box carries, both for the receiver's x-coordinate. */
export interface BoxedShares {
  /** Share of the sender's self-mask seed b. */
  readonly selfMaskShare: Uint8Array;
  /** Share of the sender's mask secret key s. */
  readonly maskKeyShare: Uint8Array;
}

function fields(context: BoxContext): (string | number)[] {
  return [context.session, context.round, context.sender, context.receiver];
}

/**
 * The box channel between one pair for one round: the X25519 agreement of the local c key pair with the peer's public
 * c key, computed once, from which each box's one-directional key is derived. Throws RangeError when constructed
 * with a malformed or low-order peer key.
 */
export class BoxChannel {
  #shared: Uint8Array | undefined;

  constructor(mine: X25519KeyPair, theirEncryptionKey: Uint8Array) {
    this.#shared = mine.sharedSecret(theirEncryptionKey);
  }

  #key(context: BoxContext): Uint8Array {
    if (this.#shared === undefined) throw new TypeError('the box channel was wiped');
    return deriveKey(this.#shared, SECAGG_LABEL.BOX_KEY, fields(context));
  }

  /** Seals the sender's two shares for the receiver. Throws TypeError/RangeError for malformed shares. */
  seal(context: BoxContext, shares: BoxedShares): Uint8Array {
    checkBytes(shares.selfMaskShare, SHARE_BYTES, 'self-mask share');
    checkBytes(shares.maskKeyShare, SHARE_BYTES, 'mask-key share');
    const key = this.#key(context);
    const nonce = randomBytes(NONCE_BYTES);
    const plaintext = Buffer.concat([shares.selfMaskShare, shares.maskKeyShare]);
    try {
      const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(encodeFields(SECAGG_LABEL.BOX_AAD, fields(context)));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return new Uint8Array(Buffer.concat([nonce, body, cipher.getAuthTag()]));
    } finally {
      key.fill(0);
      plaintext.fill(0);
    }
  }

  /**
   * Opens a box from `context.sender`. Throws ACCORD_SECAGG_SHARE_INVALID (naming the sender) for a box of the wrong
   * size or one that does not authenticate.
   */
  open(context: BoxContext, box: Uint8Array): BoxedShares {
    const invalid = (reason: string, cause?: unknown) =>
      new AccordError('ACCORD_SECAGG_SHARE_INVALID', { member: context.sender, reason }, { cause });
    if (!(box instanceof Uint8Array) || box.length !== BOX_BYTES) throw invalid('the box has the wrong size');
    const key = this.#key(context);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(0, NONCE_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(encodeFields(SECAGG_LABEL.BOX_AAD, fields(context)));
      decipher.setAuthTag(box.subarray(BOX_BYTES - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(box.subarray(NONCE_BYTES, BOX_BYTES - TAG_BYTES)),
        decipher.final(),
      ]);
      const out = {
        selfMaskShare: new Uint8Array(plain.subarray(0, SHARE_BYTES)),
        maskKeyShare: new Uint8Array(plain.subarray(SHARE_BYTES)),
      };
      plain.fill(0);
      return out;
    } catch (cause) {
      throw invalid('the box does not authenticate', cause);
    } finally {
      key.fill(0);
    }
  }

  /** Forgets the agreement (end of round). */
  wipe(): void {
    this.#shared?.fill(0);
    this.#shared = undefined;
  }
}

/**
 * Seals the sender's two shares for the receiver. `mine` is the sender's c key pair, `theirEncryptionKey` the
 * receiver's public c key. Throws TypeError/RangeError for malformed input or a low-order key.
 */
export function sealShares(
  mine: X25519KeyPair,
  theirEncryptionKey: Uint8Array,
  context: BoxContext,
  shares: BoxedShares,
): Uint8Array {
  const channel = new BoxChannel(mine, theirEncryptionKey);
  try {
    return channel.seal(context, shares);
  } finally {
    channel.wipe();
  }
}

/**
 * Opens a box from `context.sender` with the receiver's c key pair `mine` and the sender's public c key. Throws
 * ACCORD_SECAGG_SHARE_INVALID (naming the sender) for a box of the wrong size, an unusable sender key, or a box that
 * does not authenticate.
 */
export function openShares(
  mine: X25519KeyPair,
  theirEncryptionKey: Uint8Array,
  context: BoxContext,
  box: Uint8Array,
): BoxedShares {
  let channel: BoxChannel;
  try {
    channel = new BoxChannel(mine, theirEncryptionKey);
  } catch (cause) {
    throw new AccordError(
      'ACCORD_SECAGG_SHARE_INVALID',
      { member: context.sender, reason: 'the sender key is unusable' },
      { cause },
    );
  }
  try {
    return channel.open(context, box);
  } finally {
    channel.wipe();
  }
}
