/**
 * Joint scoring of a vertical boosted-tree model in one process (harness.ts: the banks' ScoringServices over real
 * SQLite stores, an in-memory relay, real member certificates; fixtures.ts `treeFixture`: a model trained in the
 * clear, bank-b holding numeric and categorical splits, bank-c a party of no split):
 *  - a batch job gives exactly models/trees/part.ts `treeScores` of the joined rows, asking bank-b once per chunk of
 *    aligned positions for all its split bits (every tree level at once), each reply within the wire's bound, and
 *    never asking bank-c; it keeps no fallback partials;
 *  - real time gives the same score for one customer, and fails with a coded error when bank-b is down (no fallback);
 *  - a partner answering another width, or a value that is not 0 or 1, is refused with a coded error, and a request
 *    whose answer would not fit one reply is refused by the partner.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitBits, treeScores } from '../../../models/trees/part.js';
import { chunkPositions } from '../../../node/scoring/batch-run.js';
import { RequesterChannels } from '../../../node/scoring/channels.js';
import { askPartials, type PartialsDeps } from '../../../node/scoring/partials.js';
import { PUBLIC_REASON } from '../../../node/scoring/partner.js';
import { positionValues } from '../../../node/scoring/position-values.js';
import type { ScoringService } from '../../../node/scoring/scoring-service.js';
import { auditTo } from '../../../platform/audit/audit-log.js';
import type { NodeStore } from '../../../platform/store/types.js';
import { MAX_REPLY_VALUES } from '../../../primitives/scoring/box.js';
import { SCORING_CHUNK, SCORING_MAX_POSITIONS } from '../../../primitives/scoring/protocol.js';
import { silentLog } from '../../helpers/log.js';
import { rejected as thrown } from '../../helpers/thrown.js';
import {
  alignedRows,
  openStore,
  rawOf,
  TREE_B_FEATURES,
  type TreeFixture,
  treeFixture,
  X,
} from './fixtures.js';
import { fakePartner, keysOf, MemoryRelay, serviceFor } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'accord-joint-trees-'));
let a: NodeStore;
let b: NodeStore;
let fx: TreeFixture;
let relay: MemoryRelay;
let bankA: ScoringService;
/** bank-b's split ids. */
let K = 0;
/** The expected joint score of each shared customer, by id: a plain walk of the trees over the joined rows. */
const expected = new Map<string, number>();
/** bank-b's split bits of every aligned position (rows × K), from its rules. */
let bankBBits: Uint8Array = new Uint8Array(0);
/** The aligned positions bank-b was asked for, request by request. */
const askedOfB: number[][] = [];

