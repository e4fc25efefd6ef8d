/**
 * Audit anchors: another process's record of this log's head, so that a consistent rewrite of the log (delete or
 * alter entries, then re-seal every hash with `sealEntry`) no longer passes verification. Pure: no I/O, the caller
 * passes the clock and feeds the entries.
 *
 * Flow:
 *   1. Every heartbeat carries the node's head (seq, hash) to the coordinator, and the coordinator's head back.
 *   2. The receiver decides with `decideAnchor` whether to anchor it: a head that moved, once the interval since the
 *      last anchor of that party has passed (the first heartbeat after a registration always anchors). A head that
 *      went backwards, or a different hash at the anchored seq, is a mismatch: the receiver records the alert.
 *   3. An anchor (seq, hash, at) is kept in the receiver's own hash-chained log and in a table that serves look-ups.
 *   4. To verify, the holder of the log fetches the anchors held about it and feeds its entries, in seq order, to an
 *      `AnchorChecker` (or `checkAnchors`): every anchored seq must exist locally and carry exactly the anchored hash.
 *      The first that does not is named, with the last anchor that still agrees.
 *
 * What it protects: entries up to the newest anchor. Not entries written after it (at most one anchor interval of
 * them), nor a log rewritten by a party that colludes with every holder of its anchors.
 */
import { COORDINATOR_NAME } from '../consortium/roles.js';

/** Default minimum time between two anchors of one party's head, in milliseconds. */
export const AUDIT_ANCHOR_INTERVAL_MS = 30_000;

/** The newest entry of a log: its sequence number and hash. */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/** A head of some log as recorded by another process. */
export interface AuditAnchor extends AuditHead {
  /** ISO-8601 UTC time the holder recorded it. */
  readonly at: string;
}

/** An anchor to check, with who holds it (a member name or `coordinator`), for the messages. */
export interface HeldAnchor extends AuditAnchor {
  readonly holder: string;
}

export type AnchorDecision =
  /** Record this head now. */
  | { readonly kind: 'anchor' }
  /** Nothing to do: the head did not move, or the interval has not passed yet. */
  | { readonly kind: 'wait' }
  /**
   * The head contradicts the last anchor: `backwards` (lower seq) or `rewritten` (same seq, other hash); or there is
   * no head at all (`missing`): every process writes entries before it first connects (its start, the Register
   * call), so a party that reports an empty log is hiding it, and would otherwise never be anchored.
   */
  | { readonly kind: 'mismatch'; readonly reason: 'backwards' | 'rewritten' | 'missing' };

/**
 * Whether to anchor `head`, given the last anchor of that party (`atMs` its time) and whether this is the first head
 * since the party (re)registered (`force`: anchor even inside the interval).
 */
export function decideAnchor(
  last: (AuditHead & { readonly atMs: number }) | null,
  head: AuditHead,
  nowMs: number,
  intervalMs: number,
  force: boolean,
): AnchorDecision {
  if (head.seq === 0) return { kind: 'mismatch', reason: 'missing' };
  if (last === null) return { kind: 'anchor' };
  if (head.seq < last.seq) return { kind: 'mismatch', reason: 'backwards' };
  if (head.seq === last.seq)
    return head.hash === last.hash ? { kind: 'wait' } : { kind: 'mismatch', reason: 'rewritten' };
  return force || nowMs - last.atMs >= intervalMs ? { kind: 'anchor' } : { kind: 'wait' };
}

/** The part of a hash that audit details and alerts show (enough to compare by eye, short enough to read). */
export function hashPrefix(hash: string): string {
  return hash.slice(0, 16);
}

export interface AnchorMismatch {
  /** The anchored sequence number whose local entry disagrees. */
  readonly seq: number;
  readonly holder: string;
  readonly anchoredAt: string;
  readonly anchoredHash: string;
  /** The local entry's hash, or null when the log has no entry `seq`. */
  readonly localHash: string | null;
  /** The highest anchored seq below `seq` that agrees, or null when none does. */
  readonly lastAgreeingSeq: number | null;
  /** What follows "entry <seq> " in a message: what disagrees and which entries are therefore in doubt. */
  readonly reason: string;
}

