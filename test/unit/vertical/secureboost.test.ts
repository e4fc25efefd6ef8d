/**
 * Vertical boosted trees (primitives/vertical/secureboost.ts) run in one process with real BFV (tree-harness.ts):
 * the trees are exactly those of the plaintext trainer on the joined, binned rows (the decrypted histogram sums are
 * the plaintext integer sums), each party registers only its own part, and every field a relay could change in
 * flight fails the job with a coded error and nothing registered. The round-message codec refuses every malformed
 * field.
 */
import { describe, expect, it } from 'vitest';
import { trainGbdtPlain } from '../../../models/trees/train-plain.js';
import type { TreeFeatureHolderPart, TreeLabelHolderPart } from '../../../models/trees/types.js';
import {
  decodeTreeMessage,
  encodeTreeMessage,
  MAX_PART_BYTES,
  cutParts,
  joinParts,
  packBits,
  requestBlobs,
  responseBlobs,
  rowsFromBytes,
  rowsToBytes,
  treeRequestSchema,
  treeResponseSchema,
  unpackBits,
} from '../../../primitives/vertical/secureboost.js';
import { VERTICAL_STAGE, type VerticalReply } from '../../../primitives/vertical/protocol.js';
import { thrown } from '../../helpers/thrown.js';
import { distinctiveForms } from '../../helpers/identifier-forms.js';
import { expectNoLeaks } from '../../helpers/wire-record.js';
import { dataOf, PARTIES, partyColumns } from './harness.js';
import { runTrees, treeSpec } from './tree-harness.js';

