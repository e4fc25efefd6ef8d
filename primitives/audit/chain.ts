/**
 * Hash-chained, append-only audit entries.
 *
 * Flow:
 *   1. A caller drafts an entry: who (actor), what (action, target), outcome, masked details.
 *   2. The store seals it: `hash = SHA-256(prevHash || canonical(entry without hash))`, with `prevHash` the hash of
 *      the entry before it (`GENESIS_HASH` for the first) and `seq` one more than the previous.
 *   3. `verifyChain` recomputes every hash in order and names the first entry whose hash or link does not match.
 *
 * What it protects: an entry altered, removed or inserted after the fact breaks the chain at that entry. What it does
 * not: an attacker who rewrites the whole tail consistently (re-sealing every hash); for that, other processes
 * anchor this log's head in their own logs at each heartbeat, and verification compares with them (anchors.ts).
 *
 * Entries never hold a raw identifier: callers pass identifiers through `maskIdentifier` first.
 */
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditOutcome = 'ok' | 'denied' | 'failed' | 'refused';

export interface AuditDraft {
  /** Who: a member name from a certificate, `role:<role>` for a REST token, or `anonymous`. */
  readonly actor: string;
  /** What: `rest:POST /v1/datasets/:name`, `rpc:Register`, `tls:handshake`, `job:psi`... */
  readonly action: string;
  /** The object acted upon (dataset name, job id, member); never a customer identifier. */
  readonly target: string;
  readonly outcome: AuditOutcome;
  /** Small, masked context: error code, counts, durations. */
  readonly details: Readonly<Record<string, string | number | boolean>>;
}

export interface AuditEntry extends AuditDraft {
  readonly seq: number;
  /** ISO-8601 UTC time of sealing. */
  readonly at: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** Deterministic JSON: keys sorted at every level, so the same entry always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(entry.prevHash).update(canonicalJson(entry)).digest('hex');
}

export function sealEntry(
  draft: AuditDraft,
  previous: { seq: number; hash: string } | null,
  at: Date = new Date(),
): AuditEntry {
  const unsealed = {
    seq: previous ? previous.seq + 1 : 1,
    at: at.toISOString(),
    actor: draft.actor,
    action: draft.action,
    target: draft.target,
    outcome: draft.outcome,
    details: { ...draft.details },
    prevHash: previous ? previous.hash : GENESIS_HASH,
  };
  return { ...unsealed, hash: entryHash(unsealed) };
}

export type ChainVerdict =
  | { ok: true; entries: number; headHash: string }
  | { ok: false; entries: number; brokenAt: number; reason: string };

/**
 * Checks a chain given in `seq` order. Streams: feed entries one by one so a large log needs no memory.
 */
export class ChainVerifier {
  private previous: { seq: number; hash: string } | null = null;
  private count = 0;
  private failure: { brokenAt: number; reason: string } | null = null;

  push(entry: AuditEntry): boolean {
    if (this.failure) return false;
    this.count++;
    const expectedSeq = this.previous ? this.previous.seq + 1 : 1;
    const expectedPrev = this.previous ? this.previous.hash : GENESIS_HASH;
    if (entry.seq !== expectedSeq) {
      this.failure = {
        brokenAt: entry.seq,
        reason: `expected entry ${expectedSeq} here (an entry was removed or inserted)`,
      };
    } else if (entry.prevHash !== expectedPrev) {
      this.failure = { brokenAt: entry.seq, reason: 'link to the previous entry does not match' };
    } else {
      const { hash, ...rest } = entry;
      if (entryHash(rest) !== hash)
        this.failure = { brokenAt: entry.seq, reason: 'entry content does not match its hash' };
    }
    this.previous = { seq: entry.seq, hash: entry.hash };
    return this.failure === null;
  }

  verdict(): ChainVerdict {
    if (this.failure) return { ok: false, entries: this.count, ...this.failure };
    return { ok: true, entries: this.count, headHash: this.previous ? this.previous.hash : GENESIS_HASH };
  }
}
