/**
 * Value tiers: rules mapping a customer's columns to a tier, checked exactly before a campaign is accepted, so that
 * every possible customer of the population's schema falls in exactly one tier.
 *
 * The check is exact, not sampled. For each column the rules name, the column's domain is cut into pieces on which
 * every condition is constant: for a numeric column, the bounds and listed numbers b1 < ... < bk cut the line into
 * (-inf, b1), {b1}, (b1, b2), ..., {bk}, (bk, +inf) (pieces holding no finite double, or no integer for an integer
 * column, are dropped; witnesses are the next representable values beside the bounds, exact at any magnitude); a
 * string column splits into each listed value and "any other value"; a boolean column into true and false; a
 * nullable column adds the empty cell. One witness value stands for each piece, and `matches` (the very function the
 * run evaluates) decides each condition on it. A depth-first walk over the columns narrows the rules that can still
 * match: a branch where none can is a gap, a full point where two match is an overlap. Both are reported with the
 * point, built from the rules' own bounds (never a customer's value).
 */
import { AccordError } from '../errors/index.js';
import type { Condition, ListValue, TierRule } from './spec.js';

/** A column as the population dataset declares it (platform/store/types.ts ColumnDef, without the I/O import). */
export interface TierColumn {
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly nullable: boolean;
}

export type CellValue = string | number | boolean | null;

/** Most points the coverage walk visits before it gives up (ACCORD_CAMPAIGN_TIERS_TOO_COMPLEX). */
export const MAX_TIER_POINTS = 200_000;

function listHas(list: readonly ListValue[], value: CellValue): boolean {
  for (const v of list) if (v === value) return true;
  return false;
}

/** Whether `value` satisfies `condition` (see spec.ts for the semantics). */
export function matches(condition: Condition, value: CellValue): boolean {
  if ('in' in condition) return listHas(condition.in, value);
  if ('notIn' in condition) return !listHas(condition.notIn, value);
  if (typeof value !== 'number') return false;
  return (
    (condition.min === undefined || value >= condition.min) &&
    (condition.max === undefined || value < condition.max)
  );
}

const NUMERIC = new Set(['integer', 'number']);

function kindOf(value: ListValue): string {
  return value === null ? 'null' : typeof value;
}

/**
 * Checks that every column a condition names exists and has a type the condition can test; `onColumn` errors carry
 * the field path. Returns nothing; throws ACCORD_CAMPAIGN_COLUMN_INVALID.
 */
export function checkConditionColumn(
  field: string,
  column: string,
  condition: Condition | { in: readonly ListValue[] },
  columns: ReadonlyMap<string, TierColumn>,
  dataset: string,
): void {
  const def = columns.get(column);
  const fail = (problem: string) =>
    new AccordError('ACCORD_CAMPAIGN_COLUMN_INVALID', { field, column, dataset, problem });
  if (!def) throw fail('does not exist');
  const values = 'in' in condition ? condition.in : 'notIn' in condition ? condition.notIn : null;
  if (values === null) {
    if (!NUMERIC.has(def.type))
      throw fail(`is of type ${def.type}: a range needs an integer or number column`);
    return;
  }
  const expected = NUMERIC.has(def.type) ? 'number' : def.type === 'boolean' ? 'boolean' : 'string';
  for (const v of values) {
    const kind = kindOf(v);
    if (kind === 'null') {
      if (!def.nullable) throw fail('is never empty: null cannot match it');
      continue;
    }
    if (kind !== expected) throw fail(`is of type ${def.type}: listed values must be ${expected}s or null`);
  }
}

interface Piece {
  readonly witness: CellValue;
  readonly label: string;
}

const bits = new Float64Array(1);
const word = new BigInt64Array(bits.buffer);

/** The smallest double above a finite x (Infinity above the largest): exact where x + 1 rounds back to x. */
export function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  bits[0] = x;
  word[0] = word[0]! + (x > 0 ? 1n : -1n);
  return bits[0]!;
}

