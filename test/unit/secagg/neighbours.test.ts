/** The round plan: neighbour graph, threshold, quorum and survivor rules. */
import { describe, expect, it } from 'vitest';
import {
  COMPLETE_GRAPH_MAX,
  defaultNeighbourCount,
  holderShortfall,
  planRound,
} from '../../../primitives/secagg/neighbours.js';
import { SECAGG_STAGE, SECAGG_STAGES } from '../../../primitives/secagg/stages.js';
import { names } from './harness.js';

const base = { session: 'job', round: 1, lanes: 10 };

describe('planRound', () => {
  it('pairs everyone with everyone up to 20 participants, with a majority threshold', () => {
    for (const n of [2, 3, 5, 10, COMPLETE_GRAPH_MAX]) {
      const plan = planRound({ ...base, participants: names(n) });
      expect(plan.neighbourCount).toBe(n - 1);
      expect(plan.threshold).toBe(Math.floor(n / 2) + 1);
      expect(plan.quorum).toBe(Math.floor(n / 2) + 1);
      for (const m of plan.participants) expect(plan.neighboursOf(m)).toHaveLength(n - 1);
    }
  });

  it('uses O(log n) neighbours on a ring beyond that: symmetric, even, and different every round', () => {
    expect(defaultNeighbourCount(100)).toBe(28);
    expect(defaultNeighbourCount(1000)).toBe(40);
    const participants = names(100);
    const plan = planRound({ ...base, participants });
    expect(plan.neighbourCount).toBe(28);
    expect(plan.threshold).toBe(15);
    for (const m of participants) {
      const near = plan.neighboursOf(m);
      expect(near).toHaveLength(28);
      expect(near).not.toContain(m);
      for (const j of near) expect(plan.areNeighbours(j, m)).toBe(true);
      expect(plan.holdersOf(m)).toHaveLength(29);
    }
    const next = planRound({ ...base, round: 2, participants });
    expect(participants.some((m) => next.neighboursOf(m).join() !== plan.neighboursOf(m).join())).toBe(true);
  });

  it('is the same plan, with the same digest, whatever order the participants come in', () => {
    const a = planRound({ ...base, participants: names(30) });
    const b = planRound({ ...base, participants: [...names(30)].reverse() });
    expect(Buffer.from(a.digest).equals(Buffer.from(b.digest))).toBe(true);
    expect(a.neighboursOf('bank-07')).toEqual(b.neighboursOf('bank-07'));
    const c = planRound({ ...base, participants: names(30), threshold: a.threshold + 1 });
    expect(Buffer.from(a.digest).equals(Buffer.from(c.digest))).toBe(false);
  });

  it('gives each participant its x-coordinate by sorted position', () => {
    const plan = planRound({ ...base, participants: ['c', 'a', 'b'] });
    expect(['a', 'b', 'c'].map(plan.xOf)).toEqual([1, 2, 3]);
    expect(() => plan.xOf('d')).toThrow(RangeError);
  });

  it('refuses thresholds below a majority of the holders, odd sparse graphs and bad names', () => {
    const participants = names(5);
    expect(() => planRound({ ...base, participants, threshold: 2 })).toThrow(RangeError);
    expect(() => planRound({ ...base, participants, threshold: 6 })).toThrow(RangeError);
    expect(planRound({ ...base, participants, threshold: 5 }).threshold).toBe(5);
    expect(() => planRound({ ...base, participants: names(30), neighbours: 7 })).toThrow(RangeError);
    expect(planRound({ ...base, participants: names(30), neighbours: 8 }).threshold).toBe(5);
    expect(() => planRound({ ...base, participants: ['a', 'a', 'b'] })).toThrow(RangeError);
    expect(() => planRound({ ...base, participants: ['a'] })).toThrow(RangeError);
    expect(() => planRound({ ...base, participants: ['a', ''] })).toThrow(RangeError);
    expect(() => planRound({ ...base, participants, minSurvivors: 6 })).toThrow(RangeError);
    expect(() => planRound({ ...base, participants, lanes: 0 })).toThrow(RangeError);
  });

  it('finds the neighbourhood that fell below the threshold', () => {
    const plan = planRound({ ...base, participants: names(30), neighbours: 4 });
    expect(plan.threshold).toBe(3);
    const all = new Set(plan.participants);
    expect(holderShortfall(plan, all)).toBeNull();
    const victim = plan.participants[0]!;
    const [n1, n2] = plan.neighboursOf(victim);
    const fewer = new Set([...all].filter((m) => m !== n1 && m !== n2));
    expect(holderShortfall(plan, fewer)).toBeNull(); // the victim keeps itself and two neighbours: t = 3
    const fewest = new Set([...fewer].filter((m) => m !== plan.neighboursOf(victim)[2]));
    expect(holderShortfall(plan, fewest)).toEqual({ remaining: 2 });
  });
});

describe('stages', () => {
  it('lists the five stages in order', () => {
    expect(SECAGG_STAGES).toEqual(Object.values(SECAGG_STAGE));
  });
});
