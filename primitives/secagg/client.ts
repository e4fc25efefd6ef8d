/**
 * The participant's side of a secure-aggregation round (flow in `protocol.ts`): a state machine with no I/O. The
 * node calls one method per stage, in order, each once, and carries the results over the wire itself:
 *
 *   const client = new SecAggClient(plan, me);
 *   const { keys, toSign } = client.advertiseKeys();               // 1. sign toSign, send {...keys, signature}
 *   const boxes = client.shareKeys(neighbourKeys, verify);           // 2. send boxes
 *   const y = client.maskedVector(lanes, boxesForMe);                // 3. send y
 *   const toSignSurvivors = client.consistencyCheck(survivors);      // 4. sign, send the signature
 *   const response = client.unmask(request, verify);                 // 5. send response
 *
 * Every method throws ACCORD_SECAGG_PROTOCOL when called out of order or twice: a second masked vector of the same
 * round, under the same masks, would hand the coordinator the difference of two updates. After any error the client
 * is spent (every later call throws) and its secrets are wiped; the round must start again with a new client.
 */
import { randomBytes } from 'node:crypto';
import { AccordError } from '../errors/index.js';
import { bytesEqual } from './encoding.js';
import { pairwiseSeed, PUBLIC_KEY_BYTES, X25519KeyPair } from './key-agreement.js';
import { compareMembers, type RoundPlan } from './neighbours.js';
import { addMask, SEED_BYTES } from './prg.js';
import {
  type OwnedShare,
  type RoundKeys,
  type ShareBox,
  type SignedRoundKeys,
  selfMaskCommitment,
  signedKeysMessage,
  survivorsMessage,
  type UnmaskRequest,
  type UnmaskResponse,
  type VerifySignature,
} from './protocol.js';
import { shareX, split } from './shamir.js';
import { BoxChannel } from './share-box.js';
import { SECAGG_LABEL, SECAGG_STAGE, type SecAggStage } from './stages.js';

type ClientState = SecAggStage | 'done' | 'failed';

const protocolError = (reason: string) => new AccordError('ACCORD_SECAGG_PROTOCOL', { reason });

