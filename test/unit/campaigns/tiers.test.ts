/**
 * The tier coverage check (primitives/campaigns/tiers.ts) is exact: rules that cover every possible customer of a
 * schema exactly once pass; an overlap names both rules and a point both cover, a gap names a point none covers,
 * and the named point really is one (checked by evaluating the rules on it). A brute-force search over many random
 * rule sets agrees with the check, and the compiled matcher the run uses puts every point in exactly one tier.
 */
import { describe, expect, it } from 'vitest';
import type { TierRule } from '../../../primitives/campaigns/spec.js';
import {
  checkTierCoverage,
  compileTiers,
  matches,
  type TierColumn,
} from '../../../primitives/campaigns/tiers.js';
import type { AccordError } from '../../../primitives/errors/index.js';
import { thrown } from '../../helpers/thrown.js';

const BANK: ReadonlyMap<string, TierColumn> = new Map([
  ['age', { type: 'integer', nullable: false }],
  ['balance', { type: 'integer', nullable: false }],
  ['default', { type: 'string', nullable: false }],
  ['score', { type: 'number', nullable: true }],
  ['active', { type: 'boolean', nullable: false }],
]);

/** The bank-marketing tiers of the demo: V0 overdue, V1..V5 by balance. */
const bankTiers: TierRule[] = [
  { tier: 'V0', when: { default: { in: ['yes'] } } },
  { tier: 'V1', when: { default: { notIn: ['yes'] }, balance: { max: 0 } } },
  { tier: 'V2', when: { default: { notIn: ['yes'] }, balance: { min: 0, max: 1000 } } },
  { tier: 'V3', when: { default: { notIn: ['yes'] }, balance: { min: 1000, max: 5000 } } },
  { tier: 'V4', when: { default: { notIn: ['yes'] }, balance: { min: 5000, max: 20000 } } },
  { tier: 'V5', when: { default: { notIn: ['yes'] }, balance: { min: 20000 } } },
];

function check(rules: TierRule[], columns = BANK): AccordError | null {
  try {
    checkTierCoverage(rules, columns, 'bank');
    return null;
  } catch (err) {
    return err as AccordError;
  }
}

