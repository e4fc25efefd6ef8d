/**
 * The coordinator's side of a secure-aggregation round (flow in `protocol.ts`): pure, no I/O. The coordinator feeds
 * it what each member sent (`from` is the member the transport authenticated, e.g. the mTLS peer), closes each stage
 * when all answered or the stage timed out, and sends what the close returns:
 *
 *   const server = new SecAggServer(plan);
 *   server.receiveKeys(from, signedKeys)...;        const keysFor = server.endSetup();             // -> stage 2
 *   server.receiveBoxes(from, boxes)...;            const boxesFor = server.endShareKeys();        // -> stage 3
 *   server.receiveMaskedVector(from, y)...;         const survivors = server.endCollection();      // -> stage 4
 *   server.receiveSurvivorSignature(from, sig)...;  const requests = server.endConsistencyCheck(); // -> stage 5
 *   server.receiveUnmask(from, response)...;        const { sum, survivors } = server.finish();
 *
 * Members that do not answer a stage simply are not fed in; each end* call works out who remains and throws
 * ACCORD_SECAGG_TOO_FEW_SURVIVORS when the round can no longer finish (fewer than minSurvivors / the quorum, or a
 * participant whose secret could no longer be rebuilt from t shares). A message out of stage, repeated, from a
 * member not in the round or not expected at this stage is ACCORD_SECAGG_PROTOCOL and leaves the state unchanged.
 *
 * The server keeps the running sum of the masked vectors, never an individual one. It relays signed keys and boxes
 * it cannot check or open; it checks what it rebuilds against what was signed (ACCORD_SECAGG_RECONSTRUCTION_FAILED).
 */
import { AccordError } from '../errors/index.js';
import { bytesEqual } from './encoding.js';
import { pairwiseSeed, PUBLIC_KEY_BYTES, X25519KeyPair } from './key-agreement.js';
import { compareMembers, holderShortfall, type RoundPlan } from './neighbours.js';
import { addMask } from './prg.js';
import {
  type MemberSignature,
  type OwnedShare,
  type ShareBox,
  type SignedRoundKeys,
  selfMaskCommitment,
  type UnmaskRequest,
  type UnmaskResponse,
} from './protocol.js';
import { addInPlace } from './ring.js';
import { combine, SHARE_BYTES, shareX } from './shamir.js';
import { BOX_BYTES } from './share-box.js';
import { SECAGG_LABEL, SECAGG_STAGE, type SecAggStage } from './stages.js';

/** Signatures are relayed, not checked here; this only bounds their size. */
const MAX_SIGNATURE_BYTES = 1024;

const protocolError = (reason: string) => new AccordError('ACCORD_SECAGG_PROTOCOL', { reason });

export interface SecAggResult {
  /** Sum over `survivors` of their vectors, mod 2^32. */
  readonly sum: Uint32Array;
  /** L: whose vectors are in the sum, sorted. */
  readonly survivors: readonly string[];
}

function sorted(members: Iterable<string>): string[] {
  return [...members].sort(compareMembers);
}

export class SecAggServer {
  readonly plan: RoundPlan;
  #stage: SecAggStage | 'done' = SECAGG_STAGE.SETUP;

  #keys = new Map<string, SignedRoundKeys>(); // U1
  #boxes = new Map<string, readonly ShareBox[]>(); // U2
  #sum: Uint32Array | undefined;
  #maskedFrom = new Set<string>(); // U3 = L
  #survivors: readonly string[] = [];
  #signatures = new Map<string, Uint8Array>(); // U4
  #responses = new Map<string, UnmaskResponse>(); // U5
  #dropped = new Map<string, readonly string[]>(); // per signer: the dropped list it was sent

  constructor(plan: RoundPlan) {
    this.plan = plan;
  }

  /** The stage being collected ('done' after finish). */
  get stage(): SecAggStage | 'done' {
    return this.#stage;
  }

