/**
 * Query answers as pure functions (no I/O, no clock): from the stored signals of one token to the aggregates a
 * member may see. Protocol and what each party learns: `signals-service.ts`.
 *
 * What the answer reveals: per application window, how many DISTINCT OTHER members saw an application; per flag
 * kind, how many distinct other members flagged the token and the day of the newest flag. Every time involved is
 * rounded down to `timeResolutionMs` (a day) first, so neither a publisher's exact times nor the moment a count
 * changes can mark its signals. It never names a member, never
 * counts the caller's own signals, and never counts signals outside the retention period.
 *
 * What a count still reveals in a small consortium: the asking bank knows the other members, so with three members a
 * flag count of 2 names both others, and a count of 1 narrows it to one of two; asking again over time shows when a
 * count changes, so a bank that watches an identifier can link a change to the members it saw active that day. The
 * answer hides the reporter among the OTHER members only as well as their number allows (SECURITY.md).
 */
import { APPLICATION_KIND } from '../../primitives/signals/kinds.js';
import {
  APPLICATION_WINDOWS,
  DAY_MS,
  type FlagAggregate,
  type SignalAggregates,
} from '../../primitives/signals/protocol.js';

/** One (kind, member) group of a token's signals: the newest time that member reported that kind. */
export interface SignalGroup {
  readonly kind: string;
  readonly member: string;
  readonly lastAtMs: number;
}

export type { FlagAggregate };
export type Aggregates = SignalAggregates;

export interface AggregateContext {
  /** The querying member: its own signals are never counted. */
  readonly self: string;
  /** Coordinator clock, Unix ms. */
  readonly nowMs: number;
  /** Signals older than this (ms) are ignored (they are also deleted by the sweep). */
  readonly retentionMs: number;
  /** The consortium's flag kinds in answer order (`SignalKinds.flags`: built-ins, then the configured extras). */
  readonly flagKinds: readonly string[];
  /**
   * Every time an answer depends on is rounded down to this (ms; a UTC day by default): flag times, and the signal
   * and current times that decide the application windows and the retention boundary. An exact time chosen by one
   * publisher would point at it, and so would the moment a count changes when polled.
   */
  readonly timeResolutionMs: number;
}

/** `ms` rounded down to a multiple of `resolutionMs` (UTC day boundaries for a day). */
export function roundDown(ms: number, resolutionMs: number): number {
  return ms - (((ms % resolutionMs) + resolutionMs) % resolutionMs);
}

/** The oldest (rounded) time a signal may have and still count: also what the store is asked for and the sweep keeps. */
export function retentionStart(nowMs: number, retentionMs: number, resolutionMs: number): number {
  return roundDown(nowMs, resolutionMs) - retentionMs;
}

export const EMPTY_AGGREGATES: Aggregates = Object.freeze({
  applications: Object.freeze({ d1: 0, d7: 0, d30: 0 }),
  flags: Object.freeze([]) as readonly FlagAggregate[],
});

/**
 * Aggregates the groups of one token. Groups may repeat a (kind, member) pair (the newest time wins) and may hold
 * expired or own signals (they are skipped), so callers can pass raw rows as well.
 */
export function aggregateSignals(groups: readonly SignalGroup[], ctx: AggregateContext): Aggregates {
  const resolution = ctx.timeResolutionMs;
  const now = roundDown(ctx.nowMs, resolution);
  const oldest = retentionStart(ctx.nowMs, ctx.retentionMs, resolution);
  const latestApplication = new Map<string, number>();
  const flags = new Map<string, Map<string, number>>();
  for (const g of groups) {
    const at = roundDown(g.lastAtMs, resolution);
    if (g.member === ctx.self || at < oldest) continue;
    if (g.kind === APPLICATION_KIND) {
      latestApplication.set(g.member, Math.max(latestApplication.get(g.member) ?? -Infinity, at));
    } else {
      let byMember = flags.get(g.kind);
      if (!byMember) {
        byMember = new Map();
        flags.set(g.kind, byMember);
      }
      byMember.set(g.member, Math.max(byMember.get(g.member) ?? -Infinity, at));
    }
  }
  // With day resolution, d1 counts today's applications (UTC), d7 the last 7 days including today, and so on.
  const windowCount = (days: number) => {
    const after = now - days * DAY_MS;
    let n = 0;
    for (const at of latestApplication.values()) if (at > after) n++;
    return n;
  };
  const flagList: FlagAggregate[] = [];
  // The consortium's order first, then any stored kind it no longer lists (an extra removed from the config after
  // signals of it were stored: they still count until they expire), by name.
  // Most answers carry no flag at all: order nothing then (this runs once per query).
  const unlisted = flags.size === 0 ? [] : [...flags.keys()].filter((k) => !ctx.flagKinds.includes(k)).sort();
  for (const kind of flags.size === 0 ? [] : [...ctx.flagKinds, ...unlisted]) {
    const byMember = flags.get(kind);
    if (!byMember || byMember.size === 0) continue;
    flagList.push({ kind, members: byMember.size, lastSeenMs: Math.max(...byMember.values()) });
  }
  if (latestApplication.size === 0 && flagList.length === 0) return EMPTY_AGGREGATES;
  return {
    applications: {
      d1: windowCount(APPLICATION_WINDOWS.d1),
      d7: windowCount(APPLICATION_WINDOWS.d7),
      d30: windowCount(APPLICATION_WINDOWS.d30),
    },
    flags: flagList,
  };
}

/** True when the answer holds nothing (no application in 30 days, no flag). */
export function isEmptyAggregate(a: Aggregates): boolean {
  return a.applications.d30 === 0 && a.flags.length === 0;
}
