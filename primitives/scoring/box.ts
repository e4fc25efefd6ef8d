/**
 * The channel between a vertical model's label holder (L) and one partner (P) for joint scoring (protocol.ts): agreed
 * once per model job and pair from box keys both sign with their member certificates, then used for every request,
 * so that real-time scoring does no key agreement per customer.
 *
 *   key message  = fields(label, model job, member, peer, box key)            (signed by the member's certificate)
 *   channel id   = SHA-256(label, model job, L, P, L's key, P's key)[0..16)
 *   direction key= HKDF-SHA256(X25519(a, B), info = H(label, model job, sender, receiver, channel id))
 *   box          = nonce (12: 4 zero bytes || 64-bit counter) || AES-256-GCM(key, nonce, payload, aad) || tag (16)
 * Each direction of a channel has its own key and its own counter, so no nonce repeats under a key; both keys are
 * fresh with every hello (P draws a new key each time), so a counter never restarts under an old key.
 *
 * The associated data binds a box to its request:
 *   request: (request id, model job, alignment, count, sender, receiver, channel id); payload: the `count` aligned
 *            positions asked for (uint32, big-endian each)
 *   reply:   (request id, model job, alignment, the positions, sender, receiver); payload: `width` float64 values
 *            per position, row-major in the request's order (little-endian): one partial logit (a logistic part,
 *            width 1) or a boosted-tree part's K split bits (width K, each 0 or 1)
 * so a box re-addressed, replayed into another request, moved to other positions, cut or lengthened fails to open
 * (ACCORD_SCORING_BOX_INVALID naming the sender). The width is not in the associated data: the receiver knows it
 * from its own part (how many split ids that partner holds) and opens only a payload of exactly count × width × 8
 * bytes, so a box of another width is refused the same way. A box replayed as it was (same request) opens, so each
 * side keeps a receive window over its peer's counter (REPLAY_WINDOW boxes, as IPsec does): a counter seen before, or
 * older than the window, is refused (ACCORD_SCORING_REPLAYED) before the payload is used. The window is updated only
 * once a box authenticates, so forged boxes cannot move it. Pure: node:crypto only.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AccordError } from '../errors/index.js';
import { encodeFields, hashFields } from '../secagg/encoding.js';
import { deriveKey, type X25519KeyPair } from '../secagg/key-agreement.js';
import { SCORING_MAX_POSITIONS } from './protocol.js';

const LABEL = {
  KEY: 'accord/scoring/box-key/v1',
  CHANNEL: 'accord/scoring/channel/v1',
  BOX_KEY: 'accord/scoring/box/v1',
  REQUEST_AAD: 'accord/scoring/request-aad/v1',
  REPLY_AAD: 'accord/scoring/reply-aad/v1',
} as const;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const CHANNEL_ID_BYTES = 16;
const POSITION_BYTES = 4;
const VALUE_BYTES = 8;
/**
 * Most float64 values one reply carries (count × width): what one request's largest reply of partial logits holds,
 * and all the wire lets through (platform/wire/scoring.ts refuses a longer reply box). A label holder asks a partner
 * of width K for at most MAX_REPLY_VALUES / K positions at once (node/scoring/batch-run.ts).
 */
export const MAX_REPLY_VALUES = SCORING_MAX_POSITIONS;
/**
 * Boxes a receiver may see out of order (requests relayed concurrently): a counter this far below the highest one seen
 * is refused as replayed. Far above what a label holder has in flight to one partner (the relay caps that at 64).
 */
export const REPLAY_WINDOW = 4096;

/** Positions as the payload and associated data carry them: uint32 big-endian each. */
function positionBytes(positions: Uint32Array): Uint8Array {
  const out = new Uint8Array(positions.length * POSITION_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < positions.length; i++) view.setUint32(i * POSITION_BYTES, positions[i]!);
  return out;
}

/** What a party signs to publish its scoring box key for `peer` and a model job. */
export function scoringKeyMessage(
  modelJob: string,
  member: string,
  peer: string,
  boxKey: Uint8Array,
): Uint8Array {
  return encodeFields(LABEL.KEY, [modelJob, member, peer, boxKey]);
}

/** The id of the channel agreed from `requesterKey` (L's) and `responderKey` (P's). */
export function channelId(
  modelJob: string,
  requester: string,
  responder: string,
  requesterKey: Uint8Array,
  responderKey: Uint8Array,
): Uint8Array {
  return hashFields(LABEL.CHANNEL, [modelJob, requester, responder, requesterKey, responderKey]).subarray(
    0,
    CHANNEL_ID_BYTES,
  );
}

