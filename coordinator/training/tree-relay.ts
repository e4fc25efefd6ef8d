/**
 * The coordinator's side of a boosted-tree job (primitives/vertical/secureboost.ts): it starts the job with every
 * party's signed box key and then only relays boxes, one at a time as they arrive, in rounds the label holder drives:
 * the label holder's message to every feature holder, then every feature holder's answer back. It holds no key and
 * opens nothing; it checks that each box is where the round says it should be (sender, receiver, part, order), and a
 * party that leaves, stalls past the round deadline or sends out of turn fails the job for everyone.
 */
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import type { TrainingEvent } from '../../primitives/training/job-protocol.js';
import type { VerticalSpec } from '../../primitives/training/spec.js';
import { MIN_NODE_ROWS } from '../../primitives/vertical/secureboost.js';
import {
  type BatchId,
  type Box,
  batchKey,
  splitSizes,
  VERTICAL_STAGE,
  type VerticalAcceptance,
  type VerticalReply,
} from '../../primitives/vertical/protocol.js';
import { VerticalFailed } from './vertical.js';

export interface TreeRelayDeps {
  deliver(member: string, event: TrainingEvent): Promise<void>;
  /** Deadline of one round, every party together. */
  readonly stageTimeoutMs: number;
  /** Called when the label holder starts a tree (for the error that names where a party was lost). */
  onEpoch?(tree: number): void;
}

/** One logical message from one party to another: its parts seen so far. */
interface Message {
  parts: number;
  readonly seen: Set<number>;
}

/** The round under way: per feature holder, the label holder's message to it and its answer, as far as they came. */
interface Round {
  readonly batch: BatchId;
  readonly out: Map<string, Message>;
  readonly back: Map<string, Message>;
}

const complete = (m: Message | undefined): boolean => m !== undefined && m.seen.size === m.parts;

const refuse = (reason: string) => new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason });

/** (epoch, batch) order of rounds: every round comes strictly after the one before. */
const order = (b: BatchId) => b.epoch * 1_000_000 + b.batch;

export class TreeRelay {
  readonly labelHolder: string;
  readonly featureHolders: readonly string[];
  /** Payload bytes the coordinator received and sent for the job (boxes and keys). */
  bytes = 0;
  private round: Round | null = null;
  private last: BatchId | null = null;
  private failed: VerticalFailed | null = null;
  private timer: NodeJS.Timeout | null = null;
  private settle: { resolve(): void; reject(f: VerticalFailed): void } | null = null;

  constructor(
    readonly jobId: string,
    readonly participants: readonly string[],
    readonly spec: VerticalSpec,
    private readonly acceptances: ReadonlyMap<string, VerticalAcceptance>,
    private readonly deps: TreeRelayDeps,
  ) {
    this.labelHolder = spec.labelHolder;
    this.featureHolders = participants.filter((m) => m !== spec.labelHolder);
  }

  /** The job can start: every party aligned the same rows, enough of them to train a tree on. */
  static checkShape(spec: VerticalSpec, acceptances: ReadonlyMap<string, VerticalAcceptance>): void {
    const expected = acceptances.get(spec.labelHolder)?.alignedRows ?? 0;
    for (const [member, a] of acceptances)
      if (a.alignedRows !== expected)
        throw new VerticalFailed(
          new AccordError('ACCORD_VERTICAL_ROW_COUNT_MISMATCH', { member, rows: a.alignedRows, expected }),
          member,
        );
    const { trainingRows } = splitSizes(expected, spec.validation.fraction);
    if (trainingRows < 2 * MIN_NODE_ROWS)
      throw new VerticalFailed(
        new AccordError('ACCORD_VERTICAL_BATCH_TOO_SMALL', {
          rows: trainingRows,
          columns: 1,
          needed: 2 * MIN_NODE_ROWS,
        }),
        null,
      );
  }

  /** Starts the job and relays rounds until the label holder finishes; throws VerticalFailed. */
  async run(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    const start: BatchId = { jobId: this.jobId, epoch: 1, batch: 0, phase: 'train' };
    this.awaitLabelHolder();
    await Promise.all(
      this.participants.map((m) =>
        this.send(m, {
          kind: 'vertical',
          call: {
            stage: VERTICAL_STAGE.START,
            batch: start,
            heParameterId: '',
            publicKey: new Uint8Array(0),
            keys: this.participants.map((p) => this.acceptances.get(p)!.key),
          },
        }),
      ),
    );
    return done;
  }

