/**
 * Runs secure-aggregation rounds in process: every participant's SecAggClient and the SecAggServer, with Ed25519
 * member keys standing in for the certificate keys. Each stage can drop participants (they simply stop answering)
 * and every message the coordinator receives before the unmask stage is recorded as its "view".
 */
import {
  generateKeyPairSync,
  type KeyObject,
  randomFillSync,
  sign,
  verify as verifyEd25519,
} from 'node:crypto';
import { SecAggClient } from '../../../primitives/secagg/client.js';
import { planRound, type RoundParams, type RoundPlan } from '../../../primitives/secagg/neighbours.js';
import type {
  ShareBox,
  SignedRoundKeys,
  UnmaskRequest,
  UnmaskResponse,
  VerifySignature,
} from '../../../primitives/secagg/protocol.js';
import { SecAggServer, type SecAggResult } from '../../../primitives/secagg/server.js';

export type DropStage = 'setup' | 'keys' | 'shares' | 'vector' | 'signature';

/** Who stops answering where: 'setup' never sends keys; 'keys' sends keys only; 'shares' sends boxes but no vector
 * (dropped: not in the sum); 'vector' sends its vector but does not sign (a survivor); 'signature' signs but sends
 * no unmask shares (a survivor). */
export type Drops = Partial<Record<DropStage, readonly string[]>>;

export interface CoordinatorView {
  keys: SignedRoundKeys[];
  boxes: ShareBox[];
  maskedVectors: Map<string, Uint32Array>;
  survivorSignatures: Map<string, Uint8Array>;
}

export class MemberPki {
  readonly #keys = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();

  constructor(members: readonly string[]) {
    for (const m of members) this.#keys.set(m, generateKeyPairSync('ed25519'));
  }

  sign(member: string, message: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, message, this.#keys.get(member)!.privateKey));
  }

  readonly verify: VerifySignature = (member, message, signature) => {
    const key = this.#keys.get(member);
    return key !== undefined && verifyEd25519(null, message, key.publicKey, signature);
  };
}

export function names(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `bank-${String(i).padStart(2, '0')}`);
}

export function randomLanes(lanes: number): Uint32Array {
  return randomFillSync(new Uint32Array(lanes));
}

/** Sum of `inputs` of `members`, mod 2^32. */
export function plainSum(
  inputs: ReadonlyMap<string, Uint32Array>,
  members: readonly string[],
  lanes: number,
) {
  const out = new Uint32Array(lanes);
  for (const m of members) {
    const x = inputs.get(m)!;
    for (let i = 0; i < lanes; i++) out[i] = out[i]! + x[i]!;
  }
  return out;
}

export class RoundDriver {
  readonly plan: RoundPlan;
  readonly server: SecAggServer;
  readonly clients = new Map<string, SecAggClient>();
  readonly pki: MemberPki;
  readonly view: CoordinatorView = {
    keys: [],
    boxes: [],
    maskedVectors: new Map(),
    survivorSignatures: new Map(),
  };

  constructor(params: RoundParams, pki?: MemberPki) {
    this.plan = planRound(params);
    this.server = new SecAggServer(this.plan);
    this.pki = pki ?? new MemberPki(this.plan.participants);
    for (const m of this.plan.participants) this.clients.set(m, new SecAggClient(this.plan, m));
  }

  setup(drop: readonly string[] = []): Map<string, SignedRoundKeys[]> {
    for (const [m, client] of this.clients) {
      if (drop.includes(m)) continue;
      const { keys, toSign } = client.advertiseKeys();
      const signed = { ...keys, signature: this.pki.sign(m, toSign) };
      this.view.keys.push(signed);
      this.server.receiveKeys(m, signed);
    }
    return this.server.endSetup();
  }

  shareKeys(keysFor: Map<string, SignedRoundKeys[]>, drop: readonly string[] = []): Map<string, ShareBox[]> {
    for (const [m, keys] of keysFor) {
      const boxes = this.clients.get(m)!.shareKeys(keys, this.pki.verify);
      if (drop.includes(m)) continue;
      this.view.boxes.push(...boxes);
      this.server.receiveBoxes(m, boxes);
    }
    return this.server.endShareKeys();
  }

  collect(
    boxesFor: Map<string, ShareBox[]>,
    inputs: ReadonlyMap<string, Uint32Array>,
    drop: readonly string[] = [],
  ): readonly string[] {
    for (const [m, boxes] of boxesFor) {
      if (drop.includes(m)) continue;
      const y = this.clients.get(m)!.maskedVector(inputs.get(m)!, boxes);
      this.view.maskedVectors.set(m, y);
      this.server.receiveMaskedVector(m, y);
    }
    return this.server.endCollection();
  }

  consistency(survivors: readonly string[], drop: readonly string[] = []): Map<string, UnmaskRequest> {
    for (const m of survivors) {
      if (drop.includes(m)) continue;
      const signature = this.pki.sign(m, this.clients.get(m)!.consistencyCheck(survivors));
      this.view.survivorSignatures.set(m, signature);
      this.server.receiveSurvivorSignature(m, signature);
    }
    return this.server.endConsistencyCheck();
  }

  unmask(requests: Map<string, UnmaskRequest>, drop: readonly string[] = []): SecAggResult {
    for (const [m, request] of requests) {
      const response: UnmaskResponse = this.clients.get(m)!.unmask(request, this.pki.verify);
      if (drop.includes(m)) continue;
      this.server.receiveUnmask(m, response);
    }
    return this.server.finish();
  }

  run(inputs: ReadonlyMap<string, Uint32Array>, drops: Drops = {}): SecAggResult {
    const keysFor = this.setup(drops.setup);
    const boxesFor = this.shareKeys(keysFor, drops.keys);
    const survivors = this.collect(boxesFor, inputs, drops.shares);
    const requests = this.consistency(survivors, drops.vector);
    return this.unmask(requests, drops.signature);
  }
}

export function randomInputs(members: readonly string[], lanes: number): Map<string, Uint32Array> {
  return new Map(members.map((m) => [m, randomLanes(lanes)]));
}

/** A seeded generator of floats in [0, 1) (mulberry32), so property tests replay the same cases. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
