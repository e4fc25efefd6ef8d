/**
 * models/score.ts (plain TypeScript) against the registered models' ONNX graphs in ONNX Runtime, through the node's
 * own session cache and feeds (node/scoring/model-sessions.ts): a horizontal MLP with a categorical column (missing
 * and undeclared values included), a vertical feature holder's partial logit, and the label holder's joint score
 * from given partial logits. They agree to 1e-9, well inside the 1e-5 the benchmark's comparison assumes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partialLogitRows, scoreRows } from '../../../models/score.js';
import { sigmoid } from '../../../models/network.js';
import { ModelSessions, runPart } from '../../../node/scoring/model-sessions.js';
import type { NodeStore } from '../../../platform/store/types.js';
import {
  type HorizontalFixture,
  horizontalFixture,
  openStore,
  rawOf,
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

beforeAll(async () => {
  a = openStore(dir, 'a');
  b = openStore(dir, 'b');
  horizontal = await horizontalFixture(a);
  vertical = await verticalFixture(a, b);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
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
});