/** The largest double below a finite x (-Infinity below the lowest). */
export function nextDown(x: number): number {
  return -nextUp(-x);
}

/** The smallest integer-valued double above x (from 2^52 on, every double is an integer). */
function integerAbove(x: number): number {
  const up = Math.floor(x) + 1;
  return up > x ? up : nextUp(x);
}

function integerBelow(x: number): number {
  const down = Math.ceil(x) - 1;
  return down < x ? down : nextDown(x);
}

/**
 * The pieces of a numeric column's domain (finite doubles; integer-valued ones for an integer column) cut by the
 * bounds. Each witness is a value of its piece: the next representable value beside a bound, never `b ± 1` (which
 * rounds back to b from 2^53 on), and never a midpoint that overflows. A piece holding no value is dropped.
 */
function numericPieces(column: string, bounds: number[], integer: boolean): Piece[] {
  const b = [...new Set(bounds)].sort((x, y) => x - y);
  if (b.length === 0) return [{ witness: 0, label: `${column} any number` }];
  const pieces: Piece[] = [];
  const first = b[0]!;
  const below = integer ? integerBelow(first) : nextDown(first);
  if (Number.isFinite(below)) pieces.push({ witness: below, label: `${column} < ${first}` });
  for (let i = 0; i < b.length; i++) {
    const bi = b[i]!;
    if (!integer || Number.isInteger(bi)) pieces.push({ witness: bi, label: `${column} = ${bi}` });
    const next = b[i + 1];
    if (next === undefined) {
      const above = integer ? integerAbove(bi) : nextUp(bi);
      if (Number.isFinite(above)) pieces.push({ witness: above, label: `${column} > ${bi}` });
      continue;
    }
    let witness = integer ? integerAbove(bi) : bi / 2 + next / 2;
    if (!integer && !(witness > bi && witness < next)) witness = nextUp(bi);
    if (witness > bi && witness < next) pieces.push({ witness, label: `${bi} < ${column} < ${next}` });
  }
  return pieces;
}

/** The pieces of one column's domain (see the module comment). */
function piecesOf(column: string, def: TierColumn, conditions: readonly Condition[]): Piece[] {
  const listed: ListValue[] = [];
  const bounds: number[] = [];
  for (const c of conditions) {
    if ('in' in c) listed.push(...c.in);
    else if ('notIn' in c) listed.push(...c.notIn);
    else {
      if (c.min !== undefined) bounds.push(c.min);
      if (c.max !== undefined) bounds.push(c.max);
    }
  }
  const pieces: Piece[] = [];
  if (NUMERIC.has(def.type)) {
    for (const v of listed) if (typeof v === 'number') bounds.push(v);
    pieces.push(...numericPieces(column, bounds, def.type === 'integer'));
  } else if (def.type === 'boolean') {
    pieces.push({ witness: true, label: `${column} = true` }, { witness: false, label: `${column} = false` });
  } else {
    const strings = [...new Set(listed.filter((v): v is string => typeof v === 'string'))];
    for (const s of strings) pieces.push({ witness: s, label: `${column} = ${JSON.stringify(s)}` });
    // A string no list names stands for every other value.
    let other = '(other)';
    while (strings.includes(other)) other += '_';
    const others = strings.length ? ` other than ${strings.map((s) => JSON.stringify(s)).join(', ')}` : '';
    pieces.push({ witness: other, label: `${column} any value${others}` });
  }
  if (def.nullable) pieces.push({ witness: null, label: `${column} empty` });
  return pieces;
}

/** A rule's condition on `column`, if it names it: its own property only (a column may be called `toString`). */
function conditionOf(rule: TierRule, column: string): Condition | undefined {
  return Object.hasOwn(rule.when, column) ? rule.when[column] : undefined;
}

