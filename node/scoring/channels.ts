/**
 * Scoring channels (primitives/scoring/box.ts), agreed once per model job and pair by a signed hello and then kept:
 *  - `RequesterChannels` (the label holder): one channel per (model job, partner), agreed on first use; forgotten
 *    when the partner says it lost it (a restart), and agreed again. A hello waits up to BATCH_REQUEST_TIMEOUT_MS
 *    whoever asked first: a real-time request stops waiting at its own deadline, but the hello goes on and every
 *    request meanwhile joins it, so a slow partner gets one hello, not one per real-time request;
 *  - `ResponderChannels` (a partner): one channel per (label holder, model job), the one of its latest hello, which
 *    replaces the previous. A partner accepts a hello only from the label holder of a part it holds (partner.ts), so
 *    it keeps at most one channel per part it holds, and no label holder can push out another's.
 * Keys are X25519, drawn fresh for each hello, and signed with the member certificate so the relay cannot swap them.
 */
import { randomUUID } from 'node:crypto';
import type { MemberSigner, MemberVerifier } from '../../platform/tls/member-signature.js';
import { AccordError } from '../../primitives/errors/index.js';
import { ScoringChannel, scoringKeyMessage } from '../../primitives/scoring/box.js';
import {
  BATCH_REQUEST_TIMEOUT_MS,
  SCORING_STAGE,
  type SignedScoringKey,
} from '../../primitives/scoring/protocol.js';
import { X25519KeyPair } from '../../primitives/secagg/key-agreement.js';
import type { ScoringTransport } from './scoring-client.js';

function signedKey(
  signer: MemberSigner,
  self: string,
  peer: string,
  modelJob: string,
  pair: X25519KeyPair,
): SignedScoringKey {
  return {
    member: self,
    boxKey: pair.publicKey,
    signature: signer.sign(scoringKeyMessage(modelJob, self, peer, pair.publicKey)),
    certificatePem: signer.certificatePem,
  };
}

/** Throws ACCORD_SCORING_KEY_INVALID unless `key` is `expected`'s, signed for `peer` and the model job. */
function checkKey(
  verify: MemberVerifier,
  key: SignedScoringKey,
  expected: string,
  peer: string,
  modelJob: string,
) {
  const reason =
    key.member !== expected
      ? `the key names ${key.member}`
      : verify(
          key.member,
          key.certificatePem,
          scoringKeyMessage(modelJob, key.member, peer, key.boxKey),
          key.signature,
        );
  if (reason) throw new AccordError('ACCORD_SCORING_KEY_INVALID', { member: expected, reason });
}

export class RequesterChannels {
  readonly #channels = new Map<
    string,
    { readonly agreed: Promise<ScoringChannel>; channel?: ScoringChannel }
  >();

  constructor(
    private readonly self: string,
    private readonly transport: ScoringTransport,
    private readonly signer: MemberSigner,
    private readonly verify: MemberVerifier,
  ) {}

  /**
   * The channel to `partner` for `modelJob`, saying hello first if there is none yet (or joining the hello under
   * way); the hello gives up after BATCH_REQUEST_TIMEOUT_MS, whatever the caller's own deadline.
   */
  get(modelJob: string, partner: string): Promise<ScoringChannel> {
    const key = `${modelJob}/${partner}`;
    const known = this.#channels.get(key);
    if (known) return known.agreed;
    const entry: { agreed: Promise<ScoringChannel>; channel?: ScoringChannel } = {
      agreed: this.#hello(modelJob, partner, BATCH_REQUEST_TIMEOUT_MS),
    };
    this.#channels.set(key, entry);
    entry.agreed.then(
      (channel) => {
        entry.channel = channel;
      },
      () => {
        if (this.#channels.get(key) === entry) this.#channels.delete(key);
      },
    );
    return entry.agreed;
  }

  /** Drops `channel` (the partner lost it); the next `get` agrees a new one. */
  forget(modelJob: string, partner: string, channel: ScoringChannel): void {
    const key = `${modelJob}/${partner}`;
    if (this.#channels.get(key)?.channel === channel) this.#channels.delete(key);
  }

  async #hello(modelJob: string, partner: string, timeoutMs: number): Promise<ScoringChannel> {
    const pair = X25519KeyPair.generate();
    const reply = await this.transport.ask(
      {
        stage: SCORING_STAGE.HELLO,
        requestId: randomUUID(),
        from: this.self,
        to: partner,
        modelJob,
        key: signedKey(this.signer, this.self, partner, modelJob, pair),
      },
      timeoutMs,
    );
    if (reply.kind !== 'key')
      throw new AccordError('ACCORD_SCORING_PROTOCOL', {
        reason: `${partner} answered a hello without a key`,
      });
    checkKey(this.verify, reply.key, partner, this.self, modelJob);
    return ScoringChannel.agree({
      self: this.self,
      peer: partner,
      modelJob,
      role: 'requester',
      mine: pair,
      peerKey: reply.key.boxKey,
    });
  }
}

export class ResponderChannels {
  /** By `${label holder}\n${model job}`: the channel of the latest hello. */
  readonly #channels = new Map<string, ScoringChannel>();

  constructor(
    private readonly self: string,
    private readonly signer: MemberSigner,
    private readonly verify: MemberVerifier,
  ) {}

  /**
   * Answers a hello of `from` (already checked to be the label holder of the model job): checks its key, draws this
   * node's, keeps the channel in place of `from`'s previous one for the job; returns this node's signed key. Throws
   * ACCORD_SCORING_KEY_INVALID.
   */
  accept(from: string, modelJob: string, key: SignedScoringKey): SignedScoringKey {
    checkKey(this.verify, key, from, this.self, modelJob);
    const pair = X25519KeyPair.generate();
    const channel = ScoringChannel.agree({
      self: this.self,
      peer: from,
      modelJob,
      role: 'responder',
      mine: pair,
      peerKey: key.boxKey,
    });
    this.#channels.set(`${from}\n${modelJob}`, channel);
    return signedKey(this.signer, this.self, from, modelJob, pair);
  }

  /**
   * `from`'s channel for the job if its id is `id`; ACCORD_SCORING_CHANNEL_UNKNOWN if there is none, or a later
   * hello replaced it (the label holder then says hello again).
   */
  get(id: Uint8Array, from: string, modelJob: string): ScoringChannel {
    const channel = this.#channels.get(`${from}\n${modelJob}`);
    if (!channel || !Buffer.from(channel.id).equals(Buffer.from(id)))
      throw new AccordError('ACCORD_SCORING_CHANNEL_UNKNOWN', {
        member: this.self,
        channel: Buffer.from(id).toString('hex'),
      });
    return channel;
  }
}
