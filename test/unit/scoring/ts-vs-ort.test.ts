/**
 * models/score.ts (plain TypeScript) against the registered models' ONNX graphs in ONNX Runtime, through the node's
 * own session cache and feeds (node/scoring/model-sessions.ts): a horizontal MLP with a categorical column (missing
 * and undeclared values included), a vertical feature holder's partial logit, and the label holder's joint score
 * from given partial logits; a boosted-tree feature holder's split bits (numeric and categorical rules, missing,
 * undeclared and padded values) and the tree label holder's score from given split bits. They agree to 1e-9, well
 * inside the 1e-5 the benchmark's comparison assumes (split bits exactly).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partialLogitRows, partnerInputs, scoreRows, splitBitRows } from '../../../models/score.js';
import { sigmoid } from '../../../models/network.js';
import { splitBits, treeScores } from '../../../models/trees/part.js';
import { ModelSessions, runPart, TYPESCRIPT_MAX_ROWS } from '../../../node/scoring/model-sessions.js';
import type { NodeStore } from '../../../platform/store/types.js';
import {
  alignedRows,
  type HorizontalFixture,
  horizontalFixture,
  openStore,
  rawOf,
  TREE_B_FEATURES,
  type TreeFixture,
  treeFixture,
  type VerticalFixture,
  verticalFixture,
  X,
} from './fixtures.js';
import { maxAbsDiff } from '../onnx/reference.js';

const dir = mkdtempSync(join(tmpdir(), 'accord-score-ts-'));
let a: NodeStore;
let b: NodeStore;
let horizontal: HorizontalFixture;
let vertical: VerticalFixture;
/** The tree model's banks have stores of their own (its datasets would replace the vertical fixture's). */
let ta: NodeStore;
let tb: NodeStore;
let trees: TreeFixture;