  private send(member: string, event: TrainingEvent): Promise<void> {
    return this.deps.deliver(member, event).catch((err) => {
      throw new VerticalFailed(toAccordError(err), member);
    });
  }

  /** (Re)arms the round deadline. */
  private arm(what: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => this.fail(new AccordError('ACCORD_TRAINING_TIMEOUT', { what }), null),
      this.deps.stageTimeoutMs,
    );
  }

  private awaitLabelHolder(): void {
    this.round = null;
    this.arm(`the label holder's next round`);
  }

  fail(error: AccordError, by: string | null): void {
    const failure = new VerticalFailed(error, by);
    this.failed ??= failure;
    if (this.timer) clearTimeout(this.timer);
    this.settle?.reject(this.failed);
    this.settle = null;
  }

  memberLost(member: string, tree: number): void {
    if (this.participants.includes(member))
      this.fail(new AccordError('ACCORD_VERTICAL_PARTY_LOST', { member, epoch: tree }), member);
  }

  /** A party's message; one out of turn, misaddressed or repeated fails the job, blaming its sender. */
  reply(member: string, reply: VerticalReply): void {
    try {
      if (this.failed) throw this.failed.error;
      if (reply.batch.jobId !== this.jobId) throw refuse('a message of another job');
      this.accept(member, reply);
    } catch (err) {
      const error = toAccordError(err);
      this.fail(error, member);
      throw error;
    }
  }

  private accept(member: string, reply: VerticalReply): void {
    const isLabelHolder = member === this.labelHolder;
    if (reply.stage === VERTICAL_STAGE.FINISH) {
      if (!isLabelHolder || this.round !== null)
        throw refuse('only the label holder finishes, between rounds');
      if (this.timer) clearTimeout(this.timer);
      this.settle?.resolve();
      this.settle = null;
      return;
    }
    if (reply.stage !== VERTICAL_STAGE.ROUND)
      throw refuse(`${reply.stage} belongs to a logistic-regression job`);
    const { box, batch } = reply;
    if (reply.batch.phase !== 'train') throw refuse('a tree round is a train step');
    let round = this.round;
    if (round === null) {
      // The label holder opens the next round.
      if (!isLabelHolder) throw refuse(`${member} sent before the label holder opened the round`);
      if (this.last && order(batch) <= order(this.last))
        throw refuse(`round ${batchKey(batch)} comes after ${batchKey(this.last)}`);
      if (!this.last || batch.epoch !== this.last.epoch) this.deps.onEpoch?.(batch.epoch);
      round = { batch, out: new Map(), back: new Map() };
      this.round = round;
      this.last = batch;
      this.arm(`every party's round ${batch.epoch}.${batch.batch}`);
    }
    if (batchKey(batch) !== batchKey(round.batch))
      throw refuse(`no message for ${batchKey(batch)} is expected`);
    // A feature holder answers once the label holder's whole message to it has passed, not before.
    const holder = isLabelHolder ? box.to : member;
    if (!this.featureHolders.includes(holder))
      throw refuse(`a box from ${member} must be addressed to a feature holder`);
    if (!isLabelHolder && !complete(round.out.get(member))) throw refuse(`${member} is not to send now`);
    const to = isLabelHolder ? holder : this.labelHolder;
    if (box.from !== member || box.to !== to) throw refuse(`a box from ${member} must be addressed to ${to}`);
    const messages = isLabelHolder ? round.out : round.back;
    const message = messages.get(holder) ?? { parts: box.parts, seen: new Set<number>() };
    if (complete(message) || message.parts !== box.parts || message.seen.has(box.part))
      throw refuse(`part ${box.part} of ${box.parts} repeated or miscounted`);
    message.seen.add(box.part);
    messages.set(holder, message);
    this.relay(to, round.batch, box);
    if (this.featureHolders.every((m) => complete(round.back.get(m)))) this.awaitLabelHolder();
  }

  private relay(to: string, batch: BatchId, box: Box): void {
    this.bytes += 2 * box.box.length;
    this.send(to, { kind: 'vertical', call: { stage: VERTICAL_STAGE.ROUND, batch, boxes: [box] } }).catch(
      (f: VerticalFailed) => this.fail(f.error, f.by),
    );
  }
}