/** A partials request's clear fields, as sent (L) or as received (P). */
export interface RequestPlace {
  readonly requestId: string;
  readonly from: string;
  readonly to: string;
  readonly modelJob: string;
  readonly alignment: string;
  readonly count: number;
  readonly channel: Uint8Array;
}

/** A reply's place: the request it answers (its positions, as L sent them) and the reply's clear fields. */
export interface ReplyPlace {
  readonly requestId: string;
  readonly from: string;
  readonly to: string;
  readonly modelJob: string;
  readonly alignment: string;
  readonly positions: Uint32Array;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One side of an agreed channel: seals what it sends to its peer and opens what its peer sends. */
export class ScoringChannel {
  readonly #send: Uint8Array;
  readonly #receive: Uint8Array;
  #counter = 0;
  /** The highest counter received so far (-1: none), and which of the REPLAY_WINDOW counters up to it were seen. */
  #highest = -1;
  readonly #seen = new Uint8Array(REPLAY_WINDOW / 8);

  private constructor(
    readonly self: string,
    readonly peer: string,
    readonly modelJob: string,
    readonly id: Uint8Array,
    send: Uint8Array,
    receive: Uint8Array,
  ) {
    this.#send = send;
    this.#receive = receive;
  }

  /**
   * The channel of `self` with `peer` for a model job, from this side's key pair and the peer's (already verified)
   * public key; `role` says which side asks (L) and which answers (P). Throws RangeError for an invalid peer key.
   */
  static agree(options: {
    readonly self: string;
    readonly peer: string;
    readonly modelJob: string;
    readonly role: 'requester' | 'responder';
    readonly mine: X25519KeyPair;
    readonly peerKey: Uint8Array;
  }): ScoringChannel {
    const { self, peer, modelJob, role, mine, peerKey } = options;
    const [requester, responder] = role === 'requester' ? [self, peer] : [peer, self];
    const [requesterKey, responderKey] =
      role === 'requester' ? [mine.publicKey, peerKey] : [peerKey, mine.publicKey];
    const id = channelId(modelJob, requester, responder, requesterKey, responderKey);
    const shared = mine.sharedSecret(peerKey);
    try {
      const key = (sender: string, receiver: string) =>
        deriveKey(shared, LABEL.BOX_KEY, [modelJob, sender, receiver, hex(id)]);
      return new ScoringChannel(self, peer, modelJob, id, key(self, peer), key(peer, self));
    } finally {
      shared.fill(0);
    }
  }

  #nonce(): Uint8Array {
    const nonce = new Uint8Array(NONCE_BYTES);
    const n = this.#counter++;
    const view = new DataView(nonce.buffer);
    view.setUint32(4, Math.floor(n / 2 ** 32));
    view.setUint32(8, n >>> 0);
    return nonce;
  }

  #seal(aad: Uint8Array, payload: Uint8Array): Uint8Array {
    const nonce = this.#nonce();
    const cipher = createCipheriv('aes-256-gcm', this.#send, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(payload), cipher.final()]);
    return new Uint8Array(Buffer.concat([nonce, body, cipher.getAuthTag()]));
  }

