/**
 * One PSI session at the coordinator, as a state machine with no I/O: who was invited, who accepted with which
 * terms and set size, which batch each (origin, hop) stream expects next, and the fully blinded sets as they
 * complete. Every check a misbehaving party could fail lives here and throws a coded error.
 */
import { AccordError } from '../../primitives/errors/index.js';
import {
  expectedSender,
  learnersOf,
  nextInRing,
  type PsiMode,
  type PsiReveal,
} from '../../primitives/psi/session-protocol.js';
import type { PsiRespond, PsiSend } from '../../platform/wire/psi.js';

const POINT = 32;

export type SessionState = 'inviting' | 'running' | 'finishing' | 'ended';

export interface SessionTerms {
  readonly id: string;
  readonly initiator: string;
  readonly peers: readonly string[];
  readonly idKind: string;
  readonly mode: PsiMode;
  readonly reveal: PsiReveal;
  readonly initiatorSetSize: number;
}

export type Route = { kind: 'forward'; to: string } | { kind: 'final' };

export class PsiSession {
  readonly participants: readonly string[];
  state: SessionState = 'inviting';
  private readonly sizes = new Map<string, number>();
  private readonly streams = new Map<string, { next: number; received: number; closed: boolean }>();
  private readonly finals = new Map<string, { points: Buffer; received: number }>();

  constructor(readonly terms: SessionTerms) {
    this.participants = [terms.initiator, ...terms.peers];
    this.sizes.set(terms.initiator, terms.initiatorSetSize);
  }

  get ring(): readonly string[] {
    return this.participants;
  }

  get learners(): string[] {
    return learnersOf(this.participants, this.terms.reveal);
  }

  setSizes(): number[] {
    return this.ring.map((m) => this.sizes.get(m) ?? 0);
  }

  isParticipant(member: string): boolean {
    return this.participants.includes(member);
  }

  requireParticipant(member: string): void {
    if (!this.isParticipant(member)) {
      throw new AccordError('ACCORD_PSI_NOT_PARTICIPANT', { member, session: this.terms.id });
    }
  }

  /** Records a peer's answer; returns true when every peer has accepted. Throws on decline or changed terms. */
  respond(member: string, answer: PsiRespond): boolean {
    this.requireParticipant(member);
    if (member === this.terms.initiator || this.state !== 'inviting' || this.sizes.has(member)) {
      throw new AccordError('ACCORD_PSI_PROTOCOL_VIOLATION', {
        member,
        problem: 'unexpected answer to the invitation',
      });
    }
    if (!answer.accept) {
      throw new AccordError('ACCORD_PSI_DECLINED', {
        member,
        reason: answer.declineCode || 'no reason given',
      });
    }
    if (answer.mode !== this.terms.mode) {
      throw new AccordError('ACCORD_PSI_TERMS_MISMATCH', {
        member,
        field: 'mode',
        actual: answer.mode || '(none)',
        expected: this.terms.mode,
      });
    }
    if (answer.reveal !== this.terms.reveal) {
      throw new AccordError('ACCORD_PSI_TERMS_MISMATCH', {
        member,
        field: 'reveal',
        actual: answer.reveal || '(none)',
        expected: this.terms.reveal,
      });
    }
    if (answer.setSize < 1)
      throw new AccordError('ACCORD_PSI_PROTOCOL_VIOLATION', { member, problem: 'empty set' });
    this.sizes.set(member, answer.setSize);
    if (this.sizes.size === this.participants.length) {
      this.state = 'running';
      for (const origin of this.ring) {
        this.finals.set(origin, { points: Buffer.alloc(this.sizes.get(origin)! * POINT), received: 0 });
      }
      return true;
    }
    return false;
  }

  /**
   * Checks a batch against the session (right sender for this hop, in order, never more points than the origin's
   * set, the exact total on the last batch) and says where it goes.
   */
  route(sender: string, batch: PsiSend): Route {
    this.requireParticipant(sender);
    if (this.state !== 'running') {
      throw new AccordError('ACCORD_PSI_PROTOCOL_VIOLATION', {
        member: sender,
        problem: `points sent while the session is ${this.state}`,
      });
    }
    if (!this.ring.includes(batch.origin) || batch.hop > this.ring.length) {
      throw new AccordError('ACCORD_PSI_PROTOCOL_VIOLATION', {
        member: sender,
        problem: 'unknown origin or hop',
      });
    }
    if (expectedSender(this.ring, batch.origin, batch.hop) !== sender) {
      throw new AccordError('ACCORD_PSI_PROTOCOL_VIOLATION', {
        member: sender,
        problem: 'points sent out of ring order',
      });
    }
    const key = `${batch.origin}/${batch.hop}`;
    const stream = this.streams.get(key) ?? { next: 0, received: 0, closed: false };
    const expected = this.sizes.get(batch.origin)!;
    if (stream.closed || batch.batchIndex !== stream.next) {
      throw new AccordError('ACCORD_PSI_PROTOCOL_VIOLATION', {
        member: sender,
        problem: 'batch out of order',
      });
    }
    stream.next++;
    stream.received += batch.count;
    if (stream.received > expected || (batch.last && stream.received !== expected)) {
      throw new AccordError('ACCORD_PSI_SET_SIZE_MISMATCH', {
        member: sender,
        actual: stream.received,
        expected,
      });
    }
    stream.closed = batch.last;
    this.streams.set(key, stream);
    const to = nextInRing(this.ring, batch.origin, batch.hop);
    if (to !== null) return { kind: 'forward', to };
    const final = this.finals.get(batch.origin)!;
    batch.points.copy(final.points, final.received * POINT);
    final.received += batch.count;
    return { kind: 'final' };
  }

  /** True once every origin's set has been blinded by every party. */
  finalsComplete(): boolean {
    for (const origin of this.ring) {
      const final = this.finals.get(origin);
      if (!final || final.received !== this.sizes.get(origin)) return false;
    }
    return true;
  }

  finalOf(origin: string): Buffer {
    return this.finals.get(origin)!.points;
  }

  /** Frees the point buffers. */
  release(): void {
    this.finals.clear();
    this.state = 'ended';
  }
}
