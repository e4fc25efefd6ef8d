/**
 * Boxes between two parties of a vertical job, relayed by the coordinator, which must not read them: it holds the
 * HE secret key, so an encrypted partial logit or residual it could see would be one it could decrypt.
 *
 * Each party draws a fresh X25519 box key per job and signs (job, member, spec digest, key) with its member
 * certificate (`boxKeyMessage`); every receiver checks the signature against the consortium CA, so the relay cannot
 * swap a key and sit in the middle.
 *
 * box = nonce (12) || AES-256-GCM(key, nonce, payload, aad) || tag (16), where
 *   key = HKDF-SHA256(X25519(a, B), info = H(label, job, sender, receiver)) (one direction of one pair),
 *   aad = label, job, sender, receiver, phase, epoch, batch, stage, part, parts.
 * The nonce is random (96 bits; at most a few thousand boxes per key). The associated data binds a box to its place
 * in the protocol: replayed from another batch, re-addressed, reordered or cut, it fails to open
 * (ACCORD_VERTICAL_BOX_INVALID naming the sender).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AccordError } from '../errors/index.js';
import { encodeFields } from '../secagg/encoding.js';
import { deriveKey, type X25519KeyPair } from '../secagg/key-agreement.js';
import type { BatchId } from './protocol.js';

const LABEL = {
  KEY: 'accord/vertical/box-key/v1',
  BOX_KEY: 'accord/vertical/box/v1',
  BOX_AAD: 'accord/vertical/box-aad/v1',
} as const;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** What a party signs to publish its box key for a job. */
export function boxKeyMessage(
  jobId: string,
  member: string,
  specDigest: string,
  boxKey: Uint8Array,
): Uint8Array {
  return encodeFields(LABEL.KEY, [jobId, member, specDigest, boxKey]);
}

export interface BoxPlace {
  readonly batch: BatchId;
  readonly stage: string;
  readonly part: number;
  readonly parts: number;
}

/** The channel from this party to one other party, and back: one X25519 agreement, a key per direction. */
export class PartyChannel {
  readonly #shared: Uint8Array;

  constructor(
    private readonly self: string,
    private readonly peer: string,
    mine: X25519KeyPair,
    peerBoxKey: Uint8Array,
  ) {
    this.#shared = mine.sharedSecret(peerBoxKey);
  }

  #key(sender: string, receiver: string, jobId: string): Uint8Array {
    return deriveKey(this.#shared, LABEL.BOX_KEY, [jobId, sender, receiver]);
  }

  static #aad(sender: string, receiver: string, place: BoxPlace): Uint8Array {
    const { batch } = place;
    return encodeFields(LABEL.BOX_AAD, [
      batch.jobId,
      sender,
      receiver,
      batch.phase,
      batch.epoch,
      batch.batch,
      place.stage,
      place.part,
      place.parts,
    ]);
  }

  seal(place: BoxPlace, payload: Uint8Array): Uint8Array {
    const key = this.#key(this.self, this.peer, place.batch.jobId);
    const nonce = randomBytes(NONCE_BYTES);
    try {
      const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(PartyChannel.#aad(this.self, this.peer, place));
      const body = Buffer.concat([cipher.update(payload), cipher.final()]);
      return new Uint8Array(Buffer.concat([nonce, body, cipher.getAuthTag()]));
    } finally {
      key.fill(0);
    }
  }

  /** Opens a box the peer sealed for this party at `place`; ACCORD_VERTICAL_BOX_INVALID if it does not open. */
  open(place: BoxPlace, box: Uint8Array): Uint8Array {
    const fail = (reason: string) =>
      new AccordError('ACCORD_VERTICAL_BOX_INVALID', { from: this.peer, reason });
    if (box.length < NONCE_BYTES + TAG_BYTES) throw fail('too short');
    const key = this.#key(this.peer, this.self, place.batch.jobId);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(0, NONCE_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(PartyChannel.#aad(this.peer, this.self, place));
      decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
      return new Uint8Array(
        Buffer.concat([decipher.update(box.subarray(NONCE_BYTES, box.length - TAG_BYTES)), decipher.final()]),
      );
    } catch {
      throw fail('authentication failed (tampered, replayed or misaddressed)');
    } finally {
      key.fill(0);
    }
  }
}
