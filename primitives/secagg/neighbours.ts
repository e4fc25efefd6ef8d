/**
 * The round plan: who pairs with whom (the SecAgg+ neighbour graph), the secret-sharing threshold and how many
 * participants must survive. Both sides compute it from the same public inputs (`planRound`), and its digest is in
 * every signed message, so a coordinator that told two participants different plans is caught at the first
 * signature check.
 *
 * Graph (Bell et al., CCS 2020, section 3: a Harary graph on a random ring order, as Flower builds it). Each
 * participant pairs with k others: all of them (k = n - 1, the complete graph of the original SecAgg) when n <= 20,
 * otherwise the k/2 before and the k/2 after it on a ring, k = 2 * ceil(2 * log2 n) (28 for n = 100, 40 for
 * n = 1000): O(log n) as the paper requires, with a margin so that 10% of random drops leave every neighbourhood far
 * above its threshold. The ring order sorts members by SHA-256(label, session, round, name): fixed for the round,
 * different in every round, chosen by nobody.
 *
 * Holders and threshold. A participant's secrets are shared among its holders, its k neighbours and itself (Flower
 * keeps a share for the owner too: with three participants one drop then still leaves two shares of each survivor's
 * seed). With m = k + 1 holders the threshold is t = floor(m / 2) + 1, a strict majority (Flower's example: 3 shares,
 * threshold 2). A majority matters: each holder reveals, for one owner, either the share of b or the share of s and
 * never both, so two disjoint sets of t holders cannot exist and the coordinator can never rebuild both secrets of
 * one participant, even by telling holders different stories. `threshold` may be raised up to m for extra margin
 * against holders colluding with the coordinator (c colluding holders are harmless while 2t > m + c).
 *
 * Survivors. The consistency check (`protocol.ts`, stage 4) needs signatures on one survivor list from a quorum
 * q = max(floor(n / 2) + 1, minSurvivors) of the participants (two lists can then not both reach a quorum of honest
 * signers), so a round needs at least max(q, t) survivors, and at every stage every remaining participant needs t
 * remaining holders (`holderShortfall`).
 *
 * Collusion. The defaults protect against a coordinator that deviates from the protocol on its own. To also
 * tolerate c participants colluding with it, raise `threshold` above (k + 1 + c) / 2 and `minSurvivors` above
 * (n + c) / 2 (see `protocol.ts`); every such choice costs dropout tolerance.
 */
import { hashFields } from './encoding.js';
import { MAX_LANES } from './prg.js';
import { SECAGG_LABEL } from './stages.js';

/** Up to this many participants, everyone pairs with everyone. */
export const COMPLETE_GRAPH_MAX = 20;
const MAX_NAME_LENGTH = 256;

export interface RoundParams {
  readonly session: string;
  readonly round: number;
  /** Every member invited to the round, in any order. */
  readonly participants: readonly string[];
  /** Lanes of every vector of the round. */
  readonly lanes: number;
  /** Neighbours per participant (k); default as in the module comment. Even, or n - 1. */
  readonly neighbours?: number | undefined;
  /** Shares needed to rebuild a secret; default floor((k + 1) / 2) + 1, at most k + 1. */
  readonly threshold?: number | undefined;
  /**
   * Survivors below which the round fails even if shares would suffice (e.g. the job's minParticipants); also the
   * quorum of signatures on the survivor list when above a majority.
   */
  readonly minSurvivors?: number | undefined;
}

export interface RoundPlan {
  readonly session: string;
  readonly round: number;
  readonly lanes: number;
  /** Every participant, sorted by `compareMembers`. */
  readonly participants: readonly string[];
  /** k: neighbours of each participant. */
  readonly neighbourCount: number;
  /** t: shares needed to rebuild a secret. */
  readonly threshold: number;
  /** q: signatures on the survivor list needed in the consistency check, max(floor(n / 2) + 1, minSurvivors). */
  readonly quorum: number;
  /** Fewest participants whose vectors may make up the sum: max(q, t). */
  readonly minSurvivors: number;
  /** SHA-256 of everything above: bound into every signed message of the round. */
  readonly digest: Uint8Array;
  has(member: string): boolean;
  /** The k neighbours of `member`, sorted. */
  neighboursOf(member: string): readonly string[];
  /** Whether a and b are neighbours (a != b). */
  areNeighbours(a: string, b: string): boolean;
  /** `member` and its neighbours: the participants holding a share of its secrets. Sorted. */
  holdersOf(member: string): readonly string[];
  /** The Shamir x-coordinate of `member`'s shares: 1 + its position in `participants`. */
  xOf(member: string): number;
}