describe('vertical boosted trees under BFV, in one process', () => {
  /** What each party opened in the first test's job, as text (see the second test). */
  const received = new Map<string, string[]>(PARTIES.map((m) => [m, []]));
  let firstStores: Awaited<ReturnType<typeof runTrees>>['stores'] | null = null;

  it('grows exactly the plaintext trainer’s trees, and each party registers only its own part', async () => {
    const s = treeSpec({ featureSubsample: 0.7 });
    const { failure, runs, stores } = await runTrees({
      spec: s,
      observe: (to, _from, message) => {
        const bytes = Buffer.from(message);
        // The JSON header as text, and every byte as hex: where a number could hide in a round message.
        received.get(to)!.push(`${bytes.toString('latin1')}\n${bytes.toString('hex')}`);
      },
    });
    firstStores = stores;
    expect(failure).toBeNull();
    const model = s.model as Extract<typeof s.model, { type: 'gbdt' }>;
    const labelData = dataOf(s, 'bank-a');
    const plain = await trainGbdtPlain({
      params: { ...model, seed: s.initSeed },
      parties: PARTIES.map((m) => ({
        party: m,
        binning: runs[m]!.binned.binning,
        bins: runs[m]!.binned.bins,
      })),
      labels: labelData.labels!,
      trainingRows: labelData.trainingRows,
      validationRows: labelData.validationRows,
    });
    for (const m of PARTIES) expect(stores[m]!.models, m).toHaveLength(1);
    const label = stores['bank-a']!.models[0]!.trees as TreeLabelHolderPart;
    expect(label.role).toBe('label-holder');
    expect(label.trees).toEqual(plain.trees);
    expect(label.baseMargin).toBe(plain.baseMargin);
    expect(label.rules).toEqual(plain.rules.get('bank-a'));
    // Some splits are the feature holders': the label holder knows them by owner and split id only.
    const owners = new Set(
      label.trees.flatMap((t) => t.nodes.flatMap((n) => (n.kind === 'split' ? [n.owner] : []))),
    );
    expect(owners.size).toBeGreaterThan(1);
    for (const m of ['bank-b', 'bank-c'] as const) {
      const part = stores[m]!.models[0]!.trees as TreeFeatureHolderPart;
      expect(part.role).toBe('feature-holder');
      expect(part.rules).toEqual(plain.rules.get(m));
      expect(label.partners.find((p) => p.member === m)?.splits).toBe(part.rules.length);
    }
    // The validation AUC of every tree is the plaintext model's.
    const history = stores['bank-a']!.jobs.values().next().value!.history;
    expect(history.map((h) => h.metrics.auc)).toEqual(plain.history.map((h) => h.auc));
  });

  it('tells the label holder no threshold or feature value of a feature holder, and a feature holder none of the label holder’s', () => {
    // The first test's job: every round message each party opened.
    const stores = firstStores!;
    expect(stores).not.toBeNull();
    const columns = partyColumns();
    const secretsOf = (m: string): Set<string> => {
      const needles = new Set<string>();
      const cells = [...columns[m]!.columns.values()].flat().map(Number);
      for (const x of [...new Set(cells)].slice(0, 400)) for (const f of distinctiveForms(x)) needles.add(f);
      const part = stores[m]!.models[0]?.trees;
      if (part)
        for (const rule of part.rules)
          if (rule.kind === 'numeric' && rule.threshold !== Number.MAX_VALUE)
            for (const f of distinctiveForms(rule.threshold)) needles.add(f);
      if (part?.role === 'label-holder')
        for (const t of part.trees)
          for (const n of t.nodes)
            if (n.kind === 'leaf') for (const f of distinctiveForms(n.weight)) needles.add(f);
      return needles;
    };
    const toLabelHolder = received.get('bank-a')!.join('\n');
    expect(toLabelHolder.length).toBeGreaterThan(100_000);
    for (const m of ['bank-b', 'bank-c'])
      expectNoLeaks(toLabelHolder, secretsOf(m), `what bank-a opened, for ${m}'s values`);
    for (const m of ['bank-b', 'bank-c'])
      expectNoLeaks(received.get(m)!.join('\n'), secretsOf('bank-a'), `what ${m} opened`);
  });

  /** Runs a job with `change` applied to the first matching round reply; the failure, with nothing registered. */
  async function tampered(from: string, change: (reply: VerticalReply) => VerticalReply, skip = 0) {
    let seen = 0;
    let done = false;
    const result = await runTrees({
      spec: treeSpec({ trees: 1, depth: 2 }),
      onReply: (member, reply) => {
        if (done || member !== from || reply.stage !== VERTICAL_STAGE.ROUND || seen++ < skip) return reply;
        done = true;
        return change(reply);
      },
    });
    expect(done).toBe(true);
    for (const m of PARTIES) expect(result.stores[m]!.models, m).toHaveLength(0);
    return result.failure!;
  }

  const flip = (b: Uint8Array, at: number) => {
    const out = Uint8Array.from(b);
    out[at % out.length]! ^= 1;
    return out;
  };
  type Round = Extract<VerticalReply, { stage: 'round' }>;
  const onBox = (f: (r: Round) => Round) => (r: VerticalReply) => (r.stage === 'round' ? f(r) : r);

  it.each([
    [
      'epoch',
      onBox((r) => ({ ...r, batch: { ...r.batch, epoch: r.batch.epoch + 1 } })),
      /^ACCORD_VERTICAL_PROTOCOL$/,
    ],
    [
      'batch',
      onBox((r) => ({ ...r, batch: { ...r.batch, batch: r.batch.batch + 1 } })),
      /^ACCORD_VERTICAL_PROTOCOL$/,
    ],
    ['phase', onBox((r) => ({ ...r, batch: { ...r.batch, phase: 'eval' } })), /^ACCORD_VERTICAL_PROTOCOL$/],
    ['to', onBox((r) => ({ ...r, box: { ...r.box, to: 'bank-c' } })), /^ACCORD_VERTICAL_PROTOCOL$/],
    ['from', onBox((r) => ({ ...r, box: { ...r.box, from: 'bank-c' } })), /^ACCORD_VERTICAL_PROTOCOL$/],
    // The relay sees a message of more parts than the sender's others, or the receiver cannot open it.
    [
      'parts',
      onBox((r) => ({ ...r, box: { ...r.box, parts: r.box.parts + 1 } })),
      /^ACCORD_VERTICAL_(PROTOCOL|BOX_INVALID)$/,
    ],
    [
      'box bytes',
      onBox((r) => ({ ...r, box: { ...r.box, box: flip(r.box.box, 40) } })),
      /^ACCORD_VERTICAL_BOX_INVALID$/,
    ],
  ])('fails on a feature holder’s round box with a changed %s', async (_, change, code) => {
    const failure = await tampered('bank-b', change, 1);
    expect(failure.error.code).toMatch(code);
  });

  it.each([
    [
      'to another feature holder',
      onBox((r) => ({ ...r, box: { ...r.box, to: r.box.to === 'bank-b' ? 'bank-c' : 'bank-b' } })),
    ],
    ['box bytes', onBox((r) => ({ ...r, box: { ...r.box, box: flip(r.box.box, 7) } }))],
  ])('fails on the label holder’s round box re-addressed or changed (%s)', async (_, change) => {
    const failure = await tampered('bank-a', change, 2);
    expect(['ACCORD_VERTICAL_BOX_INVALID', 'ACCORD_VERTICAL_PROTOCOL']).toContain(failure.error.code);
  });

  it('fails when the relay replays a round to a feature holder, or a feature holder claims to finish', async () => {
    let replayed = false;
    const replay = await runTrees({
      spec: treeSpec({ trees: 1, depth: 2 }),
      onCall: (member, call) => {
        if (replayed || member !== 'bank-b' || call.stage !== 'round' || call.batch.batch < 1) return call;
        replayed = true;
        return [call, call];
      },
    });
    expect(replay.failure!.error.code).toMatch(/^ACCORD_VERTICAL_(PROTOCOL|BOX_INVALID)$/);
    let finished = false;
    const finish = await runTrees({
      spec: treeSpec({ trees: 1, depth: 2 }),
      onReply: (member, reply) => {
        if (finished || member !== 'bank-c' || reply.stage !== 'round') return reply;
        finished = true;
        return { stage: 'finish', batch: reply.batch };
      },
    });
    expect(finish.failure!.error.code).toBe('ACCORD_VERTICAL_PROTOCOL');
    expect(finish.failure!.by).toBe('bank-c');
    for (const m of PARTIES) expect(finish.stores[m]!.models).toHaveLength(0);
  });

  it('bounds a model to trees · 2^depth ≤ 4096, so that scoring its parts stays bounded', () => {
    expect(() => treeSpec({ trees: 129, depth: 5 })).toThrow(/2\^depth/);
    expect(treeSpec({ trees: 128, depth: 5 }).model).toMatchObject({ trees: 128, depth: 5, bins: 16 });
  });

  it('fails at once, for everyone, when a feature holder stops answering (ACCORD_TRAINING_TIMEOUT)', async () => {
    const { failure, stores } = await runTrees({
      spec: treeSpec({ trees: 1, depth: 2 }),
      stageTimeoutMs: 800,
      onReply: (member, reply) => (member === 'bank-c' && reply.stage === 'round' ? null : reply),
    });
    expect(failure!.error.code).toBe('ACCORD_TRAINING_TIMEOUT');
    for (const m of PARTIES) expect(stores[m]!.models).toHaveLength(0);
  });
});