function describeTier(rules: readonly TierRule[], i: number): string {
  return `${rules[i]!.tier} (tiers[${i}])`;
}

/**
 * Checks that the tier rules cover every possible customer exactly once. Throws ACCORD_CAMPAIGN_COLUMN_INVALID for a
 * column that is missing or of the wrong type, ACCORD_CAMPAIGN_TIERS_OVERLAP naming two rules and a point both
 * cover, ACCORD_CAMPAIGN_TIERS_GAP naming a point none covers, or ACCORD_CAMPAIGN_TIERS_TOO_COMPLEX.
 */
export function checkTierCoverage(
  rules: readonly TierRule[],
  columns: ReadonlyMap<string, TierColumn>,
  dataset: string,
): void {
  const named: string[] = [];
  for (const [i, rule] of rules.entries()) {
    for (const [column, condition] of Object.entries(rule.when)) {
      checkConditionColumn(`tiers.${i}.when.${column}`, column, condition, columns, dataset);
      if (!named.includes(column)) named.push(column);
    }
  }
  const pieces = named.map((column) =>
    piecesOf(
      column,
      columns.get(column)!,
      rules.flatMap((r) => conditionOf(r, column) ?? []),
    ),
  );
  let visited = 0;
  const point: string[] = [];
  const walk = (depth: number, candidates: readonly number[]): void => {
    if (++visited > MAX_TIER_POINTS)
      throw new AccordError('ACCORD_CAMPAIGN_TIERS_TOO_COMPLEX', { limit: MAX_TIER_POINTS });
    const at = () => (point.length ? point.join(', ') : 'every customer');
    if (candidates.length === 0) {
      const rest = named.slice(depth);
      const where = rest.length ? `${at()} (any ${rest.join(', ')})` : at();
      throw new AccordError('ACCORD_CAMPAIGN_TIERS_GAP', { point: where });
    }
    // Two rules that no longer test any remaining column both cover everything left: an overlap already.
    const rest = named.slice(depth);
    const free = candidates.filter((i) => rest.every((c) => !conditionOf(rules[i]!, c)));
    if (free.length >= 2 || (depth === named.length && candidates.length >= 2)) {
      const [a, b] = free.length >= 2 ? free : candidates;
      const where = rest.length ? `${at()} (any ${rest.join(', ')})` : at();
      throw new AccordError('ACCORD_CAMPAIGN_TIERS_OVERLAP', {
        first: describeTier(rules, a!),
        second: describeTier(rules, b!),
        point: where,
      });
    }
    if (depth === named.length) return;
    const column = named[depth]!;
    for (const piece of pieces[depth]!) {
      const next = candidates.filter((i) => {
        const condition = conditionOf(rules[i]!, column);
        return !condition || matches(condition, piece.witness);
      });
      point.push(piece.label);
      walk(depth + 1, next);
      point.pop();
    }
  };
  walk(
    0,
    rules.map((_, i) => i),
  );
}

/** A compiled tier matcher: the index of the first rule a row matches (exactly one, once coverage is checked). */
export interface TierMatcher {
  /** Columns the rules read, in the order `tierOf` takes their cells. */
  readonly columns: readonly string[];
  tierOf(cells: readonly CellValue[]): number;
}

export function compileTiers(rules: readonly TierRule[]): TierMatcher {
  const columns: string[] = [];
  for (const rule of rules) for (const c of Object.keys(rule.when)) if (!columns.includes(c)) columns.push(c);
  const compiled = rules.map((rule) =>
    Object.entries(rule.when).map(([column, condition]) => ({ at: columns.indexOf(column), condition })),
  );
  return {
    columns,
    tierOf(cells) {
      for (let t = 0; t < compiled.length; t++) {
        let ok = true;
        for (const { at, condition } of compiled[t]!) {
          if (!matches(condition, cells[at] ?? null)) {
            ok = false;
            break;
          }
        }
        if (ok) return t;
      }
      return -1;
    },
  };
}