  #expect(
    stage: SecAggStage,
    from: string,
    expected: ReadonlySet<string> | null,
    seen: ReadonlySet<string>,
  ): void {
    if (this.#stage !== stage) throw protocolError(`a ${stage} message outside its stage`);
    if (typeof from !== 'string' || !this.plan.has(from))
      throw protocolError('a message from a non-participant');
    if (expected !== null && !expected.has(from))
      throw protocolError('a message from a member no longer in the round');
    if (seen.has(from)) throw protocolError(`a repeated ${stage} message`);
  }

  #tooFew(survivors: number, needed: number): AccordError {
    return new AccordError('ACCORD_SECAGG_TOO_FEW_SURVIVORS', { round: this.plan.round, survivors, needed });
  }

  #checkCount(active: ReadonlySet<string>, needed = this.plan.minSurvivors): void {
    if (active.size < needed) throw this.#tooFew(active.size, needed);
    const short = holderShortfall(this.plan, active);
    if (short) throw this.#tooFew(short.remaining, this.plan.threshold);
  }

  /**
   * Whether every secret that finish() will need can still be rebuilt from the shares of `responders`: b_i of each
   * survivor from its holders, the s secret of each dropped participant some survivor paired with from its
   * neighbours. Throws ACCORD_SECAGG_TOO_FEW_SURVIVORS otherwise.
   */
  #checkRecoverable(responders: ReadonlySet<string>): void {
    const t = this.plan.threshold;
    for (const i of this.#survivors) {
      const n = this.plan.holdersOf(i).filter((h) => responders.has(h)).length;
      if (n < t) throw this.#tooFew(n, t);
    }
    for (const j of this.#droppedAfterSharing()) {
      const n = this.plan.neighboursOf(j).filter((h) => responders.has(h)).length;
      if (n < t) throw this.#tooFew(n, t);
    }
  }

  /** Members of U2 minus L that paired with at least one survivor: their s secret is needed. */
  #droppedAfterSharing(): string[] {
    const inL = new Set(this.#survivors);
    return sorted(this.#boxes.keys()).filter(
      (j) => !inL.has(j) && this.plan.neighboursOf(j).some((i) => inL.has(i)),
    );
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Stage 1: SETUP

  /** Records `from`'s signed round keys (relayed as they are; the signature is checked by the neighbours). */
  receiveKeys(from: string, keys: SignedRoundKeys): void {
    this.#expect(SECAGG_STAGE.SETUP, from, null, new Set(this.#keys.keys()));
    if (keys.member !== from) throw protocolError('round keys sent on behalf of another member');
    if (keys.session !== this.plan.session || keys.round !== this.plan.round) {
      throw protocolError('round keys of another round');
    }
    const wellFormed =
      [keys.encryptionKey, keys.maskKey, keys.selfMaskCommitment].every(
        (b) => b instanceof Uint8Array && b.length === PUBLIC_KEY_BYTES,
      ) &&
      keys.signature instanceof Uint8Array &&
      keys.signature.length > 0 &&
      keys.signature.length <= MAX_SIGNATURE_BYTES;
    if (!wellFormed) throw protocolError('malformed round keys');
    this.#keys.set(from, keys);
  }

  /**
   * Closes stage 1. Returns, for each member that sent keys, what to send it in stage 2: its own keys and those of
   * its neighbours that sent keys.
   */
  endSetup(): Map<string, SignedRoundKeys[]> {
    if (this.#stage !== SECAGG_STAGE.SETUP) throw protocolError('setup is not open');
    const active = new Set(this.#keys.keys());
    this.#checkCount(active);
    this.#stage = SECAGG_STAGE.SHARE_KEYS;
    const out = new Map<string, SignedRoundKeys[]>();
    for (const m of sorted(active)) {
      const list = [this.#keys.get(m)!];
      for (const j of this.plan.neighboursOf(m)) if (active.has(j)) list.push(this.#keys.get(j)!);
      out.set(m, list);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Stage 2: SHARE_KEYS

  /** Records `from`'s boxes: exactly one for each of its neighbours that sent keys. */
  receiveBoxes(from: string, boxes: readonly ShareBox[]): void {
    this.#expect(SECAGG_STAGE.SHARE_KEYS, from, new Set(this.#keys.keys()), new Set(this.#boxes.keys()));
    if (!Array.isArray(boxes)) throw protocolError('malformed boxes');
    const expected = new Set(this.plan.neighboursOf(from).filter((j) => this.#keys.has(j)));
    const to = new Set<string>();
    for (const b of boxes) {
      if (b.from !== from) throw protocolError('a box sent on behalf of another member');
      if (!expected.has(b.to) || to.has(b.to))
        throw protocolError('a box for a member that is not a neighbour');
      if (!(b.box instanceof Uint8Array) || b.box.length !== BOX_BYTES)
        throw protocolError('a box of the wrong size');
      to.add(b.to);
    }
    if (to.size !== expected.size) throw protocolError('boxes missing for some neighbours');
    this.#boxes.set(from, [...boxes]);
  }

  /**
   * Closes stage 2. Returns, for each member that sent its boxes, the boxes addressed to it by the others that did
   * (its partners for the round).
   */
  endShareKeys(): Map<string, ShareBox[]> {
    if (this.#stage !== SECAGG_STAGE.SHARE_KEYS) throw protocolError('share_keys is not open');
    const active = new Set(this.#boxes.keys());
    this.#checkCount(active);
    this.#stage = SECAGG_STAGE.COLLECT_MASKED_VECTORS;
    const out = new Map<string, ShareBox[]>(sorted(active).map((m) => [m, []]));
    for (const from of sorted(active)) {
      for (const b of this.#boxes.get(from)!) out.get(b.to)?.push(b);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Stage 3: COLLECT_MASKED_VECTORS

  /**
   * Adds `from`'s masked vector to the running sum. Throws ACCORD_SECAGG_VECTOR_LENGTH (naming the member) for a
   * vector of the wrong length.
   */
  receiveMaskedVector(from: string, maskedVector: Uint32Array): void {
    this.#expect(SECAGG_STAGE.COLLECT_MASKED_VECTORS, from, new Set(this.#boxes.keys()), this.#maskedFrom);
    if (!(maskedVector instanceof Uint32Array)) throw protocolError('a masked vector is not a Uint32Array');
    if (maskedVector.length !== this.plan.lanes) {
      throw new AccordError('ACCORD_SECAGG_VECTOR_LENGTH', {
        member: from,
        actual: maskedVector.length,
        expected: this.plan.lanes,
      });
    }
    if (this.#sum === undefined) this.#sum = maskedVector.slice();
    else addInPlace(this.#sum, maskedVector);
    this.#maskedFrom.add(from);
  }

  /** Closes stage 3. Returns the survivor list L to send to each of its members for signing. */
  endCollection(): readonly string[] {
    if (this.#stage !== SECAGG_STAGE.COLLECT_MASKED_VECTORS) throw protocolError('collection is not open');
    this.#checkCount(this.#maskedFrom);
    this.#survivors = sorted(this.#maskedFrom);
    this.#checkRecoverable(this.#maskedFrom);
    this.#stage = SECAGG_STAGE.CONSISTENCY_CHECK;
    return this.#survivors;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Stage 4: CONSISTENCY_CHECK

  /** Records a survivor's signature on L (relayed to the others, who check it). */
  receiveSurvivorSignature(from: string, signature: Uint8Array): void {
    this.#expect(SECAGG_STAGE.CONSISTENCY_CHECK, from, this.#maskedFrom, new Set(this.#signatures.keys()));
    if (
      !(signature instanceof Uint8Array) ||
      signature.length === 0 ||
      signature.length > MAX_SIGNATURE_BYTES
    ) {
      throw protocolError('a malformed survivor-list signature');
    }
    this.#signatures.set(from, signature);
  }

  /**
   * Closes stage 4. Returns the unmask request for each member that signed: L, its partners outside L, and every
   * signature on L. Throws ACCORD_SECAGG_TOO_FEW_SURVIVORS below the quorum of signatures.
   */
  endConsistencyCheck(): Map<string, UnmaskRequest> {
    if (this.#stage !== SECAGG_STAGE.CONSISTENCY_CHECK)
      throw protocolError('the consistency check is not open');
    const signers = new Set(this.#signatures.keys());
    if (signers.size < this.plan.quorum) throw this.#tooFew(signers.size, this.plan.quorum);
    this.#checkRecoverable(signers);
    this.#stage = SECAGG_STAGE.UNMASK;
    const signatures: MemberSignature[] = sorted(signers).map((member) => ({
      member,
      signature: this.#signatures.get(member)!,
    }));
    const inL = new Set(this.#survivors);
    const out = new Map<string, UnmaskRequest>();
    for (const m of sorted(signers)) {
      const dropped = this.plan.neighboursOf(m).filter((j) => this.#boxes.has(j) && !inL.has(j));
      this.#dropped.set(m, dropped);
      out.set(m, { survivors: this.#survivors, dropped, signatures });
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Stage 5: UNMASK

  /**
   * Records a signer's shares: of b for each survivor among its holders, of the s secret for each partner it was
   * told dropped, all at its own x-coordinate.
   */
  receiveUnmask(from: string, response: UnmaskResponse): void {
    this.#expect(
      SECAGG_STAGE.UNMASK,
      from,
      new Set(this.#signatures.keys()),
      new Set(this.#responses.keys()),
    );
    const inL = new Set(this.#survivors);
    const expectB = this.plan.holdersOf(from).filter((j) => inL.has(j));
    const expectS = this.#dropped.get(from)!;
    const x = this.plan.xOf(from);
    const check = (shares: readonly OwnedShare[], owners: readonly string[]) => {
      if (!Array.isArray(shares) || shares.length !== owners.length)
        throw protocolError('unexpected unmask shares');
      shares.forEach(({ owner, share }, i) => {
        if (owner !== owners[i]) throw protocolError('unexpected unmask shares');
        if (!(share instanceof Uint8Array) || share.length !== SHARE_BYTES || shareX(share) !== x) {
          throw new AccordError('ACCORD_SECAGG_SHARE_INVALID', {
            member: from,
            reason: 'a share is malformed or not at the sender’s x-coordinate',
          });
        }
      });
    };
    check(response.selfMaskShares, expectB);
    check(response.maskKeyShares, expectS);
    this.#responses.set(from, response);
  }

  /** t shares of `kind` for `owner` from its holders that answered, in holder order. */
  #sharesFor(owner: string, holders: readonly string[], kind: keyof UnmaskResponse): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const h of holders) {
      const share = this.#responses.get(h)?.[kind].find((s) => s.owner === owner)?.share;
      if (share) out.push(share);
      if (out.length === this.plan.threshold) break;
    }
    return out;
  }

  #rebuild(owner: string, shares: Uint8Array[]): Uint8Array {
    try {
      return combine(shares);
    } catch (cause) {
      throw new AccordError(
        'ACCORD_SECAGG_RECONSTRUCTION_FAILED',
        { member: owner, reason: 'the shares do not combine' },
        { cause },
      );
    }
  }

  /**
   * Closes the round: rebuilds b of every survivor and the s secret of every dropped partner of a survivor, checks
   * each against its commitment or signed public key, removes the masks and returns the sum over L. Throws
   * ACCORD_SECAGG_TOO_FEW_SURVIVORS when some secret has fewer than t shares, ACCORD_SECAGG_RECONSTRUCTION_FAILED
   * when one does not match what its owner signed.
   */
  finish(): SecAggResult {
    if (this.#stage !== SECAGG_STAGE.UNMASK) throw protocolError('unmask is not open');
    const responders = new Set(this.#responses.keys());
    this.#checkRecoverable(responders);
    const sum = this.#sum!;

    for (const i of this.#survivors) {
      const b = this.#rebuild(i, this.#sharesFor(i, this.plan.holdersOf(i), 'selfMaskShares'));
      if (!bytesEqual(selfMaskCommitment(this.plan, i, b), this.#keys.get(i)!.selfMaskCommitment)) {
        throw new AccordError('ACCORD_SECAGG_RECONSTRUCTION_FAILED', {
          member: i,
          reason: 'the self-mask seed does not match its commitment',
        });
      }
      addMask(sum, b, SECAGG_LABEL.SELF_MASK, -1);
      b.fill(0);
    }

    const inL = new Set(this.#survivors);
    for (const j of this.#droppedAfterSharing()) {
      const secret = this.#rebuild(j, this.#sharesFor(j, this.plan.neighboursOf(j), 'maskKeyShares'));
      const recovered = X25519KeyPair.recover(secret);
      secret.fill(0);
      if (!bytesEqual(recovered.publicKey, this.#keys.get(j)!.maskKey)) {
        throw new AccordError('ACCORD_SECAGG_RECONSTRUCTION_FAILED', {
          member: j,
          reason: 'the mask key does not match the signed public key',
        });
      }
      for (const i of this.plan.neighboursOf(j)) {
        if (!inL.has(i)) continue;
        const seed = pairwiseSeed(recovered, this.#keys.get(i)!.maskKey, {
          session: this.plan.session,
          round: this.plan.round,
          a: i,
          b: j,
        });
        // Survivor i added +PRG(s_ij) if j < i, -PRG(s_ij) if j > i; take it back out.
        addMask(sum, seed, SECAGG_LABEL.PAIR_MASK, compareMembers(j, i) < 0 ? -1 : 1);
        seed.fill(0);
      }
    }
    this.#stage = 'done';
    this.#sum = undefined;
    return { sum, survivors: this.#survivors };
  }
}
