/**
 * Counts the TLS handshakes the gRPC server refuses (a client certificate from another CA, or none) per source
 * address, and writes at most one audit entry per source per window, so that a flood of bad handshakes cannot flood
 * the audit log (every entry is a hash-chained row that is never deleted).
 *
 *  - A source with no entry in the last window gets one at once (`refused: 1`): a single stray or first attempt is on
 *    record immediately, so an operator watching the log sees an attack start and a crash cannot lose it.
 *  - Further refusals from that source are counted; one entry with their count is written when the window that began
 *    with the last entry ends, and so on while they keep coming. Two entries for one source are therefore always at
 *    least a window apart. A source quiet for a whole window is forgotten, and its next refusal is written at once.
 *  - At most `maxSources` distinct sources are tracked at a time; refusals from any further source are folded into
 *    one pseudo-source, `other sources`, throttled the same way. Memory and audit entries per window stay bounded
 *    however many addresses an attacker holds (an IPv6 /64 has 2^64).
 *  - The one timer is unref'd (it never keeps the process alive); `close()` writes every pending count at once.
 *
 * Entry: {actor: 'unidentified', action: 'tls:handshake', target: <source>, outcome: 'refused',
 *         details: {refused: n, reasons: 'CODE1,CODE2', windowMs}}.
 */
import type { AuditDraft } from '../../primitives/audit/chain.js';
import type { Audit } from '../audit/audit-log.js';

/** Default window: one entry per source per minute at most. */
export const REFUSED_HANDSHAKE_WINDOW_MS = 60_000;
/** Default cap on the distinct sources tracked at a time (and so on entries per window, plus one). */
export const REFUSED_HANDSHAKE_MAX_SOURCES = 1_000;
/** Target of the entry that folds every source beyond the cap. */
export const OTHER_SOURCES = 'other sources';
/** Distinct reasons kept per entry; the rest are counted but not named. */
const MAX_REASONS = 8;

/** The clock and timers the counter uses (a fake one in tests). */
export interface HandshakeClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: HandshakeClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface RefusedHandshakesOptions {
  readonly windowMs?: number;
  readonly maxSources?: number;
  readonly clock?: HandshakeClock;
}

interface SourceState {
  /** Refusals since the last entry. */
  refused: number;
  reasons: Set<string>;
  /** When the last entry for this source was written. */
  writtenAt: number;
}

/** A reason as it appears in `reasons`: an error code, or a short code-like form of a message (no commas). */
export function reasonOf(err: Error & { code?: string }): string {
  const raw = err.code ?? err.message;
  return raw.slice(0, 80).replace(/[^A-Za-z0-9_.:-]+/g, '_') || 'UNKNOWN';
}

export class RefusedHandshakes {
  private readonly windowMs: number;
  private readonly maxSources: number;
  private readonly clock: HandshakeClock;
  private readonly sources = new Map<string, SourceState>();
  /** Writes not yet settled, so `close()` can wait for them. */
  private readonly writing = new Set<Promise<void>>();
  private timer: unknown = null;
  private closed = false;

  constructor(
    private readonly audit: Audit,
    options: RefusedHandshakesOptions = {},
  ) {
    this.windowMs = options.windowMs ?? REFUSED_HANDSHAKE_WINDOW_MS;
    this.maxSources = options.maxSources ?? REFUSED_HANDSHAKE_MAX_SOURCES;
    this.clock = options.clock ?? systemClock;
  }

  /** Sources currently tracked (the `other sources` bucket included). */
  get trackedSources(): number {
    return this.sources.size;
  }

  /** Records one refused handshake from `source` (a remote address). */
  record(source: string, reason: string): void {
    if (this.closed) return;
    let key = source;
    let state = this.sources.get(key);
    if (!state && this.sources.size - (this.sources.has(OTHER_SOURCES) ? 1 : 0) >= this.maxSources) {
      key = OTHER_SOURCES;
      state = this.sources.get(key);
    }
    if (state) {
      state.refused++;
      if (state.reasons.size < MAX_REASONS) state.reasons.add(reason);
      return;
    }
    // A source with no entry in the last window: on record at once; its window starts now.
    const now = this.clock.now();
    this.sources.set(key, { refused: 0, reasons: new Set(), writtenAt: now });
    this.write(key, 1, [reason]);
    this.schedule(now);
  }

  /** Writes every pending count now, stops the timer and ignores later refusals; resolves once all are written. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.timer !== null) this.clock.clearTimeout(this.timer);
      this.timer = null;
      for (const [key, state] of this.sources) {
        if (state.refused > 0) this.write(key, state.refused, [...state.reasons]);
      }
      this.sources.clear();
    }
    await Promise.all([...this.writing]);
  }

  /** Writes the entries of windows that ended, forgets quiet sources, and sets the timer for the next window end. */
  private sweep(): void {
    this.timer = null;
    const now = this.clock.now();
    for (const [key, state] of this.sources) {
      if (now - state.writtenAt < this.windowMs) continue;
      if (state.refused === 0) {
        this.sources.delete(key);
        continue;
      }
      this.write(key, state.refused, [...state.reasons]);
      state.refused = 0;
      state.reasons = new Set();
      state.writtenAt = now;
    }
    this.schedule(now);
  }

  private schedule(now: number): void {
    if (this.timer !== null || this.sources.size === 0) return;
    let next = Number.POSITIVE_INFINITY;
    for (const state of this.sources.values()) next = Math.min(next, state.writtenAt + this.windowMs);
    const timer = this.clock.setTimeout(() => this.sweep(), Math.max(0, next - now));
    (timer as { unref?: () => unknown } | null)?.unref?.();
    this.timer = timer;
  }

  private write(target: string, refused: number, reasons: readonly string[]): void {
    const draft: AuditDraft = {
      actor: 'unidentified',
      action: 'tls:handshake',
      target,
      outcome: 'refused',
      details: { refused, reasons: reasons.join(','), windowMs: this.windowMs },
    };
    // Nobody waits on these (the handshake is already refused); a failed write was logged by the audit function.
    const pending: Promise<void> = this.audit(draft)
      .catch(() => undefined)
      .finally(() => this.writing.delete(pending));
    this.writing.add(pending);
  }
}