  #open(aad: Uint8Array, box: Uint8Array): Uint8Array {
    if (box.length < NONCE_BYTES + TAG_BYTES) throw this.#invalid('too short');
    let payload: Uint8Array;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#receive, box.subarray(0, NONCE_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(aad);
      decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
      payload = new Uint8Array(
        Buffer.concat([decipher.update(box.subarray(NONCE_BYTES, box.length - TAG_BYTES)), decipher.final()]),
      );
    } catch {
      throw this.#invalid('authentication failed (tampered, replayed or misaddressed)');
    }
    this.#receiveCounter(box);
    return payload;
  }

  /** Marks an authenticated box's counter received; ACCORD_SCORING_REPLAYED if it was, or is below the window. */
  #receiveCounter(box: Uint8Array): void {
    const view = new DataView(box.buffer, box.byteOffset, NONCE_BYTES);
    const n = view.getUint32(4) * 2 ** 32 + view.getUint32(8);
    const bit = (c: number) => [Math.floor(c / 8) % this.#seen.length, 1 << (c % 8)] as const;
    if (n > this.#highest) {
      // Counters between the old highest and this one become the window's fresh, unseen slots.
      const from = Math.max(this.#highest + 1, n - REPLAY_WINDOW + 1);
      if (n - from >= REPLAY_WINDOW - 1) this.#seen.fill(0);
      else
        for (let c = from; c < n; c++) {
          const [at, mask] = bit(c);
          this.#seen[at]! &= ~mask;
        }
      this.#highest = n;
    } else if (this.#highest - n >= REPLAY_WINDOW) {
      throw new AccordError('ACCORD_SCORING_REPLAYED', {
        from: this.peer,
        reason: `older than the last ${REPLAY_WINDOW} boxes`,
      });
    } else {
      const [at, mask] = bit(n);
      if (this.#seen[at]! & mask)
        throw new AccordError('ACCORD_SCORING_REPLAYED', { from: this.peer, reason: 'seen before' });
    }
    const [at, mask] = bit(n);
    this.#seen[at]! |= mask;
  }

  #invalid(reason: string): AccordError {
    return new AccordError('ACCORD_SCORING_BOX_INVALID', { from: this.peer, reason });
  }

  static #requestAad(p: RequestPlace): Uint8Array {
    return encodeFields(LABEL.REQUEST_AAD, [
      p.requestId,
      p.modelJob,
      p.alignment,
      p.count,
      p.from,
      p.to,
      p.channel,
    ]);
  }

  static #replyAad(p: ReplyPlace): Uint8Array {
    return encodeFields(LABEL.REPLY_AAD, [
      p.requestId,
      p.modelJob,
      p.alignment,
      positionBytes(p.positions),
      p.from,
      p.to,
    ]);
  }

  /** L: the box of a partials request for `positions` (their count is `place.count`). */
  sealRequest(
    place: Omit<RequestPlace, 'from' | 'to' | 'modelJob' | 'channel'>,
    positions: Uint32Array,
  ): Uint8Array {
    if (positions.length !== place.count || place.count < 1)
      throw new RangeError('count must be the positions asked for');
    return this.#seal(
      ScoringChannel.#requestAad({
        ...place,
        from: this.self,
        to: this.peer,
        modelJob: this.modelJob,
        channel: this.id,
      }),
      positionBytes(positions),
    );
  }

  /** P: the positions of a received partials request; ACCORD_SCORING_BOX_INVALID if it does not open. */
  openRequest(place: RequestPlace, box: Uint8Array): Uint32Array {
    const payload = this.#open(ScoringChannel.#requestAad(place), box);
    if (payload.length !== place.count * POSITION_BYTES) throw this.#invalid('not `count` positions');
    const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
    return Uint32Array.from({ length: place.count }, (_, i) => view.getUint32(i * POSITION_BYTES));
  }

  /**
   * P: the box answering a partials request with `width` values per position, row-major (`values.length` =
   * positions × width). Throws RangeError unless width is a positive integer, the values are that many, and they are
   * at most MAX_REPLY_VALUES.
   */
  sealReply(
    place: Omit<ReplyPlace, 'from' | 'to' | 'modelJob'>,
    values: Float64Array,
    width: number,
  ): Uint8Array {
    if (!Number.isInteger(width) || width < 1) throw new RangeError('width must be a positive integer');
    if (values.length !== place.positions.length * width) throw new RangeError('`width` values per position');
    if (values.length > MAX_REPLY_VALUES) throw new RangeError(`at most ${MAX_REPLY_VALUES} values a reply`);
    const payload = new Uint8Array(values.length * VALUE_BYTES);
    const view = new DataView(payload.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat64(i * VALUE_BYTES, values[i]!, true);
    return this.#seal(
      ScoringChannel.#replyAad({ ...place, from: this.self, to: this.peer, modelJob: this.modelJob }),
      payload,
    );
  }

  /**
   * L: the values of a reply to the request at `place`, `width` per position (the width L's part expects of this
   * partner), row-major. ACCORD_SCORING_BOX_INVALID if the box does not open or its payload is not exactly
   * positions × width values. Throws RangeError unless width is a positive integer.
   */
  openReply(place: ReplyPlace, box: Uint8Array, width: number): Float64Array {
    if (!Number.isInteger(width) || width < 1) throw new RangeError('width must be a positive integer');
    const values = place.positions.length * width;
    const payload = this.#open(ScoringChannel.#replyAad(place), box);
    if (payload.length !== values * VALUE_BYTES)
      throw this.#invalid(width === 1 ? 'not one value per position' : `not ${width} values per position`);
    const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
    const out = new Float64Array(values);
    for (let i = 0; i < values; i++) out[i] = view.getFloat64(i * VALUE_BYTES, true);
    return out;
  }
}