/** The one order of member names used everywhere (mask signs, sorted lists): UTF-16 code unit order. */
export function compareMembers(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Default k for n participants. */
export function defaultNeighbourCount(n: number): number {
  if (n <= COMPLETE_GRAPH_MAX) return n - 1;
  return Math.min(n - 1, 2 * Math.ceil(2 * Math.log2(n)));
}

function checkParams(params: RoundParams): void {
  if (
    typeof params.session !== 'string' ||
    params.session.length === 0 ||
    params.session.length > MAX_NAME_LENGTH
  ) {
    throw new RangeError(`session must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`);
  }
  if (!Number.isInteger(params.round) || params.round < 0 || params.round > 0xffff_ffff) {
    throw new RangeError('round must be an integer in [0, 2^32)');
  }
  if (!Number.isInteger(params.lanes) || params.lanes < 1 || params.lanes > MAX_LANES) {
    throw new RangeError(`lanes must be an integer in [1, ${MAX_LANES}]`);
  }
  if (!Array.isArray(params.participants) || params.participants.length < 2) {
    throw new RangeError('a round needs at least two participants');
  }
  for (const m of params.participants) {
    if (typeof m !== 'string' || m.length === 0 || m.length > MAX_NAME_LENGTH) {
      throw new RangeError(`member names must be non-empty strings of at most ${MAX_NAME_LENGTH} characters`);
    }
  }
  if (new Set(params.participants).size !== params.participants.length) {
    throw new RangeError('participants must be distinct');
  }
}

/**
 * The plan of one round. Throws RangeError for invalid parameters: fewer than two or repeated participants, a
 * neighbour count that is odd (and not n - 1) or out of [1, n - 1], a threshold below a majority of the holders or
 * above their number, or a minimum of survivors above n.
 */
export function planRound(params: RoundParams): RoundPlan {
  checkParams(params);
  const participants = [...params.participants].sort(compareMembers);
  const n = participants.length;
  const k = params.neighbours ?? defaultNeighbourCount(n);
  if (!Number.isInteger(k) || k < 1 || k > n - 1 || (k < n - 1 && k % 2 !== 0)) {
    throw new RangeError('neighbours must be an even integer below n - 1, or n - 1');
  }
  const holders = k + 1;
  const majority = Math.floor(holders / 2) + 1;
  const t = params.threshold ?? majority;
  if (!Number.isInteger(t) || t < majority || t > holders) {
    throw new RangeError(`threshold must be an integer in [${majority}, ${holders}]`);
  }
  const asked = params.minSurvivors ?? 0;
  if (!Number.isInteger(asked) || asked < 0 || asked > n) {
    throw new RangeError('minSurvivors must be an integer in [0, n]');
  }
  const quorum = Math.max(Math.floor(n / 2) + 1, asked);
  const minSurvivors = Math.max(quorum, t);

  const index = new Map(participants.map((m, i) => [m, i]));
  const neighbours = new Map<string, readonly string[]>();
  if (k === n - 1) {
    for (const m of participants)
      neighbours.set(
        m,
        participants.filter((o) => o !== m),
      );
  } else {
    const ringKey = (m: string) =>
      Buffer.from(hashFields(SECAGG_LABEL.GRAPH, [params.session, params.round, m])).toString('hex');
    const keys = new Map(participants.map((m) => [m, ringKey(m)]));
    const ring = [...participants].sort(
      (a, b) => compareMembers(keys.get(a)!, keys.get(b)!) || compareMembers(a, b),
    );
    ring.forEach((m, pos) => {
      const near: string[] = [];
      for (let d = 1; d <= k / 2; d++) near.push(ring[(pos + d) % n]!, ring[(pos - d + n) % n]!);
      neighbours.set(m, near.sort(compareMembers));
    });
  }
  const neighbourSets = new Map([...neighbours].map(([m, list]) => [m, new Set(list)]));
  const holderLists = new Map(
    participants.map((m) => [m, [...neighbours.get(m)!, m].sort(compareMembers) as readonly string[]]),
  );

  const known = (member: string) => {
    if (!index.has(member)) throw new RangeError('not a participant of this round');
  };
  const digest = hashFields(SECAGG_LABEL.PLAN, [
    params.session,
    params.round,
    params.lanes,
    k,
    t,
    quorum,
    minSurvivors,
    n,
    ...participants,
  ]);
  return {
    session: params.session,
    round: params.round,
    lanes: params.lanes,
    participants,
    neighbourCount: k,
    threshold: t,
    quorum,
    minSurvivors,
    digest,
    has: (member) => index.has(member),
    neighboursOf: (member) => {
      known(member);
      return neighbours.get(member)!;
    },
    areNeighbours: (a, b) => neighbourSets.get(a)?.has(b) ?? false,
    holdersOf: (member) => {
      known(member);
      return holderLists.get(member)!;
    },
    xOf: (member) => {
      known(member);
      return index.get(member)! + 1;
    },
  };
}

/**
 * The worst neighbourhood among `active` participants: the fewest active holders any active participant has, if
 * that is below the threshold (the round cannot finish: some secret could not be rebuilt). Null when every active
 * participant still has t active holders.
 */
export function holderShortfall(plan: RoundPlan, active: ReadonlySet<string>): { remaining: number } | null {
  let worst = Number.POSITIVE_INFINITY;
  for (const member of active) {
    let count = 0;
    for (const h of plan.holdersOf(member)) if (active.has(h)) count++;
    worst = Math.min(worst, count);
  }
  return worst < plan.threshold ? { remaining: worst } : null;
}