/** Calls the caller's verifier; a verifier that throws counts as a failed check. */
function verified(verify: VerifySignature, member: string, message: Uint8Array, signature: unknown): boolean {
  if (!(signature instanceof Uint8Array) || signature.length === 0) return false;
  try {
    return verify(member, message, signature) === true;
  } catch {
    return false;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((m, i) => m === b[i]);
}

function checkSortedMembers(plan: RoundPlan, list: unknown, what: string): asserts list is readonly string[] {
  if (!Array.isArray(list)) throw protocolError(`the ${what} list is malformed`);
  for (let i = 0; i < list.length; i++) {
    if (typeof list[i] !== 'string' || !plan.has(list[i]))
      throw protocolError(`the ${what} list names a stranger`);
    if (i > 0 && compareMembers(list[i - 1], list[i]) >= 0) {
      throw protocolError(`the ${what} list is not sorted and distinct`);
    }
  }
}

export class SecAggClient {
  readonly plan: RoundPlan;
  readonly member: string;
  #state: ClientState = SECAGG_STAGE.SETUP;

  // Round secrets: never leave this object except as shares (b and the s secret) inside sealed boxes.
  #encryption: X25519KeyPair | undefined;
  #masking: X25519KeyPair | undefined;
  #selfMaskSeed: Uint8Array | undefined;
  #advertised: RoundKeys | undefined;
  /** Verified neighbours: the box channel with each. */
  #channels = new Map<string, BoxChannel>();
  /** s_ij for every verified neighbour j. */
  #pairSeeds = new Map<string, Uint8Array>();
  /** This participant's own shares (x = its x). */
  #ownSelfMaskShare: Uint8Array | undefined;
  /** Shares held for partners (neighbours whose boxes arrived): b share and s share per owner. */
  #held = new Map<string, { selfMaskShare: Uint8Array; maskKeyShare: Uint8Array }>();
  #signedSurvivors: readonly string[] | undefined;

  /** `plan` must be the one every participant computes for the round (`planRound`); `member` is this participant. */
  constructor(plan: RoundPlan, member: string) {
    if (!plan.has(member)) throw new RangeError('member is not a participant of this round');
    this.plan = plan;
    this.member = member;
  }

  /** The stage whose method is to be called next ('done' after unmask, 'failed' after an error). */
  get stage(): ClientState {
    return this.#state;
  }

  #step<T>(expected: SecAggStage, next: ClientState, run: () => T): T {
    if (this.#state !== expected) {
      throw protocolError(this.#state === 'failed' ? 'the round already failed' : `not at stage ${expected}`);
    }
    try {
      const out = run();
      this.#state = next;
      if (next === 'done') this.#wipe();
      return out;
    } catch (err) {
      this.#state = 'failed';
      this.#wipe();
      throw err;
    }
  }

  #wipe(): void {
    this.#selfMaskSeed?.fill(0);
    this.#ownSelfMaskShare?.fill(0);
    for (const seed of this.#pairSeeds.values()) seed.fill(0);
    for (const channel of this.#channels.values()) channel.wipe();
    this.#channels.clear();
    for (const held of this.#held.values()) {
      held.selfMaskShare.fill(0);
      held.maskKeyShare.fill(0);
    }
    this.#pairSeeds.clear();
    this.#held.clear();
    this.#selfMaskSeed = undefined;
    this.#ownSelfMaskShare = undefined;
    this.#encryption = undefined;
    this.#masking = undefined;
  }

  /**
   * Stage 1. Draws the round's key pairs c and s and the self-mask seed b. Returns the keys to send and `toSign`,
   * the bytes (`signedKeysMessage`) the caller signs with its member certificate key; it sends
   * `{ ...keys, signature }` to the coordinator.
   */
  advertiseKeys(): { keys: RoundKeys; toSign: Uint8Array } {
    return this.#step(SECAGG_STAGE.SETUP, SECAGG_STAGE.SHARE_KEYS, () => {
      this.#encryption = X25519KeyPair.generate();
      this.#masking = X25519KeyPair.generate();
      this.#selfMaskSeed = new Uint8Array(randomBytes(SEED_BYTES));
      const keys: RoundKeys = {
        session: this.plan.session,
        round: this.plan.round,
        member: this.member,
        encryptionKey: this.#encryption.publicKey,
        maskKey: this.#masking.publicKey,
        selfMaskCommitment: selfMaskCommitment(this.plan, this.member, this.#selfMaskSeed),
      };
      this.#advertised = keys;
      return { keys, toSign: signedKeysMessage(this.plan, keys) };
    });
  }

  /**
   * Stage 2. `advertised`: the signed keys the coordinator relayed (this participant's neighbours that took part in
   * stage 1; its own entry and entries of non-neighbours may be included and are checked or ignored). Verifies every
   * neighbour's signature with `verify`, derives the pairwise seeds, shares b and the s secret among the holders
   * and returns one sealed box per verified neighbour.
   *
   * Throws ACCORD_SECAGG_SIGNATURE_INVALID (naming the member) for a signature that does not verify, malformed,
   * repeated or low-order keys; ACCORD_SECAGG_PROTOCOL for entries of another round, repeated members or an
   * altered own entry; ACCORD_SECAGG_TOO_FEW_SURVIVORS when fewer than t holders remain.
   */
  shareKeys(advertised: readonly SignedRoundKeys[], verify: VerifySignature): ShareBox[] {
    return this.#step(SECAGG_STAGE.SHARE_KEYS, SECAGG_STAGE.COLLECT_MASKED_VECTORS, () => {
      if (!Array.isArray(advertised)) throw protocolError('the relayed keys are malformed');
      const mine = this.#advertised!;
      const seen = new Set<string>();
      const publicKeys = new Set<string>([
        Buffer.from(mine.encryptionKey).toString('hex'),
        Buffer.from(mine.maskKey).toString('hex'),
      ]);
      const neighbours: SignedRoundKeys[] = [];
      for (const keys of advertised) {
        if (keys.session !== this.plan.session || keys.round !== this.plan.round) {
          throw protocolError('relayed keys belong to another round');
        }
        if (seen.has(keys.member)) throw protocolError('a member appears twice in the relayed keys');
        seen.add(keys.member);
        if (keys.member === this.member) {
          const same =
            bytesEqual(keys.encryptionKey, mine.encryptionKey) &&
            bytesEqual(keys.maskKey, mine.maskKey) &&
            bytesEqual(keys.selfMaskCommitment, mine.selfMaskCommitment);
          if (!same) throw protocolError('the relay altered this participant’s own keys');
          continue;
        }
        if (!this.plan.areNeighbours(this.member, keys.member)) continue;
        const invalid = (reason: string) =>
          new AccordError('ACCORD_SECAGG_SIGNATURE_INVALID', { member: keys.member, reason });
        const wellFormed = [keys.encryptionKey, keys.maskKey, keys.selfMaskCommitment].every(
          (b) => b instanceof Uint8Array && b.length === PUBLIC_KEY_BYTES,
        );
        if (!wellFormed) throw invalid('malformed keys');
        if (!verified(verify, keys.member, signedKeysMessage(this.plan, keys), keys.signature)) {
          throw invalid('the signature does not verify');
        }
        for (const key of [keys.encryptionKey, keys.maskKey]) {
          const hex = Buffer.from(key).toString('hex');
          if (publicKeys.has(hex)) throw invalid('a public key is reused');
          publicKeys.add(hex);
        }
        neighbours.push(keys);
      }

      for (const keys of neighbours) {
        try {
          this.#pairSeeds.set(
            keys.member,
            pairwiseSeed(this.#masking!, keys.maskKey, {
              session: this.plan.session,
              round: this.plan.round,
              a: this.member,
              b: keys.member,
            }),
          );
          // Checks the encryption key too, before any share is sealed under it.
          this.#channels.set(keys.member, new BoxChannel(this.#encryption!, keys.encryptionKey));
        } catch (cause) {
          throw new AccordError(
            'ACCORD_SECAGG_SIGNATURE_INVALID',
            { member: keys.member, reason: 'a public key has low order' },
            { cause },
          );
        }
      }

      const holders = [this.member, ...neighbours.map((k) => k.member)];
      if (holders.length < this.plan.threshold) {
        throw new AccordError('ACCORD_SECAGG_TOO_FEW_SURVIVORS', {
          round: this.plan.round,
          survivors: holders.length,
          needed: this.plan.threshold,
        });
      }
      const xs = holders.map((m) => this.plan.xOf(m));
      const maskSecret = this.#masking!.secretKeyBytes();
      const selfMaskShares = split(this.#selfMaskSeed!, this.plan.threshold, xs);
      const maskKeyShares = split(maskSecret, this.plan.threshold, xs);
      maskSecret.fill(0);
      this.#ownSelfMaskShare = selfMaskShares[0]!;
      maskKeyShares[0]!.fill(0); // a participant never reveals a share of its own s: it is alive if it answers
      const boxes: ShareBox[] = [];
      for (let h = 1; h < holders.length; h++) {
        const to = holders[h]!;
        const box = this.#channels
          .get(to)!
          .seal(
            { session: this.plan.session, round: this.plan.round, sender: this.member, receiver: to },
            { selfMaskShare: selfMaskShares[h]!, maskKeyShare: maskKeyShares[h]! },
          );
        selfMaskShares[h]!.fill(0);
        maskKeyShares[h]!.fill(0);
        boxes.push({ from: this.member, to, box });
      }
      return boxes;
    });
  }

  /**
   * Stage 3. Opens the boxes addressed to this participant (its partners for the round are their senders) and
   * returns y = x + PRG(b) + sum_{j < me} PRG(s_ij) - sum_{j > me} PRG(s_ij) (mod 2^32), a new array.
   *
   * Throws RangeError for `lanes` that is not a Uint32Array of the round's length; ACCORD_SECAGG_SHARE_INVALID
   * (naming the sender) for a box that does not open or carries shares for another participant;
   * ACCORD_SECAGG_PROTOCOL for a box not addressed here, from a stranger or repeated;
   * ACCORD_SECAGG_TOO_FEW_SURVIVORS when fewer than t - 1 partners remain.
   */
  maskedVector(lanes: Uint32Array, boxesForMe: readonly ShareBox[]): Uint32Array {
    if (!(lanes instanceof Uint32Array)) throw new TypeError('lanes must be a Uint32Array');
    if (lanes.length !== this.plan.lanes) throw new RangeError(`lanes must have ${this.plan.lanes} lanes`);
    return this.#step(SECAGG_STAGE.COLLECT_MASKED_VECTORS, SECAGG_STAGE.CONSISTENCY_CHECK, () => {
      if (!Array.isArray(boxesForMe)) throw protocolError('the relayed boxes are malformed');
      const myX = this.plan.xOf(this.member);
      for (const { from, to, box } of boxesForMe) {
        if (to !== this.member) throw protocolError('a box is addressed to another participant');
        const channel = this.#channels.get(from);
        if (channel === undefined)
          throw protocolError('a box comes from a participant that is not a neighbour');
        if (this.#held.has(from)) throw protocolError('two boxes from one participant');
        const shares = channel.open(
          { session: this.plan.session, round: this.plan.round, sender: from, receiver: this.member },
          box,
        );
        if (shareX(shares.selfMaskShare) !== myX || shareX(shares.maskKeyShare) !== myX) {
          throw new AccordError('ACCORD_SECAGG_SHARE_INVALID', {
            member: from,
            reason: 'a share is for another participant',
          });
        }
        this.#held.set(from, { selfMaskShare: shares.selfMaskShare, maskKeyShare: shares.maskKeyShare });
      }
      if (this.#held.size + 1 < this.plan.threshold) {
        throw new AccordError('ACCORD_SECAGG_TOO_FEW_SURVIVORS', {
          round: this.plan.round,
          survivors: this.#held.size + 1,
          needed: this.plan.threshold,
        });
      }
      for (const channel of this.#channels.values()) channel.wipe(); // every box has arrived
      // Seeds of neighbours that sent no box are not used: they dropped before stage 2 ended.
      for (const [member, seed] of this.#pairSeeds) {
        if (!this.#held.has(member)) {
          seed.fill(0);
          this.#pairSeeds.delete(member);
        }
      }
      const y = addMask(lanes.slice(), this.#selfMaskSeed!, SECAGG_LABEL.SELF_MASK, 1);
      for (const [other, seed] of this.#pairSeeds) {
        addMask(y, seed, SECAGG_LABEL.PAIR_MASK, compareMembers(other, this.member) < 0 ? 1 : -1);
      }
      return y;
    });
  }

  /**
   * Stage 4. Checks the survivor list L (sorted, distinct, participants of the round, this participant in it, at
   * least minSurvivors long, every neighbour in it one whose box arrived, and at least t - 1 partners in it) and
   * returns the bytes (`survivorsMessage`) the caller signs with its certificate key and sends back. Throws
   * ACCORD_SECAGG_PROTOCOL or ACCORD_SECAGG_TOO_FEW_SURVIVORS, after which the client is spent.
   */
  consistencyCheck(survivors: readonly string[]): Uint8Array {
    return this.#step(SECAGG_STAGE.CONSISTENCY_CHECK, SECAGG_STAGE.UNMASK, () => {
      checkSortedMembers(this.plan, survivors, 'survivor');
      this.#checkSurvivors(survivors);
      this.#signedSurvivors = [...survivors];
      return survivorsMessage(this.plan, survivors);
    });
  }

  #checkSurvivors(survivors: readonly string[]): void {
    const inList = new Set(survivors);
    if (!inList.has(this.member)) throw protocolError('the survivor list leaves out this participant');
    if (survivors.length < this.plan.minSurvivors) {
      throw new AccordError('ACCORD_SECAGG_TOO_FEW_SURVIVORS', {
        round: this.plan.round,
        survivors: survivors.length,
        needed: this.plan.minSurvivors,
      });
    }
    let partnersIn = 0;
    for (const m of this.plan.neighboursOf(this.member)) {
      if (!inList.has(m)) continue;
      // A survivor necessarily sent its boxes; a survivor whose box never came here would mean this participant
      // masked without it, and its vector could be unmasked alone.
      if (!this.#held.has(m)) throw protocolError('a survivor never sent this participant its shares');
      partnersIn++;
    }
    if (partnersIn + 1 < this.plan.threshold) {
      throw new AccordError('ACCORD_SECAGG_TOO_FEW_SURVIVORS', {
        round: this.plan.round,
        survivors: partnersIn + 1,
        needed: this.plan.threshold,
      });
    }
  }

  /**
   * Stage 5. Returns this participant's share of b_j for each survivor among its holders (itself included) and its
   * share of the s secret of each dropped partner; then wipes the round's secrets.
   *
   * Refuses (ACCORD_SECAGG_PROTOCOL) a survivor list other than the one it signed, a member listed both as survivor
   * and dropped (the core rule: never both secrets of one participant), itself as dropped, a dropped member whose
   * shares it does not hold, or a partner in neither list; ACCORD_SECAGG_SIGNATURE_INVALID for a signature on the
   * list that does not verify; ACCORD_SECAGG_TOO_FEW_SURVIVORS for fewer than q valid signatures.
   */
  unmask(request: UnmaskRequest, verify: VerifySignature): UnmaskResponse {
    return this.#step(SECAGG_STAGE.UNMASK, 'done', () => {
      const { survivors, dropped, signatures } = request;
      checkSortedMembers(this.plan, survivors, 'survivor');
      checkSortedMembers(this.plan, dropped, 'dropped');
      if (!sameList(survivors, this.#signedSurvivors!)) {
        throw protocolError('the survivor list differs from the one this participant signed');
      }
      const inList = new Set(survivors);
      for (const m of dropped) {
        if (inList.has(m)) throw protocolError('asked for both secrets of one participant');
        if (m === this.member) throw protocolError('asked for this participant’s own mask key');
        if (!this.#held.has(m)) throw protocolError('asked for shares this participant does not hold');
      }
      const droppedSet = new Set(dropped);
      for (const m of this.#held.keys()) {
        if (!inList.has(m) && !droppedSet.has(m))
          throw protocolError('a partner is neither survivor nor dropped');
      }

      if (!Array.isArray(signatures)) throw protocolError('the survivor signatures are malformed');
      const message = survivorsMessage(this.plan, survivors);
      const signers = new Set<string>();
      for (const { member, signature } of signatures) {
        if (!inList.has(member)) throw protocolError('a survivor-list signature comes from a non-survivor');
        if (signers.has(member)) throw protocolError('two survivor-list signatures from one member');
        if (signers.size >= this.plan.quorum) continue; // a quorum is all that is needed: skip the rest
        if (!verified(verify, member, message, signature)) {
          throw new AccordError('ACCORD_SECAGG_SIGNATURE_INVALID', {
            member,
            reason: 'the survivor-list signature does not verify',
          });
        }
        signers.add(member);
      }
      if (signers.size < this.plan.quorum) {
        throw new AccordError('ACCORD_SECAGG_TOO_FEW_SURVIVORS', {
          round: this.plan.round,
          survivors: signers.size,
          needed: this.plan.quorum,
        });
      }

      const selfMaskShares: OwnedShare[] = [{ owner: this.member, share: this.#ownSelfMaskShare!.slice() }];
      const maskKeyShares: OwnedShare[] = [];
      for (const [owner, held] of this.#held) {
        if (inList.has(owner)) selfMaskShares.push({ owner, share: held.selfMaskShare.slice() });
        else maskKeyShares.push({ owner, share: held.maskKeyShare.slice() });
      }
      const byOwner = (a: OwnedShare, b: OwnedShare) => compareMembers(a.owner, b.owner);
      return { selfMaskShares: selfMaskShares.sort(byOwner), maskKeyShares: maskKeyShares.sort(byOwner) };
    });
  }
}
