/**
 * The vertical protocol run in one process with real BFV (harness.ts): it reproduces the plaintext arithmetic
 * exactly, and every field a relay or a party could change in flight makes the job fail with a coded error that
 * names who is to blame, with no part registered anywhere.
 */
import { describe, expect, it } from 'vitest';
import { auc } from '../../../models/metrics.js';
import { partialLogitsOf, simulateCoordinatedLr } from '../../../models/vertical/coordinated-lr.js';
import { VERTICAL_STAGE, type VerticalReply } from '../../../primitives/vertical/protocol.js';
import { dataOf, PARTIES, runVertical, spec } from './harness.js';

describe('vertical coordinated LR under BFV, in one process', () => {
  it('ends with every party holding exactly the weights of the plaintext arithmetic, and registers three parts', async () => {
    const { failure, runs, stores, spec: s } = await runVertical();
    expect(failure).toBeNull();
    const data = PARTIES.map((m) => dataOf(s, m));
    const plain = simulateCoordinatedLr(
      data.map((d) => ({ X: d.X, width: d.width })),
      data[0]!.labels!,
      data[0]!.trainingRows,
      s,
    );
    PARTIES.forEach((m, k) => {
      const part = runs[m]!.part();
      expect(Array.from(part.weights), m).toEqual(Array.from(plain.weights[k]!));
      expect(part.bias).toBe(k === 0 ? plain.bias : 0);
      expect(stores[m]!.models).toHaveLength(1);
      expect(stores[m]!.models[0]!.vertical?.role).toBe(k === 0 ? 'label-holder' : 'feature-holder');
    });
    // The label holder's reported AUC is that of the plaintext model on the validation rows.
    const rows = data[0]!.validationRows;
    const z = data.map((d, k) =>
      partialLogitsOf(d.X, d.width, rows, plain.weights[k]!, k === 0 ? plain.bias : 0),
    );
    const joint = rows.map((_, i) => z.reduce((sum, zk) => sum + zk[i]!, 0));
    const expected = auc(
      joint,
      rows.map((r) => data[0]!.labels![r]!),
    );
    const reported = stores['bank-a']!.jobs.values().next().value!.history.at(-1)!.metrics.auc;
    expect(reported).toBeCloseTo(expected, 4);
    expect(reported).toBeGreaterThan(0.95);
  });

  it('reproduces pooled Adam with a decaying rate exactly too: each party steps its own block', async () => {
    const s = spec({ optimizer: 'adam', learningRate: 0.05, learningRateDecay: 1, epochs: 2 });
    const { failure, runs } = await runVertical({ spec: s });
    expect(failure).toBeNull();
    const data = PARTIES.map((m) => dataOf(s, m));
    const plain = simulateCoordinatedLr(
      data.map((d) => ({ X: d.X, width: d.width })),
      data[0]!.labels!,
      data[0]!.trainingRows,
      s,
    );
    PARTIES.forEach((m, k) => {
      expect(Array.from(runs[m]!.part().weights), m).toEqual(Array.from(plain.weights[k]!));
    });
  });

  /** Runs a job with `change` applied to the first matching reply, and returns the failure. */
  async function tampered(
    from: string,
    stage: VerticalReply['stage'],
    change: (reply: VerticalReply) => VerticalReply,
  ) {
    let done = false;
    const result = await runVertical({
      onReply: (member, reply) => {
        if (done || member !== from || reply.stage !== stage) return reply;
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

  it.each([
    ['a flipped header byte', (b: Uint8Array) => flip(b, 0)],
    ['a truncated body', (b: Uint8Array) => b.subarray(0, b.length - 1)],
    ['the id of another parameter set', (b: Uint8Array) => flip(b, 12)],
  ])(
    'fails on a gradient ciphertext with %s (ACCORD_HE_CIPHERTEXT_INVALID, blaming the sender)',
    async (_, change) => {
      const failure = await tampered('bank-b', VERTICAL_STAGE.GRADIENTS, (r) =>
        r.stage === VERTICAL_STAGE.GRADIENTS
          ? { ...r, masked: { ...r.masked, ciphertext: change(r.masked.ciphertext) } }
          : r,
      );
      expect(failure.error.code).toBe('ACCORD_HE_CIPHERTEXT_INVALID');
      expect(failure.error.params['from']).toBe('bank-b');
      expect(failure.by).toBe('bank-b');
    },
  );

  it.each([
    [
      'count',
      (r: VerticalReply) =>
        r.stage === 'gradients' ? { ...r, masked: { ...r.masked, count: r.masked.count + 1 } } : r,
    ],
    [
      'index',
      (r: VerticalReply) =>
        r.stage === 'gradients'
          ? { ...r, masked: { ...r.masked, index: (r.masked.index + 1) % r.masked.count } }
          : r,
    ],
    ['epoch', (r: VerticalReply) => ({ ...r, batch: { ...r.batch, epoch: r.batch.epoch + 1 } })],
    ['batch', (r: VerticalReply) => ({ ...r, batch: { ...r.batch, batch: r.batch.batch + 1 } })],
    ['phase', (r: VerticalReply) => ({ ...r, batch: { ...r.batch, phase: 'eval' as const } })],
  ])('fails on a gradient reply with a changed %s (ACCORD_VERTICAL_PROTOCOL)', async (_, change) => {
    const failure = await tampered('bank-c', VERTICAL_STAGE.GRADIENTS, change);
    expect(failure.error.code).toBe('ACCORD_VERTICAL_PROTOCOL');
    expect(failure.by).toBe('bank-c');
  });

  it.each([
    [
      'to',
      (r: VerticalReply) => (r.stage === 'partials' ? { ...r, box: { ...r.box, to: 'bank-c' } } : r),
      'ACCORD_VERTICAL_PROTOCOL',
      'bank-b',
    ],
    [
      'from',
      (r: VerticalReply) => (r.stage === 'partials' ? { ...r, box: { ...r.box, from: 'bank-c' } } : r),
      'ACCORD_VERTICAL_PROTOCOL',
      'bank-b',
    ],
    [
      'parts',
      (r: VerticalReply) => (r.stage === 'partials' ? { ...r, box: { ...r.box, parts: 2, part: 1 } } : r),
      'ACCORD_VERTICAL_PROTOCOL',
      'bank-b',
    ],
    [
      'box bytes',
      (r: VerticalReply) =>
        r.stage === 'partials' ? { ...r, box: { ...r.box, box: flip(r.box.box, 40) } } : r,
      'ACCORD_VERTICAL_BOX_INVALID',
      'bank-a',
    ],
  ])('fails on a partial-logit box with a changed %s', async (_, change, code, by) => {
    const failure = await tampered('bank-b', VERTICAL_STAGE.PARTIALS, change);
    expect(failure.error.code).toBe(code);
    expect(failure.by).toBe(by);
  });

  it('fails when the relay swaps a party’s box key (ACCORD_VERTICAL_KEY_INVALID)', async () => {
    const { failure, stores } = await runVertical({
      onCall: (_member, call) =>
        call.stage === VERTICAL_STAGE.START
          ? {
              ...call,
              keys: call.keys.map((k) => (k.member === 'bank-b' ? { ...k, boxKey: flip(k.boxKey, 3) } : k)),
            }
          : call,
    });
    expect(failure!.error.code).toBe('ACCORD_VERTICAL_KEY_INVALID');
    for (const m of PARTIES) expect(stores[m]!.models).toHaveLength(0);
  });

  it('refuses the plaintext stand-in unless the node allows it (ACCORD_HE_KEY_INVALID)', async () => {
    const { failure } = await runVertical({ cipher: 'plain' });
    expect(failure!.error.code).toBe('ACCORD_HE_KEY_INVALID');
    const allowed = await runVertical({ cipher: 'plain', allowUnencrypted: true });
    expect(allowed.failure).toBeNull();
  });

  it('refuses batches too small for the widest party’s columns (ACCORD_VERTICAL_BATCH_TOO_SMALL)', async () => {
    // 11 columns at the label holder need 88 rows a batch: 64 would let a party solve its sums for the residuals.
    const { failure } = await runVertical({ spec: spec({ batchSize: 64 }) });
    expect(failure!.error.code).toBe('ACCORD_VERTICAL_BATCH_TOO_SMALL');
    expect(failure!.error.params).toMatchObject({ rows: 64, columns: 11, needed: 88 });
  });

  it('holds each party to the column count it accepted with', async () => {
    const { failure } = await runVertical({
      onAccept: (m, a) => (m === 'bank-b' ? { ...a, columns: a.columns - 1 } : a),
    });
    expect(failure!.error.code).toBe('ACCORD_VERTICAL_PROTOCOL');
    expect(failure!.by).toBe('bank-b');
  });

  it('keeps the label holder’s report from the coordinator: a changed progress box does not open', async () => {
    const { failure, stores } = await runVertical({
      onCall: (_m, call) =>
        call.stage === VERTICAL_STAGE.PROGRESS
          ? { ...call, boxes: call.boxes.map((b) => ({ ...b, box: flip(b.box, 30) })) }
          : call,
    });
    expect(failure!.error.code).toBe('ACCORD_VERTICAL_BOX_INVALID');
    for (const m of PARTIES) expect(stores[m]!.models).toHaveLength(0);
  });

  it.each([VERTICAL_STAGE.PARTIALS, VERTICAL_STAGE.UPDATE, VERTICAL_STAGE.PROGRESS] as const)(
    'refuses a %s call the relay replays',
    async (stage) => {
      let replayed = false;
      const { failure } = await runVertical({
        onCall: (member, call) => {
          if (replayed || call.stage !== stage || member !== 'bank-b') return call;
          replayed = true;
          return [call, call];
        },
      });
      expect(replayed).toBe(true);
      expect(failure!.error.code).toBe('ACCORD_VERTICAL_PROTOCOL');
      expect(failure!.by).toBe('bank-b');
    },
  );

  it('refuses to start when a party aligned another number of rows (ACCORD_VERTICAL_ROW_COUNT_MISMATCH)', async () => {
    const { failure } = await runVertical({
      onAccept: (m, a) => (m === 'bank-c' ? { ...a, alignedRows: a.alignedRows - 1 } : a),
    });
    expect(failure!.error.code).toBe('ACCORD_VERTICAL_ROW_COUNT_MISMATCH');
    expect(failure!.by).toBe('bank-c');
  });
});