describe('round messages (secureboost.ts codec)', () => {
  const request = { histograms: { features: [0, 2], nodes: [{ node: 1, rows: 0, blocks: [1] }] } };

  it('round-trips a header and blobs, cut into parts and joined', () => {
    const blobs = [rowsToBytes(Int32Array.of(1, 5, 9)), new Uint8Array(MAX_PART_BYTES + 10).fill(7)];
    const bytes = encodeTreeMessage(request, blobs);
    const parts = cutParts(bytes);
    expect(parts).toHaveLength(2);
    const { header, blobs: back } = decodeTreeMessage(joinParts(parts), treeRequestSchema, requestBlobs);
    expect(header).toEqual(request);
    expect(Array.from(rowsFromBytes(back[0]!, 10))).toEqual([1, 5, 9]);
    expect(back[1]!.length).toBe(MAX_PART_BYTES + 10);
  });

  it.each([
    ['a truncated message', (b: Uint8Array) => b.subarray(0, b.length - 1)],
    ['trailing bytes', (b: Uint8Array) => Uint8Array.from([...b, 0])],
    ['a header that is not JSON', (b: Uint8Array) => flip0(b, 4)],
    ['a header length past the end', (b: Uint8Array) => Uint8Array.from([255, 255, 0, 0, ...b.subarray(4)])],
  ])('refuses %s (ACCORD_VERTICAL_PROTOCOL)', (_, change) => {
    const bytes = encodeTreeMessage(request, [new Uint8Array(4), new Uint8Array(3)]);
    expect(thrown(() => decodeTreeMessage(change(bytes), treeRequestSchema, requestBlobs)).code).toBe(
      'ACCORD_VERTICAL_PROTOCOL',
    );
  });

  it.each([
    ['an unknown field', { ...request, extra: 1 }],
    ['a negative node', { histograms: { features: [0], nodes: [{ node: -1, rows: 0, blocks: [] }] } }],
    ['a fractional feature', { histograms: { features: [0.5], nodes: [] } }],
    [
      'more than 256 blocks a node',
      { histograms: { features: [0], nodes: [{ node: 1, rows: 0, blocks: Array(257).fill(1) }] } },
    ],
    [
      'a left bin past 30',
      { splits: [{ node: 1, rows: 0, feature: 0, leftBins: [31], missingLeft: false }] },
    ],
    [
      'a missing direction that is not a boolean',
      { splits: [{ node: 1, rows: 0, feature: 0, leftBins: [1], missingLeft: 1 }] },
    ],
    ['metrics out of range', { report: { tree: 1, metrics: { auc: 2, ks: 0, logLoss: 0 } } }],
  ])('refuses a request header with %s', (_, header) => {
    const bytes = encodeTreeMessage(header as never, []);
    expect(thrown(() => decodeTreeMessage(bytes, treeRequestSchema, requestBlobs)).code).toBe(
      'ACCORD_VERTICAL_PROTOCOL',
    );
  });

  it.each([
    ['a feature with 32 value bins', { features: [{ kind: 'numeric', valueBins: 32 }] }],
    ['a feature of an unknown kind', { features: [{ kind: 'text', valueBins: 3 }] }],
    ['a negative split id', { splits: [{ node: 1, splitId: -1, left: 0 }] }],
  ])('refuses a response header with %s', (_, header) => {
    const bytes = encodeTreeMessage(header as never, []);
    expect(thrown(() => decodeTreeMessage(bytes, treeResponseSchema, responseBlobs)).code).toBe(
      'ACCORD_VERTICAL_PROTOCOL',
    );
  });

  it('refuses a blob the header does not name, or names twice', () => {
    const extra = encodeTreeMessage(request, [new Uint8Array(4), new Uint8Array(3), new Uint8Array(8)]);
    expect(thrown(() => decodeTreeMessage(extra, treeRequestSchema, requestBlobs)).code).toBe(
      'ACCORD_VERTICAL_PROTOCOL',
    );
    const twice = { histograms: { features: [0], nodes: [{ node: 1, rows: 0, blocks: [0] }] } };
    const bytes = encodeTreeMessage(twice, [new Uint8Array(4)]);
    expect(thrown(() => decodeTreeMessage(bytes, treeRequestSchema, requestBlobs)).code).toBe(
      'ACCORD_VERTICAL_PROTOCOL',
    );
  });

  it('refuses row lists that are not ascending aligned positions, and bit lists of another length', () => {
    expect(thrown(() => rowsFromBytes(rowsToBytes(Int32Array.of(3, 2)), 10)).code).toBe(
      'ACCORD_VERTICAL_PROTOCOL',
    );
    expect(thrown(() => rowsFromBytes(rowsToBytes(Int32Array.of(3, 3)), 10)).code).toBe(
      'ACCORD_VERTICAL_PROTOCOL',
    );
    expect(thrown(() => rowsFromBytes(rowsToBytes(Int32Array.of(10)), 10)).code).toBe(
      'ACCORD_VERTICAL_PROTOCOL',
    );
    expect(thrown(() => rowsFromBytes(new Uint8Array(3), 10)).code).toBe('ACCORD_VERTICAL_PROTOCOL');
    const bits = Uint8Array.of(1, 0, 1, 1, 0, 0, 0, 0, 1);
    expect(Array.from(unpackBits(packBits(bits), 9))).toEqual(Array.from(bits));
    expect(thrown(() => unpackBits(packBits(bits), 17)).code).toBe('ACCORD_VERTICAL_PROTOCOL');
  });
});

function flip0(b: Uint8Array, at: number): Uint8Array {
  const out = Uint8Array.from(b);
  out[at] = 0x7b ^ 0xff;
  return out;
}