export type AnchorVerdict =
  | {
      readonly ok: true;
      /** Anchors compared. */
      readonly checked: number;
      /** The newest anchor (entries after it are not covered yet), or null when there were none. */
      readonly lastAnchor: HeldAnchor | null;
    }
  | { readonly ok: false; readonly checked: number; readonly firstMismatch: AnchorMismatch };

/** "entry 57 differs from the head the coordinator anchored at ... (...)": one line for people. */
export function describeAnchorMismatch(m: AnchorMismatch): string {
  return `entry ${m.seq} ${m.reason}`;
}

function holderName(holder: string): string {
  return holder === COORDINATOR_NAME ? 'the coordinator' : holder;
}

function mismatchOf(anchor: HeldAnchor, localHash: string | null, lastAgreeingSeq: number | null) {
  const what =
    localHash === null
      ? `is missing, yet ${holderName(anchor.holder)} anchored it at ${anchor.at}`
      : `differs from the head ${holderName(anchor.holder)} anchored at ${anchor.at}`;
  const scope =
    lastAgreeingSeq === null
      ? `no earlier anchor agrees: any entry up to ${anchor.seq} may have been rewritten or removed`
      : `entries after ${lastAgreeingSeq}, the last anchor that agrees, were rewritten or removed`;
  return {
    seq: anchor.seq,
    holder: anchor.holder,
    anchoredAt: anchor.at,
    anchoredHash: anchor.hash,
    localHash,
    lastAgreeingSeq,
    reason: `${what} (${scope})`,
  } satisfies AnchorMismatch;
}

/**
 * Checks a log against anchors held about it. Streams: push the entries in `seq` order (only seq and hash are read),
 * then ask for the verdict; memory grows with the anchors, not the log. Stops at the first anchor that disagrees.
 */
export class AnchorChecker {
  private readonly anchors: HeldAnchor[];
  private next = 0;
  private checked = 0;
  private lastAgreeing: HeldAnchor | null = null;
  private failure: AnchorMismatch | null = null;

  constructor(anchors: Iterable<HeldAnchor>) {
    this.anchors = [...anchors].sort((a, b) => a.seq - b.seq);
  }

  /** Returns false once an anchor disagrees (later entries need not be pushed). */
  push(entry: AuditHead): boolean {
    if (this.failure) return false;
    for (;;) {
      const anchor = this.anchors[this.next];
      if (!anchor || anchor.seq > entry.seq) return true;
      this.next++;
      this.checked++;
      // An anchored seq the log skipped over is missing; one it holds must carry exactly the anchored hash.
      const localHash = anchor.seq === entry.seq ? entry.hash : null;
      if (localHash !== anchor.hash) {
        this.failure = mismatchOf(anchor, localHash, this.lastAgreeing?.seq ?? null);
        return false;
      }
      this.lastAgreeing = anchor;
    }
  }

  /** Call after the last entry: anchors beyond the end of the log name entries that are missing. */
  verdict(): AnchorVerdict {
    if (!this.failure) {
      const beyond = this.anchors[this.next];
      if (beyond) {
        this.checked++;
        this.next++;
        this.failure = mismatchOf(beyond, null, this.lastAgreeing?.seq ?? null);
      }
    }
    if (this.failure) return { ok: false, checked: this.checked, firstMismatch: this.failure };
    return { ok: true, checked: this.checked, lastAnchor: this.lastAgreeing };
  }
}

/** `AnchorChecker` over a whole sequence of entries at once. */
export function checkAnchors(entries: Iterable<AuditHead>, anchors: Iterable<HeldAnchor>): AnchorVerdict {
  const checker = new AnchorChecker(anchors);
  for (const entry of entries) if (!checker.push(entry)) break;
  return checker.verdict();
}
