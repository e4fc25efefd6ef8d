/**
 * One PSI session at the coordinator, as a state machine with no I/O (flow: primitives/psi/session-protocol.ts): who
 * was invited, who accepted on which terms with which set size and ratio cap, which batch each (origin, hop) stream
 * expects next, and the comparison keys of the fully blinded sets as they complete. Every check a misbehaving party
 * could fail lives here and throws a coded error.
 */
import { AccordError } from '../../primitives/errors/index.js';
import {
  differingTerm,
  expectedSender,
  learnersOf,
  nextInRing,
  type PsiAgreedTerms,
  type PsiAnswer,
  type PsiMode,
  type PsiReveal,
  type PsiSend,
  RingStreams,
  sizeRatio,
} from '../../primitives/psi/session-protocol.js';
import type { IdKind } from '../../primitives/identity/normalise.js';
import { KEY } from './intersect.js';

const POINT = 32;

export type SessionState = 'inviting' | 'running' | 'finishing' | 'ended';

export interface SessionTerms {
  readonly id: string;
  readonly initiator: string;
  readonly peers: readonly string[];
  readonly idKind: IdKind;
  readonly mode: PsiMode;
  readonly reveal: PsiReveal;
  readonly initiatorSetSize: number;
  /** The initiator's ratio cap, if it set one. */
  readonly initiatorMaxRatio: number | undefined;
}

export type Route = { kind: 'forward'; to: string } | { kind: 'final' };

/** The bounds a session is held to, from the coordinator's config. */
export interface SessionBounds {
  /** Largest set a party may announce. */
  readonly maxSetSize: number;
  /** Ratio cap applied when a party sets none, and the largest any party may ask for. */
  readonly maxSizeRatio: number;
}

export class PsiSession {
  readonly participants: readonly string[];
  state: SessionState = 'inviting';
  private readonly sizes = new Map<string, number>();
  private readonly caps = new Map<string, number>();
  private readonly streams = new RingStreams();
  /** Comparison keys of each origin's fully blinded set, in the origin's order; allocated when the session starts. */
  private readonly finals = new Map<string, { keys: Buffer; received: number }>();

  constructor(
    readonly terms: SessionTerms,
    private readonly bounds: SessionBounds,
  ) {
    this.participants = [terms.initiator, ...terms.peers];
    this.announce(terms.initiator, terms.initiatorSetSize, terms.initiatorMaxRatio);
  }

  get ring(): readonly string[] {
    return this.participants;
  }

  get learners(): string[] {
    return learnersOf(this.participants, this.terms.reveal);
  }

  /** The terms every acceptance must echo. */
  get agreedTerms(): PsiAgreedTerms {
    return {
      participants: this.participants,
      idKind: this.terms.idKind,
      mode: this.terms.mode,
      reveal: this.terms.reveal,
    };
  }

  setSizes(): number[] {
    return this.ring.map((m) => this.sizes.get(m) ?? 0);
  }

  /** Points this session will hold once running (every origin's set). */
  totalPoints(): number {
    return this.setSizes().reduce((a, b) => a + b, 0);
  }

  isParticipant(member: string): boolean {
    return this.participants.includes(member);
  }

  requireParticipant(member: string): void {
    if (!this.isParticipant(member)) {
      throw new AccordError('ACCORD_PSI_NOT_PARTICIPANT', { member, session: this.terms.id });
    }
  }

  private announce(member: string, setSize: number, cap: number | undefined): void {
    if (setSize < 1) throw new AccordError('ACCORD_PSI_PROTOCOL_VIOLATION', { member, problem: 'empty set' });
    if (setSize > this.bounds.maxSetSize) {
      throw new AccordError('ACCORD_PSI_SET_TOO_LARGE', { member, limit: this.bounds.maxSetSize });
    }
    this.sizes.set(member, setSize);
    this.caps.set(member, Math.min(cap ?? this.bounds.maxSizeRatio, this.bounds.maxSizeRatio));
  }

  /**
   * Records a peer's acceptance; returns true when every peer has accepted (the set sizes are then checked against
   * every party's ratio cap). Throws on terms that differ from the session's, or on sizes out of bounds.
   */
  respond(member: string, answer: Extract<PsiAnswer, { kind: 'accept' }>): boolean {
    this.requireParticipant(member);
    if (member === this.terms.initiator || this.state !== 'inviting' || this.sizes.has(member)) {
      throw new AccordError('ACCORD_PSI_PROTOCOL_VIOLATION', {
        member,
        problem: 'unexpected answer to the invitation',
      });
    }
    const differs = differingTerm(answer.terms, this.agreedTerms);
    if (differs) throw new AccordError('ACCORD_PSI_TERMS_MISMATCH', { member, ...differs });
    this.announce(member, answer.setSize, answer.maxSizeRatio);
    if (this.sizes.size < this.participants.length) return false;
    const ratio = sizeRatio(this.setSizes());
    const cap = Math.min(...this.caps.values());
    if (ratio > cap) {
      // The ratio, not the sizes: the refusal must not tell anyone a set size it would not otherwise learn.
      throw new AccordError('ACCORD_PSI_SIZE_RATIO_EXCEEDED', { ratio: ratio.toFixed(1), cap });
    }
    return true;
  }

  /** Every peer accepted and the coordinator has room: allocate the comparison buffers and start. */
  begin(): void {
    this.state = 'running';
    for (const origin of this.ring) {
      this.finals.set(origin, { keys: Buffer.allocUnsafe(this.sizes.get(origin)! * KEY), received: 0 });
    }
  }

  /**
   * Checks a batch against the session (right sender for this hop, in order, never more points than the origin's
   * set, the exact total on the last batch) and says where it goes; keeps the comparison keys of final batches.
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
    const expected = this.sizes.get(batch.origin)!;
    const wrong = this.streams.accept(batch, expected);
    if (wrong?.problem === 'order') {
      throw new AccordError('ACCORD_PSI_PROTOCOL_VIOLATION', {
        member: sender,
        problem: 'batch out of order',
      });
    }
    if (wrong) {
      throw new AccordError('ACCORD_PSI_SET_SIZE_MISMATCH', {
        member: sender,
        actual: wrong.received,
        expected,
      });
    }
    const to = nextInRing(this.ring, batch.origin, batch.hop);
    if (to !== null) return { kind: 'forward', to };
    const final = this.finals.get(batch.origin)!;
    for (let i = 0; i < batch.count; i++) {
      batch.points.copy(final.keys, (final.received + i) * KEY, i * POINT, i * POINT + KEY);
    }
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

  /** Comparison keys of every origin's fully blinded set, in ring order. */
  finalKeys(): Buffer[] {
    return this.ring.map((origin) => this.finals.get(origin)!.keys);
  }

  /** Frees the point buffers. */
  release(): void {
    this.finals.clear();
    this.state = 'ended';
  }
}
