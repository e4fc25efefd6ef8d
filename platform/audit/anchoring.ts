/**
 * Anchors other processes' audit heads in this process's own log: the coordinator anchors each member's head from
 * its heartbeats, each node anchors the coordinator's head from the heartbeat answers. Keeping someone else's head in
 * your own hash-chained log is what makes a consistent rewrite of their log detectable (`accord audit verify`).
 *
 * Flow, per head received (`observe`), serialised per party:
 *   1. read the party's latest anchor from the store; decide with `decideAnchor` (primitives/audit/anchors.ts);
 *   2. `anchor`: append `audit:anchor` (actor: the party, details {seq, hash}) and the anchor row in ONE transaction;
 *      a failed write rejects with ACCORD_AUDIT_UNAVAILABLE, so the action carrying the head fails with it;
 *   3. `mismatch`: append `audit:anchor-mismatch` (outcome `refused`; at most once per anchor interval per party, so
 *      a rewritten log cannot flood ours) and log a warning at most once per party per hour: that is the alert.
 *      The head is not anchored; the anchors already held stay as they are.
 */
import {
  type AnchorDecision,
  type AuditHead,
  decideAnchor,
  hashPrefix,
} from '../../primitives/audit/anchors.js';
import { PerKeyQueue } from '../../primitives/concurrency/per-key-queue.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { Logger } from '../log/logger.js';
import type { AuditAnchorStore } from '../store/types.js';
import type { Audit } from './audit-log.js';

const WARN_EVERY_MS = 3_600_000;

export interface HeadAnchoringDeps {
  readonly anchors: AuditAnchorStore;
  /** The process's audit function, for mismatch entries. */
  readonly audit: Audit;
  readonly log: Logger;
  /** Minimum milliseconds between two anchors of one party. */
  readonly intervalMs: number;
  readonly now: () => number;
  /** The audit target naming a party: `member:<name>` at the coordinator, `coordinator` at a node. */
  readonly target: (party: string) => string;
}

export class HeadAnchoring {
  private readonly force = new Set<string>();
  private readonly lastMismatchAuditMs = new Map<string, number>();
  private readonly lastWarnMs = new Map<string, number>();
  /** Heads of one party, one at a time. */
  private readonly queue = new PerKeyQueue();

  constructor(private readonly deps: HeadAnchoringDeps) {}

  /** The party (re)registered: its next head is anchored even inside the interval. */
  registered(party: string): void {
    this.force.add(party);
  }

  /** Anchors `head` of `party` if due; records a mismatch if it contradicts the last anchor. */
  observe(party: string, head: AuditHead | null): Promise<AnchorDecision['kind']> {
    return this.queue.run(party, () => this.observeNow(party, head ?? { seq: 0, hash: '' }));
  }

  private async observeNow(party: string, head: AuditHead): Promise<AnchorDecision['kind']> {
    const { anchors, log } = this.deps;
    const now = this.deps.now();
    const last = await anchors.latest(party).catch((err) => {
      log.error('audit anchors unreadable', { err });
      throw new AccordError('ACCORD_AUDIT_UNAVAILABLE', { action: 'audit:anchor' });
    });
    const decision = decideAnchor(
      last && { seq: last.seq, hash: last.hash, atMs: Date.parse(last.at) },
      head,
      now,
      this.deps.intervalMs,
      this.force.has(party),
    );
    if (decision.kind === 'anchor') {
      try {
        await anchors.record(
          {
            actor: party,
            action: 'audit:anchor',
            target: this.deps.target(party),
            outcome: 'ok',
            details: { seq: head.seq, hash: head.hash },
          },
          { party, seq: head.seq, hash: head.hash },
        );
      } catch (err) {
        log.error('audit append failed', { action: 'audit:anchor', err });
        throw new AccordError('ACCORD_AUDIT_UNAVAILABLE', { action: 'audit:anchor' });
      }
      this.force.delete(party);
    } else if (decision.kind === 'mismatch') {
      const details = {
        reason: decision.reason,
        seq: head.seq,
        anchoredSeq: last?.seq ?? 0,
        anchoredHash: last ? hashPrefix(last.hash) : '',
        reportedHash: hashPrefix(head.hash),
      };
      const lastAudit = this.lastMismatchAuditMs.get(party);
      if (lastAudit === undefined || now - lastAudit >= this.deps.intervalMs) {
        await this.deps.audit({
          actor: party,
          action: 'audit:anchor-mismatch',
          target: this.deps.target(party),
          outcome: 'refused',
          details,
        });
        this.lastMismatchAuditMs.set(party, now);
      }
      const lastWarn = this.lastWarnMs.get(party);
      if (lastWarn === undefined || now - lastWarn >= WARN_EVERY_MS) {
        this.lastWarnMs.set(party, now);
        log.warn(
          'audit head missing or contradicting the head anchored earlier: its log may have been rewritten',
          {
            party,
            ...details,
            anchoredAt: last?.at ?? '',
          },
        );
      }
    }
    return decision.kind;
  }
}
