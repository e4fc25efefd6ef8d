/**
 * Round messages of a boosted-tree job (primitives/vertical/secureboost.ts) as this node sends and gathers them: a
 * message is one binary payload cut into boxes sealed for its one receiver and bound to the round and part
 * (primitives/vertical/channel.ts), so a relay that replays, reorders, re-addresses or cuts one makes it fail to
 * open. Rounds come in strictly increasing (tree, round) order; a message of a round already past is refused.
 */
import { AccordError } from '../../primitives/errors/index.js';
import type { PartyChannel } from '../../primitives/vertical/channel.js';
import {
  type BatchId,
  type Box,
  batchKey,
  VERTICAL_STAGE,
  type VerticalReply,
} from '../../primitives/vertical/protocol.js';
import { cutParts, joinParts, MAX_PART_BYTES } from '../../primitives/vertical/secureboost.js';

const refuse = (reason: string) => new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason });

/** (tree, round) order. */
export const roundOrder = (b: BatchId): number => b.epoch * 1_000_000 + b.batch;

export class TreeRounds {
  /** Per round and sender: the parts opened so far. */
  private readonly inbound = new Map<string, Map<string, Uint8Array[]>>();
  /** The latest round a message was sent or received for. */
  private latest = -1;
  /** Per sender: the most parts its next message may have (the wire's bound otherwise). */
  private readonly limits = new Map<string, number>();

  constructor(
    private readonly self: string,
    private readonly jobId: string,
    private readonly channels: ReadonlyMap<string, PartyChannel>,
    private readonly reply: (reply: VerticalReply) => Promise<void>,
  ) {}

  /** The most bytes `from`'s next message may carry: a message of more parts is refused on its first box. */
  expect(from: string, bytes: number): void {
    this.limits.set(from, Math.max(1, Math.ceil(bytes / MAX_PART_BYTES)));
  }

  /** Seals `message` for `to` at round `batch`, box by box. */
  async send(to: string, batch: BatchId, message: Uint8Array): Promise<void> {
    const channel = this.channels.get(to);
    if (!channel) throw refuse(`${to} is not a party`);
    this.advance(batch);
    const parts = cutParts(message);
    for (const [part, payload] of parts.entries()) {
      const box: Box = {
        from: this.self,
        to,
        part,
        parts: parts.length,
        box: channel.seal({ batch, stage: VERTICAL_STAGE.ROUND, part, parts: parts.length }, payload),
      };
      await this.reply({ stage: VERTICAL_STAGE.ROUND, batch, box });
    }
  }

  /** Refuses a round before the latest one; moves the latest forward. */
  private advance(batch: BatchId): void {
    if (batch.jobId !== this.jobId) throw refuse('a round of another job');
    const at = roundOrder(batch);
    if (at < this.latest) throw refuse(`round ${batchKey(batch)} is already past`);
    this.latest = at;
  }

  /**
   * Opens boxes of round `batch`; returns each message completed by them (sender and joined payload). A box from a
   * non-party, for another receiver, repeated or miscounted is refused.
   */
  receive(batch: BatchId, boxes: readonly Box[]): { from: string; message: Uint8Array }[] {
    this.advance(batch);
    const key = batchKey(batch);
    const round = this.inbound.get(key) ?? new Map<string, Uint8Array[]>();
    this.inbound.set(key, round);
    const done: { from: string; message: Uint8Array }[] = [];
    for (const box of boxes) {
      const channel = this.channels.get(box.from);
      if (!channel || box.to !== this.self) throw refuse(`a box from ${box.from} to ${box.to}`);
      const limit = this.limits.get(box.from);
      if (limit !== undefined && box.parts > limit)
        throw refuse(`a message of ${box.parts} parts from ${box.from}, where at most ${limit} are expected`);
      const parts = round.get(box.from) ?? new Array<Uint8Array>(box.parts);
      if (parts.length !== box.parts || parts[box.part] !== undefined)
        throw refuse(`part ${box.part} of ${box.parts} from ${box.from} repeated or miscounted`);
      parts[box.part] = channel.open(
        { batch, stage: VERTICAL_STAGE.ROUND, part: box.part, parts: box.parts },
        box.box,
      );
      round.set(box.from, parts);
      if (parts.every((p) => p !== undefined) && Object.keys(parts).length === parts.length) {
        done.push({ from: box.from, message: joinParts(parts) });
        round.set(box.from, []);
      }
    }
    // Drop rounds before this one: nothing of theirs may arrive any more.
    for (const k of this.inbound.keys()) if (k !== key) this.inbound.delete(k);
    return done;
  }
}