beforeAll(async () => {
  a = openStore(dir, 'a');
  b = openStore(dir, 'b');
  horizontal = await horizontalFixture(a);
  vertical = await verticalFixture(a, b);
  ta = openStore(dir, 'trees-a');
  tb = openStore(dir, 'trees-b');
  trees = await treeFixture(ta, tb);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await ta?.close();
  await tb?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('plain TypeScript scores against ONNX Runtime', () => {
  it('agree on a horizontal MLP with a categorical column', async () => {
    const { model, columns, rows } = horizontal;
    const raw = rawOf(columns, rows, [...X, 'band']);
    const ts = scoreRows(model, raw, rows.length);
    const ort = await runPart(await new ModelSessions(a.models).load(model.id), raw, rows.length, 'score');
    expect(ts).toHaveLength(rows.length);
    // Spread over (0, 1), not saturated: a wrong weight layout would show.
    expect(Math.max(...ts) - Math.min(...ts)).toBeGreaterThan(0.3);
    expect(maxAbsDiff(ts, ort)).toBeLessThan(1e-9);
  });

  it("agree on a vertical feature holder's partial logit and the label holder's joint score", async () => {
    const { labelHolder, partner } = vertical;
    const rows = 50;
    const pRaw = rawOf(partner.columns, partner.rows.slice(0, rows), X);
    const aRaw = rawOf(labelHolder.columns, labelHolder.rows.slice(0, rows), X);
    const tsPartial = partialLogitRows(partner.model, pRaw, rows);
    const ortPartial = await runPart(
      await new ModelSessions(b.models).load(partner.model.id),
      pRaw,
      rows,
      'partial_logit',
    );
    expect(maxAbsDiff(tsPartial, ortPartial)).toBeLessThan(1e-9);

    const partials = new Map([['bank-b', tsPartial]]);
    const tsScore = scoreRows(labelHolder.model, aRaw, rows, partials);
    const ortScore = await runPart(
      await new ModelSessions(a.models).load(labelHolder.model.id),
      aRaw,
      rows,
      'score',
      partials,
    );
    expect(maxAbsDiff(tsScore, ortScore)).toBeLessThan(1e-9);
    // The joint score is the sigmoid of the two logits: the partner's partial logit counts.
    const own = partialLogitRows(labelHolder.model, aRaw, rows);
    expect(
      maxAbsDiff(
        tsScore,
        Float64Array.from(own, (z, i) => sigmoid(z + tsPartial[i]!)),
      ),
    ).toBeLessThan(1e-12);
    expect(() => scoreRows(labelHolder.model, aRaw, rows)).toThrow(/bank-b/);
    expect(() => scoreRows(partner.model, pRaw, rows)).toThrow(/partial logit/);
  });

  it("agree on a boosted-tree feature holder's split bits and the label holder's score", async () => {
    const { labelHolder, partner, shared } = trees;
    const rows = shared.length;
    expect(rows).toBeGreaterThan(TYPESCRIPT_MAX_ROWS);
    // bank-b's rules read a categorical column too, whose cells include missing, undeclared and padded values.
    expect(partner.part.rules.some((r) => r.kind === 'categorical')).toBe(true);
    const pRaw = rawOf(
      partner.columns,
      alignedRows(partner.rows, shared),
      TREE_B_FEATURES.map((f) => f.name),
    );
    const aRaw = rawOf(labelHolder.columns, alignedRows(labelHolder.rows, shared), X);
    const K = partner.part.rules.length;
    const pLoaded = await new ModelSessions(tb.models).load(partner.model.id);
    const tsBits = splitBitRows(partner.model, pRaw, rows);
    const ortBits = await runPart(pLoaded, pRaw, rows, 'split_bits');
    expect(ortBits).toHaveLength(rows * K);
    expect(Array.from(ortBits)).toEqual(Array.from(tsBits));
    expect(Array.from(tsBits)).toEqual(Array.from(splitBits(partner.part.rules, pRaw, rows)));
    // Not a constant output: rows go both ways.
    expect(new Set(tsBits)).toEqual(new Set([0, 1]));

    // bank-c, of no split id, is not among what bank-a's part takes.
    expect(partnerInputs(labelHolder.model)).toEqual([{ member: 'bank-b', kind: 'split_bits', width: K }]);
    const partials = new Map([['bank-b', tsBits]]);
    const aLoaded = await new ModelSessions(ta.models).load(labelHolder.model.id);
    const tsScore = scoreRows(labelHolder.model, aRaw, rows, partials);
    const ortScore = await runPart(aLoaded, aRaw, rows, 'score', partials);
    expect(maxAbsDiff(tsScore, ortScore)).toBeLessThan(1e-9);
    const walked = treeScores(
      labelHolder.part,
      splitBits(labelHolder.part.rules, aRaw, rows),
      labelHolder.part.partners.map((p) =>
        p.member === 'bank-b' ? Uint8Array.from(tsBits) : new Uint8Array(0),
      ),
      rows,
    );
    expect(maxAbsDiff(tsScore, walked)).toBe(0);
    expect(Math.max(...tsScore) - Math.min(...tsScore)).toBeGreaterThan(0.5);

    // A few rows take the TypeScript path inside runPart, with the same numbers.
    const few = 9;
    const head = <T>(raw: Map<string, T[]>) =>
      new Map([...raw].map(([k, v]) => [k, v.slice(0, few)] as const));
    const fewBits = await runPart(pLoaded, head(pRaw), few, 'split_bits');
    expect(Array.from(fewBits)).toEqual(Array.from(ortBits.subarray(0, few * K)));
    const fewScores = await runPart(aLoaded, head(aRaw), few, 'score', new Map([['bank-b', fewBits]]));
    expect(maxAbsDiff(fewScores, ortScore.subarray(0, few))).toBeLessThan(1e-9);

    expect(() => scoreRows(labelHolder.model, aRaw, rows)).toThrow(/bank-b/);
    const notBits = Float64Array.from(tsBits, (x, i) => (i === 3 ? 0.5 : x));
    expect(() => scoreRows(labelHolder.model, aRaw, rows, new Map([['bank-b', notBits]]))).toThrow(/0 nor 1/);
    expect(() => scoreRows(partner.model, pRaw, rows)).toThrow(/split bits/);
    expect(() => partialLogitRows(partner.model, pRaw, rows)).toThrow(/boosted-tree/);
  });
});
