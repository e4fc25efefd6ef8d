/**
 * This node's part in one secure aggregation: the SecAgg+ participant of `primitives/secagg/client.ts` with this
 * member's certificate key for what it signs (its round keys, the survivor list) and the consortium CA for what it
 * checks (every other member's keys and signatures). The round plan is computed here from the spec and the members
 * the coordinator names, never taken from the coordinator, so a coordinator that swaps a key or tells members
 * different stories is caught by a signature that does not verify.
 */
import { aggregationPlan } from '../../models/federated/aggregates.js';
import type { MemberSigner, MemberVerifier } from '../../platform/tls/member-signature.js';
import { SecAggClient } from '../../primitives/secagg/client.js';
import type {
  ShareBox,
  UnmaskRequest,
  UnmaskResponse,
  VerifySignature,
} from '../../primitives/secagg/protocol.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { AggregationId, SignedKeys } from '../../primitives/training/job-protocol.js';
import type { HorizontalSpec as TrainingSpec } from '../../primitives/training/spec.js';

export class SecAggParticipant {
  private client: SecAggClient | null = null;
  /** Certificates of the members whose keys this node verified, for their survivor-list signatures. */
  private readonly certificates = new Map<string, string>();
  private readonly verify: VerifySignature;

  constructor(
    private readonly self: string,
    private readonly spec: TrainingSpec,
    private readonly id: AggregationId,
    private readonly signer: MemberSigner,
    verifier: MemberVerifier,
  ) {
    this.verify = (member, message, signature) => {
      const pem = this.certificates.get(member);
      return pem !== undefined && verifier(member, pem, message, signature) === null;
    };
  }

  private round(): SecAggClient {
    if (!this.client)
      throw new AccordError('ACCORD_SECAGG_PROTOCOL', { reason: 'the round has not been set up' });
    return this.client;
  }

  /** Stage 1: this node's signed round keys for the aggregation among `members`. */
  setup(members: readonly string[]): SignedKeys {
    if (this.client)
      throw new AccordError('ACCORD_SECAGG_PROTOCOL', { reason: 'a second setup for one round' });
    if (!members.includes(this.self))
      throw new AccordError('ACCORD_SECAGG_PROTOCOL', { reason: 'a setup that leaves this member out' });
    this.client = new SecAggClient(aggregationPlan(this.spec, this.id, members), this.self);
    const { keys, toSign } = this.client.advertiseKeys();
    return { ...keys, signature: this.signer.sign(toSign), certificatePem: this.signer.certificatePem };
  }

  /** Stage 2: checks every neighbour's keys against its certificate, returns the share boxes. */
  shareKeys(keys: readonly SignedKeys[]): ShareBox[] {
    for (const k of keys) this.certificates.set(k.member, k.certificatePem);
    return this.round().shareKeys(keys, this.verify);
  }

  /** Stage 3: the masked vector. */
  mask(boxes: readonly ShareBox[], lanes: Uint32Array): Uint32Array {
    return this.round().maskedVector(lanes, boxes);
  }

  /** Stage 4: this node's signature on the survivor list, after checking it. */
  consistencyCheck(survivors: readonly string[]): Uint8Array {
    return this.signer.sign(this.round().consistencyCheck(survivors));
  }

  /** Stage 5: the shares the protocol says to reveal (never both secrets of one member). */
  unmask(request: UnmaskRequest): UnmaskResponse {
    return this.round().unmask(request, this.verify);
  }
}