describe('tier coverage', () => {
  it('stays exact at large magnitudes, where b - 1 and b + 1 round back to b', () => {
    const cols: ReadonlyMap<string, TierColumn> = new Map([
      ['x', { type: 'number', nullable: false }],
      ['n', { type: 'integer', nullable: false }],
    ]);
    const gapAt = (rules: TierRule[]) => {
      const err = check(rules, cols);
      expect(err?.code, JSON.stringify(rules)).toBe('ACCORD_CAMPAIGN_TIERS_GAP');
      return String(err!.params.point);
    };
    expect(gapAt([{ tier: 'A', when: { x: { in: [1e16] } } }])).toBe('x < 10000000000000000');
    expect(gapAt([{ tier: 'A', when: { n: { min: 1e16 } } }])).toBe('n < 10000000000000000');
    expect(
      gapAt([
        { tier: 'A', when: { n: { max: 2 ** 60 } } },
        { tier: 'B', when: { n: { in: [2 ** 60] } } },
      ]),
    ).toBe(`n > ${2 ** 60}`);
    // Between two bounds near the largest double, where their plain midpoint overflows to Infinity.
    expect(
      gapAt([
        { tier: 'A', when: { x: { max: 1e308 } } },
        { tier: 'B', when: { x: { in: [1e308] } } },
        { tier: 'C', when: { x: { min: 1.5e308 } } },
      ]),
    ).toBe('1e+308 < x < 1.5e+308');
    // Nothing lies above the largest double or between two adjacent ones: no gap there.
    const split = (column: string, at: number): TierRule[] => [
      { tier: 'A', when: { [column]: { max: at } } },
      { tier: 'B', when: { [column]: { min: at } } },
    ];
    expect(check(split('x', Number.MAX_VALUE), cols)).toBeNull();
    expect(check(split('x', -Number.MAX_VALUE), cols)).toBeNull();
    expect(check(split('n', 2 ** 53), cols)).toBeNull();
    expect(
      check(
        [
          { tier: 'A', when: { x: { max: 1 } } },
          { tier: 'B', when: { x: { in: [1] } } },
          { tier: 'C', when: { x: { min: 1 + Number.EPSILON } } },
        ],
        cols,
      ),
    ).toBeNull();
  });

  it("reads only a rule's own conditions, whatever the column is called", () => {
    const cols: ReadonlyMap<string, TierColumn> = new Map([
      ['toString', { type: 'string', nullable: false }],
      ['constructor', { type: 'integer', nullable: false }],
    ]);
    // B names no column: it covers everyone, so it overlaps A (not a gap at "any other value").
    const err = check(
      [
        { tier: 'A', when: { toString: { in: ['a'] } } },
        { tier: 'B', when: {} },
      ],
      cols,
    );
    expect(err).toMatchObject({
      code: 'ACCORD_CAMPAIGN_TIERS_OVERLAP',
      params: { first: 'A (tiers[0])', second: 'B (tiers[1])' },
    });
    expect(
      check(
        [
          { tier: 'low', when: { constructor: { max: 0 } } },
          { tier: 'high', when: { constructor: { min: 0 } } },
        ],
        cols,
      ),
    ).toBeNull();
  });

  it('accepts the demo tiers on balance and default, and a single catch-all tier', () => {
    expect(check(bankTiers)).toBeNull();
    expect(check([{ tier: 'ALL', when: {} }])).toBeNull();
  });

  it('names the two overlapping rules and a point both cover', () => {
    const rules = bankTiers.map((t) =>
      t.tier === 'V3' ? { ...t, when: { ...t.when, balance: { min: 999, max: 5000 } } } : t,
    );
    const err = check(rules)!;
    expect(err.code).toBe('ACCORD_CAMPAIGN_TIERS_OVERLAP');
    expect(err.params.first).toBe('V2 (tiers[2])');
    expect(err.params.second).toBe('V3 (tiers[3])');
    expect(err.params.point).toContain('balance = 999');
  });

  it('names an uncovered point for a gap, exact at integer bounds', () => {
    const rules = bankTiers.map((t) =>
      t.tier === 'V3' ? { ...t, when: { ...t.when, balance: { min: 1001, max: 5000 } } } : t,
    );
    const err = check(rules)!;
    expect(err.code).toBe('ACCORD_CAMPAIGN_TIERS_GAP');
    expect(err.params.point).toContain('balance = 1000');
    // Between 1000 and 1000.5 there is no integer: no gap on an integer column, a gap on a number column.
    const integerOk: TierRule[] = [
      { tier: 'A', when: { age: { max: 18.5 } } },
      { tier: 'B', when: { age: { min: 19 } } },
    ];
    expect(check(integerOk)).toBeNull();
    const onNumbers = integerOk.map((r) => ({ ...r, when: { score: r.when.age! } }));
    const gap = check([...onNumbers, { tier: 'E', when: { score: { in: [null] } } }])!;
    expect(gap.code).toBe('ACCORD_CAMPAIGN_TIERS_GAP');
    // 18.5 itself: A's max is exclusive, B starts at 19.
    expect(gap.params.point).toBe('score = 18.5');
  });

  it('counts values no list names, and empty cells of a nullable column', () => {
    const noOther: TierRule[] = [
      { tier: 'A', when: { default: { in: ['yes'] } } },
      { tier: 'B', when: { default: { in: ['no'] } } },
    ];
    const err = check(noOther)!;
    expect(err.code).toBe('ACCORD_CAMPAIGN_TIERS_GAP');
    expect(err.params.point).toBe('default any value other than "yes", "no"');
    const ranges: TierRule[] = [
      { tier: 'LOW', when: { score: { max: 0.5 } } },
      { tier: 'HIGH', when: { score: { min: 0.5 } } },
    ];
    expect(check(ranges)!.params.point).toBe('score empty');
    expect(check([...ranges, { tier: 'NONE', when: { score: { in: [null] } } }])).toBeNull();
  });

  it('reports two rules that test nothing further as an overlap at once', () => {
    const err = check([
      { tier: 'A', when: { active: { in: [true] } } },
      { tier: 'B', when: {} },
      { tier: 'C', when: { active: { in: [false] } } },
    ])!;
    expect(err.code).toBe('ACCORD_CAMPAIGN_TIERS_OVERLAP');
    expect([err.params.first, err.params.second]).toEqual(['A (tiers[0])', 'B (tiers[1])']);
  });

  it('refuses a missing column or a condition of the wrong type, naming the field', () => {
    const missing = thrown(() =>
      checkTierCoverage([{ tier: 'A', when: { tenure: { min: 1 } } }], BANK, 'bank'),
    );
    expect(missing).toMatchObject({
      code: 'ACCORD_CAMPAIGN_COLUMN_INVALID',
      params: { field: 'tiers.0.when.tenure' },
    });
    const range = thrown(() =>
      checkTierCoverage([{ tier: 'A', when: { default: { min: 1 } } }], BANK, 'bank'),
    );
    expect(range).toMatchObject({ code: 'ACCORD_CAMPAIGN_COLUMN_INVALID', params: { column: 'default' } });
    const list = thrown(() =>
      checkTierCoverage([{ tier: 'A', when: { balance: { in: ['x'] } } }], BANK, 'bank'),
    );
    expect(list).toMatchObject({ code: 'ACCORD_CAMPAIGN_COLUMN_INVALID', params: { column: 'balance' } });
  });

  it('agrees with a brute-force search over random rule sets, and the matcher finds the one tier', () => {
    // mulberry32: a fixed pseudo-random sequence, so a failure reproduces.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const columns: ReadonlyMap<string, TierColumn> = new Map([
      ['x', { type: 'integer', nullable: false }],
      ['c', { type: 'string', nullable: true }],
    ]);
    // Every point that matters: integers around the bounds used, and the listed strings, another one and null.
    const xs = Array.from({ length: 14 }, (_, i) => i - 2);
    const cs = ['a', 'b', 'zz', null];
    let verdicts = { ok: 0, overlap: 0, gap: 0 };
    /** Any rules at all; a catch-all now and then (no gap left, an overlap wherever another rule matches). */
    const randomRules = (): TierRule[] => {
      const rules: TierRule[] = Array.from({ length: 1 + rand(4) }, (_, i) => {
        const when: TierRule['when'] = {};
        if (rand(3) > 0) {
          const min = rand(10);
          when.x = rand(2) ? { min, max: min + 1 + rand(6) } : rand(2) ? { min } : { max: min + 1 };
        }
        if (rand(3) > 0) when.c = rand(2) ? { in: rand(2) ? ['a'] : ['a', null] } : { notIn: ['a', 'b'] };
        return { tier: `T${i}`, when };
      });
      if (rand(4) === 0) rules.push({ tier: 'ALL', when: {} });
      return rules;
    };
    /** A true partition (x cut twice, the middle split on c), then maybe one bound nudged by one. */
    const partition = (): TierRule[] => {
      const k1 = 1 + rand(4);
      const k2 = k1 + 1 + rand(4);
      const rules: TierRule[] = [
        { tier: 'LOW', when: { x: { max: k1 } } },
        { tier: 'MIDA', when: { x: { min: k1, max: k2 }, c: { in: ['a', null] } } },
        { tier: 'MIDB', when: { x: { min: k1, max: k2 }, c: { notIn: ['a', null] } } },
        { tier: 'HIGH', when: { x: { min: k2 } } },
      ];
      if (rand(2)) {
        const r = rules[rand(4)]!;
        const x = r.when.x as { min?: number; max?: number };
        const nudged = rand(2) ? 1 : -1;
        r.when.x = x.min !== undefined ? { ...x, min: x.min + nudged } : { ...x, max: x.max! + nudged };
      }
      return rules;
    };
    for (let trial = 0; trial < 400; trial++) {
      const rules: TierRule[] = rand(2) ? partition() : randomRules();
      const counts = xs.flatMap((x) =>
        cs.map(
          (c) =>
            rules.filter((r) => (!r.when.x || matches(r.when.x, x)) && (!r.when.c || matches(r.when.c, c)))
              .length,
        ),
      );
      const expected = counts.some((n) => n > 1) ? 'overlap' : counts.some((n) => n === 0) ? 'gap' : 'ok';
      const err = check(rules, columns);
      const got = err === null ? 'ok' : err.code === 'ACCORD_CAMPAIGN_TIERS_OVERLAP' ? 'overlap' : 'gap';
      // A set with both an overlap and a gap may be reported as either; otherwise the verdicts agree.
      if (!(counts.some((n) => n > 1) && counts.some((n) => n === 0))) expect(got).toBe(expected);
      verdicts = { ...verdicts, [got]: verdicts[got as keyof typeof verdicts] + 1 };
      if (got === 'ok') {
        const matcher = compileTiers(rules);
        for (const x of xs)
          for (const c of cs) {
            const cells = matcher.columns.map((name) => (name === 'x' ? x : c));
            const t = matcher.tierOf(cells);
            expect(t).toBeGreaterThanOrEqual(0);
            const rule = rules[t]!;
            expect(
              (!rule.when.x || matches(rule.when.x, x)) && (!rule.when.c || matches(rule.when.c, c)),
            ).toBe(true);
          }
      }
    }
    // The random sets exercise every verdict.
    expect(verdicts.ok).toBeGreaterThan(10);
    expect(verdicts.overlap).toBeGreaterThan(10);
    expect(verdicts.gap).toBeGreaterThan(10);
  });
});
