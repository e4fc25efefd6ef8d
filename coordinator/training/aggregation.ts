/**
 * One secure aggregation, driven by the coordinator: the SecAgg+ stages setup -> share_keys ->
 * collect_masked_vectors -> consistency_check -> unmask (the protocol and what each party learns:
 * primitives/secagg/protocol.ts), each sent to the members still taking part and answered within a deadline. A member
 * that misses a deadline or whose inbox closes is left out from then on; the protocol's server side
 * (`primitives/secagg/server.ts`) tells survivors from dropped members, removes the masks and returns the sum. The
 * coordinator holds no key: it relays signed keys and share boxes it cannot open.
 */
import { AccordError } from '../../primitives/errors/index.js';
import type { RoundPlan } from '../../primitives/secagg/neighbours.js';
import { SecAggServer } from '../../primitives/secagg/server.js';
import { SECAGG_STAGE, type SecAggStage } from '../../primitives/secagg/stages.js';
import type {
  AggregationId,
  SignedKeys,
  StepCall,
  StepReply,
} from '../../primitives/training/job-protocol.js';

export interface AggregationDeps {
  /** Sends one step to a member; rejects when the member's inbox is gone. */
  deliver(member: string, call: StepCall): Promise<void>;
  readonly stageTimeoutMs: number;
  readonly vectorTimeoutMs: number;
}

interface Waiting {
  readonly stage: SecAggStage;
  readonly pending: Set<string>;
  readonly replies: Map<string, StepReply>;
  done(): void;
}

export class Aggregation {
  private waiting: Waiting | null = null;
  private failure: AccordError | null = null;
  private readonly lost = new Set<string>();

  constructor(
    readonly id: AggregationId,
    private readonly plan: RoundPlan,
    private readonly deps: AggregationDeps,
  ) {}

  /**
   * A member's answer to the current stage. Returns false for a late, repeated or unexpected one (refused to its
   * sender: the member is simply out of this stage, as if it had dropped); throws for a malformed one, which fails
   * the aggregation.
   */
  reply(member: string, reply: StepReply): boolean {
    const w = this.waiting;
    if (!w || w.stage !== reply.stage || !w.pending.has(member)) return false;
    if (reply.stage === SECAGG_STAGE.SETUP && reply.keys.member !== member)
      throw new AccordError('ACCORD_SECAGG_PROTOCOL', {
        reason: `${member} sent keys naming another member`,
      });
    w.pending.delete(member);
    w.replies.set(member, reply);
    if (w.pending.size === 0) w.done();
    return true;
  }

  /** The member's inbox closed: it is out of this aggregation from now on. */
  memberLost(member: string): void {
    this.lost.add(member);
    const w = this.waiting;
    if (w?.pending.delete(member) && w.pending.size === 0) w.done();
  }

  /** Fails the aggregation at once (a cancel, a misbehaving member). */
  abort(error: AccordError): void {
    this.failure ??= error;
    this.waiting?.done();
  }

  /** Sends `call(member)` to each member and waits for their answers; returns who answered, with what. */
  private async stage(
    stage: SecAggStage,
    members: readonly string[],
    call: (member: string) => StepCall,
  ): Promise<Map<string, StepReply>> {
    if (this.failure) throw this.failure;
    const pending = new Set(members.filter((m) => !this.lost.has(m)));
    const replies = new Map<string, StepReply>();
    const timeout =
      stage === SECAGG_STAGE.COLLECT_MASKED_VECTORS ? this.deps.vectorTimeoutMs : this.deps.stageTimeoutMs;
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiting = null;
        resolve();
      };
      const timer = setTimeout(finish, timeout);
      timer.unref();
      this.waiting = { stage, pending, replies, done: finish };
      if (pending.size === 0) return finish();
      for (const member of [...pending]) {
        this.deps.deliver(member, call(member)).catch(() => this.memberLost(member));
      }
    });
    if (this.failure) throw this.failure;
    return replies;
  }

  /** Runs every stage; returns the sum (ring lanes) and whose vectors are in it. */
  async run(): Promise<{ sum: Uint32Array; contributors: readonly string[] }> {
    const server = new SecAggServer(this.plan);
    const { id } = this;
    const members = this.plan.participants;

    const setup = await this.stage(SECAGG_STAGE.SETUP, members, () => ({
      stage: SECAGG_STAGE.SETUP,
      aggregation: id,
      members,
    }));
    for (const [member, r] of setup) if (r.stage === SECAGG_STAGE.SETUP) server.receiveKeys(member, r.keys);
    const relayKeys = server.endSetup() as Map<string, SignedKeys[]>;

    const shared = await this.stage(SECAGG_STAGE.SHARE_KEYS, [...relayKeys.keys()], (member) => ({
      stage: SECAGG_STAGE.SHARE_KEYS,
      aggregation: id,
      keys: relayKeys.get(member) ?? [],
    }));
    for (const [member, r] of shared)
      if (r.stage === SECAGG_STAGE.SHARE_KEYS) server.receiveBoxes(member, r.boxes);
    const relayBoxes = server.endShareKeys();

    const masked = await this.stage(
      SECAGG_STAGE.COLLECT_MASKED_VECTORS,
      [...relayBoxes.keys()],
      (member) => ({
        stage: SECAGG_STAGE.COLLECT_MASKED_VECTORS,
        aggregation: id,
        boxes: relayBoxes.get(member) ?? [],
      }),
    );
    for (const [member, r] of masked)
      if (r.stage === SECAGG_STAGE.COLLECT_MASKED_VECTORS) server.receiveMaskedVector(member, r.masked);
    const survivors = server.endCollection();

    const signed = await this.stage(SECAGG_STAGE.CONSISTENCY_CHECK, survivors, () => ({
      stage: SECAGG_STAGE.CONSISTENCY_CHECK,
      aggregation: id,
      survivors,
    }));
    for (const [member, r] of signed)
      if (r.stage === SECAGG_STAGE.CONSISTENCY_CHECK) server.receiveSurvivorSignature(member, r.signature);
    const requests = server.endConsistencyCheck();

    const unmasked = await this.stage(SECAGG_STAGE.UNMASK, [...requests.keys()], (member) => ({
      stage: SECAGG_STAGE.UNMASK,
      aggregation: id,
      ...requests.get(member)!,
    }));
    for (const [member, r] of unmasked)
      if (r.stage === SECAGG_STAGE.UNMASK)
        server.receiveUnmask(member, { selfMaskShares: r.selfMaskShares, maskKeyShares: r.maskKeyShares });
    const result = server.finish();
    return { sum: result.sum, contributors: result.survivors };
  }
}