beforeAll(async () => {
  a = openStore(dir, 'a');
  b = openStore(dir, 'b');
  fx = await treeFixture(a, b);
  K = fx.partner.part.rules.length;
  relay = new MemoryRelay();
  bankA = serviceFor(relay, 'bank-a', a);
  serviceFor(relay, 'bank-b', {
    ...b,
    scores: {
      ...b.scores,
      rowsAtPositions: (alignment, positions) => {
        askedOfB.push(Array.from(positions));
        return b.scores.rowsAtPositions(alignment, positions);
      },
    },
  });
  const n = fx.shared.length;
  const aRaw = rawOf(fx.labelHolder.columns, alignedRows(fx.labelHolder.rows, fx.shared), X);
  const bRaw = rawOf(
    fx.partner.columns,
    alignedRows(fx.partner.rows, fx.shared),
    TREE_B_FEATURES.map((f) => f.name),
  );
  const part = fx.labelHolder.part;
  const bBits = splitBits(fx.partner.part.rules, bRaw, n);
  bankBBits = bBits;
  const bitsOf = (own: Uint8Array) =>
    part.partners.map((p) => (p.member === 'bank-b' ? own : new Uint8Array(0)));
  const scores = treeScores(part, splitBits(part.rules, aRaw, n), bitsOf(bBits), n);
  fx.shared.forEach((id, i) => {
    expected.set(id, scores[i]!);
  });
  // Not a degenerate model: the scores spread, and bank-b's bits decide some of them.
  expect(Math.max(...scores) - Math.min(...scores)).toBeGreaterThan(0.5);
  const flipped = treeScores(part, splitBits(part.rules, aRaw, n), bitsOf(bBits.map((x) => 1 - x)), n);
  expect(scores.some((s, i) => Math.abs(s - flipped[i]!) > 0.05)).toBe(true);
  expect(part.partners).toContainEqual({ member: fx.idle, splits: 0 });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** bank-a asks `deps` for the split bits of `positions`, expecting `width` a position. */
const ask = (deps: PartialsDeps, positions = Uint32Array.of(9, 3, 4), width = K) =>
  askPartials(deps, {
    model: fx.labelHolder.model.id,
    modelJob: fx.job,
    partner: 'bank-b',
    alignment: fx.alignment,
    positions,
    kind: 'split_bits',
    width,
    timeoutMs: 2_000,
    purpose: 'batch',
  });

/** bank-a's own asker through the relay to the real bank-b (its own channel). */
function relayDeps(): PartialsDeps {
  const transport = relay.transport('bank-a');
  const { signer, verifier } = keysOf('bank-a');
  return {
    self: 'bank-a',
    transport,
    channels: new RequesterChannels('bank-a', transport, signer, verifier),
    audit: auditTo(a.audit, silentLog),
  };
}

describe('joint scoring of a vertical boosted-tree model, in one process', () => {
  it('scores the alignment in batches with exactly the trees’ scores, one request per chunk of positions', async () => {
    askedOfB.length = 0;
    const seenBefore = relay.seen.length;
    const job = await bankA.wait((await bankA.start(fx.labelHolder.model.id, undefined, 'risk:ana')).id);
    expect(job).toMatchObject({ state: 'done', scored: fx.shared.length });
    const idOf = new Map(fx.labelHolder.rows.map((r, i) => [i + 2, r.id] as const));
    let n = 0;
    let worst = 0;
    for await (const batch of a.scores.iterate(job.id, 100))
      batch.rowKeys.forEach((key, i) => {
        worst = Math.max(worst, Math.abs(batch.scores[i]! - expected.get(idOf.get(key)!)!));
        n++;
      });
    expect(n).toBe(fx.shared.length);
    expect(worst).toBeLessThan(1e-9);

    // bank-b was asked for consecutive chunks of aligned positions, each position once: one request per chunk for
    // every split bit it holds, not one per tree level. The chunk keeps the reply within what the wire lets through.
    const chunk = chunkPositions(K);
    expect(chunk).toBe(Math.min(SCORING_CHUNK, Math.floor(MAX_REPLY_VALUES / K)));
    expect(askedOfB.length).toBe(Math.ceil(fx.shared.length / chunk));
    expect(askedOfB.length).toBeGreaterThan(1);
    for (const asked of askedOfB) {
      expect(asked[0]! % chunk).toBe(0);
      expect(asked).toEqual(asked.map((_, i) => asked[0]! + i));
    }
    expect(askedOfB.flat().sort((x, y) => x - y)).toEqual(fx.shared.map((_, i) => i));
    const messages = relay.seen.slice(seenBefore);
    for (const m of messages) {
      expect([m.from, m.to]).not.toContain(fx.idle);
      if ('kind' in m && m.kind === 'box')
        expect(m.box.length).toBeLessThanOrEqual(SCORING_MAX_POSITIONS * 8 + 64);
    }
    // A tree model keeps no fallback partials (the store holds one number per partner and customer).
    expect(await a.scores.latestPartial(fx.labelHolder.model.id, 'bank-b', fx.shared[7]!)).toBeNull();
  });

  it('scores one customer in real time with the same score, and fails with a coded error without bank-b', async () => {
    const customer = fx.shared[11]!;
    const live = await bankA.realtime(fx.labelHolder.model.id, customer, 2_000);
    expect(live).toMatchObject({ customer, purpose: 'risk', degraded: false });
    expect(live.partials).toEqual([expect.objectContaining({ member: 'bank-b', source: 'live' })]);
    expect(Math.abs(live.score - expected.get(customer)!)).toBeLessThan(1e-9);
    // Another customer, whose row goes through other branches.
    const other = fx.shared[200]!;
    expect(
      Math.abs((await bankA.realtime(fx.labelHolder.model.id, other, 2_000)).score - expected.get(other)!),
    ).toBeLessThan(1e-9);

    relay.down.add('bank-b');
    try {
      // A done batch job exists (the test above), yet a tree model has no batch fallback.
      const none = await thrown(bankA.realtime(fx.labelHolder.model.id, customer, 50));
      expect(none).toMatchObject({
        code: 'ACCORD_SCORING_PARTIAL_UNAVAILABLE',
        params: { member: 'bank-b' },
      });
      expect(String(none.params['reason'])).toContain('ACCORD_MEMBER_OFFLINE');
    } finally {
      relay.down.delete('bank-b');
    }
  });

  it('refuses an answer of another width, or a split bit that is not 0 or 1, naming the partner', async () => {
    const answering = (width: number, value: (i: number) => number) =>
      fakePartner('bank-a', 'bank-b', a, (positions) => ({
        values: Float64Array.from({ length: positions.length * width }, (_, i) => value(i)),
        width,
      }));
    const bits = (i: number) => ((i * 7) % 3 === 0 ? 1 : 0);
    const fine = await ask(answering(K, bits));
    expect(Array.from(fine)).toEqual(Array.from({ length: 3 * K }, (_, i) => bits(i)));
    for (const width of [K + 1, K - 1, 1]) {
      const refused = await thrown(ask(answering(width, bits)));
      expect(refused).toMatchObject({ code: 'ACCORD_SCORING_BOX_INVALID', params: { from: 'bank-b' } });
    }
    for (const bad of [0.5, 2, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const refused = await thrown(ask(answering(K, (i) => (i === K + 2 ? bad : bits(i)))));
      expect(refused).toMatchObject({ code: 'ACCORD_SCORING_PARTIAL_INVALID', params: { member: 'bank-b' } });
      expect(refused.httpStatus).toBe(502);
    }
  });

  it('the real partner: another expected width fails to open, and an answer too large for one reply is refused', async () => {
    const deps = relayDeps();
    expect(Array.from(await ask(deps))).toEqual(
      [9, 3, 4].flatMap((p) => Array.from(bankBBits.subarray(p * K, (p + 1) * K))),
    );
    expect(await thrown(ask(deps, Uint32Array.of(1, 2), K + 1))).toMatchObject({
      code: 'ACCORD_SCORING_BOX_INVALID',
      params: { from: 'bank-b' },
    });
    const tooMany = new Uint32Array(Math.floor(MAX_REPLY_VALUES / K) + 1);
    expect(await thrown(ask(deps, tooMany))).toMatchObject({
      code: 'ACCORD_SCORING_REQUEST_REFUSED',
      params: { member: 'bank-b', reason: PUBLIC_REASON.TOO_LARGE },
    });
    expect(await ask(deps, new Uint32Array(Math.floor(MAX_REPLY_VALUES / K)))).toHaveLength(
      Math.floor(MAX_REPLY_VALUES / K) * K,
    );
  });
});

describe('what a batch job keeps of a partner', () => {
  it('asks chunks that fit one reply, and keeps split bits one bit each', () => {
    expect(chunkPositions(1)).toBe(SCORING_CHUNK);
    expect(chunkPositions(2)).toBe(SCORING_CHUNK);
    expect(chunkPositions(3)).toBe(2730);
    expect(chunkPositions(100)).toBe(81);
    expect(chunkPositions(MAX_REPLY_VALUES + 1)).toBe(1);
    const width = 13;
    const rows = 37;
    const all = Float64Array.from({ length: rows * width }, (_, i) => ((i * 2654435761) >>> 7) & 1);
    for (const kind of ['split_bits', 'partial_logit'] as const) {
      const kept = positionValues({ member: 'bank-b', kind, width }, rows);
      for (let from = 0; from < rows; from += 5)
        kept.set(from, all.subarray(from * width, Math.min(rows, from + 5) * width));
      const picked = kept.pick([36, 0, 17, 17, 5]);
      const want = [36, 0, 17, 17, 5].flatMap((p) => Array.from(all.subarray(p * width, (p + 1) * width)));
      expect(Array.from(picked)).toEqual(want);
    }
  });
});
