/**
 * Member liveness, as pure state: the caller passes the clock. A member is online while its last registration or
 * heartbeat is younger than `offlineAfterMs`. (The audit heads heartbeats carry are not kept here: they are anchored
 * in the coordinator's audit log, see platform/audit/anchoring.ts.)
 */
import { MEMBER_STATUS } from '../primitives/consortium/roles.js';
import type { MemberView } from '../platform/wire/consortium.js';

interface Seen {
  lastSeenMs: number;
  capabilities: readonly string[];
}

export class Membership {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly members: readonly string[],
    private readonly offlineAfterMs: number,
  ) {}

  isMember(name: string): boolean {
    return this.members.includes(name);
  }

  register(name: string, capabilities: readonly string[], nowMs: number): void {
    this.seen.set(name, { lastSeenMs: nowMs, capabilities });
  }

  /** Returns false when the member never registered (it must register first). */
  heartbeat(name: string, nowMs: number): boolean {
    const entry = this.seen.get(name);
    if (!entry) return false;
    entry.lastSeenMs = nowMs;
    return true;
  }

  isOnline(name: string, nowMs: number): boolean {
    const entry = this.seen.get(name);
    return entry !== undefined && nowMs - entry.lastSeenMs <= this.offlineAfterMs;
  }

  list(nowMs: number): MemberView[] {
    return [...this.members].sort().map((name) => {
      const entry = this.seen.get(name);
      if (!entry) return { name, status: MEMBER_STATUS.NEVER_SEEN, lastSeenMs: 0, capabilities: [] };
      return {
        name,
        status: this.isOnline(name, nowMs) ? MEMBER_STATUS.ONLINE : MEMBER_STATUS.OFFLINE,
        lastSeenMs: entry.lastSeenMs,
        capabilities: entry.capabilities,
      };
    });
  }
}
