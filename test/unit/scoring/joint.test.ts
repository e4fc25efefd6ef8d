/**
 * Joint scoring of a vertical model in one process (harness.ts: two banks' ScoringServices over real SQLite stores,
 * an in-memory relay, real member certificates):
 *  - a batch job over the alignment gives exactly the plain-TypeScript joint scores (models/score.ts) of every aligned
 *    customer, keeps bank-b's partials for the fallback, and ends with a fingerprint;
 *  - real time: live partial, then bank-b down (the batch partial, said so), then no partial at all (a coded error
 *    naming bank-b), and a customer outside the population (coded 404);
 *  - every field of a partials request and of its reply, changed in flight, is a coded error, and so is a swapped key;
 *  - a partner that lost its channel (restart) is greeted again; positions outside the alignment are refused;
 *  - a batch job whose partner is down fails with a coded error and keeps no score.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partialLogitRows, scoreRows } from '../../../models/score.js';
import { RequesterChannels } from '../../../node/scoring/channels.js';
import { alignedRowKeys } from '../../../node/training/vertical-data.js';
import { askPartials, type PartialsDeps } from '../../../node/scoring/partials.js';
import { PUBLIC_REASON } from '../../../node/scoring/partner.js';
import type { ScoringService } from '../../../node/scoring/scoring-service.js';
import { auditTo } from '../../../platform/audit/audit-log.js';
import type { NodeStore } from '../../../platform/store/types.js';
import type { AccordError } from '../../../primitives/errors/index.js';
import {
  SCORING_CHUNK,
  type ScoringReply,
  type ScoringRequest,
} from '../../../primitives/scoring/protocol.js';
import { silentLog } from '../../helpers/log.js';
import { rejected as thrown } from '../../helpers/thrown.js';
import { importRows, openStore, rawOf, type VerticalFixture, verticalFixture, X } from './fixtures.js';
import { fakePartner, keysOf, MemoryRelay, serviceFor } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'accord-joint-'));
let a: NodeStore;
let b: NodeStore;
/** bank-b's store as its ScoringService sees it: reads at aligned positions are recorded in `askedOfB`. */
let bSpied: NodeStore;
let fx: VerticalFixture;
let relay: MemoryRelay;
let bankA: ScoringService;
/** The expected joint score and bank-b partial of each shared customer, by id. */
const expected = new Map<string, { score: number; partial: number }>();
let batchJob = '';
/** The aligned positions bank-b was asked for, request by request (what the partner sees of a batch job). */
const askedOfB: number[][] = [];

beforeAll(async () => {
  a = openStore(dir, 'a');
  b = openStore(dir, 'b');
  fx = await verticalFixture(a, b);
  relay = new MemoryRelay();
  bankA = serviceFor(relay, 'bank-a', a);
  bSpied = {
    ...b,
    scores: {
      ...b.scores,
      rowsAtPositions: (alignment, positions) => {
        askedOfB.push(Array.from(positions));
        return b.scores.rowsAtPositions(alignment, positions);
      },
    },
  };
  serviceFor(relay, 'bank-b', bSpied);
  const byId = <T extends { id: string }>(rows: T[]) => new Map(rows.map((r) => [r.id, r] as const));
  const aRows = byId(fx.labelHolder.rows);
  const bRows = byId(fx.partner.rows);
  const aligned = (rows: Map<string, (typeof fx.labelHolder.rows)[number]>) =>
    fx.shared.map((id) => rows.get(id)!);
  const partials = partialLogitRows(
    fx.partner.model,
    rawOf(fx.partner.columns, aligned(bRows), X),
    fx.shared.length,
  );
  const scores = scoreRows(
    fx.labelHolder.model,
    rawOf(fx.labelHolder.columns, aligned(aRows), X),
    fx.shared.length,
    new Map([['bank-b', partials]]),
  );
  fx.shared.forEach((id, i) => {
    expected.set(id, { score: scores[i]!, partial: partials[i]! });
  });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** bank-a's own asker, to see the coded error a changed message gives (real time would fall back instead). */
function asker(): PartialsDeps {
  const transport = relay.transport('bank-a');
  const { signer, verifier } = keysOf('bank-a');
  return {
    self: 'bank-a',
    transport,
    channels: new RequesterChannels('bank-a', transport, signer, verifier),
    audit: auditTo(a.audit, silentLog),
  };
}

const ask = (deps: PartialsDeps, positions = Uint32Array.of(9, 3, 4, 5)) =>
  askPartials(deps, {
    model: fx.labelHolder.model.id,
    modelJob: fx.job,
    partner: 'bank-b',
    alignment: fx.alignment,
    positions,
    kind: 'partial_logit',
    width: 1,
    timeoutMs: 2_000,
    purpose: 'batch',
  });

describe('joint scoring of a vertical model, in one process', () => {
  it('scores the alignment in batches with the exact joint scores, and keeps the partner partials', async () => {
    askedOfB.length = 0;
    const started = await bankA.start(fx.labelHolder.model.id, undefined, 'risk:ana');
    expect(started).toMatchObject({ state: 'running', total: fx.shared.length, purpose: 'risk' });
    expect(started.population).toEqual({ kind: 'alignment', alignment: fx.alignment, dataset: 'clients' });
    const job = await bankA.wait(started.id);
    expect(job).toMatchObject({ state: 'done', scored: fx.shared.length });
    expect(job.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    // bank-b was asked for consecutive ranges of aligned positions from chunk boundaries, every position once: nothing
    // of bank-a's own row order (its rows are not in the aligned order).
    expect(askedOfB.length).toBeGreaterThan(0);
    for (const asked of askedOfB) {
      expect(asked[0]! % SCORING_CHUNK).toBe(0);
      expect(asked).toEqual(asked.map((_, i) => asked[0]! + i));
    }
    expect(askedOfB.flat().sort((x, y) => x - y)).toEqual(fx.shared.map((_, i) => i));
    batchJob = job.id;
    const idOf = new Map(fx.labelHolder.rows.map((r, i) => [i + 2, r.id] as const));
    let n = 0;
    for await (const batch of a.scores.iterate(job.id, 50))
      batch.rowKeys.forEach((key, i) => {
        expect(batch.scores[i]).toBeCloseTo(expected.get(idOf.get(key)!)!.score, 9);
        n++;
      });
    expect(n).toBe(fx.shared.length);
    const some = fx.shared[7]!;
    expect((await a.scores.latestPartial(fx.labelHolder.model.id, 'bank-b', some))!.partial).toBeCloseTo(
      expected.get(some)!.partial,
      9,
    );
    // ensure() finds it rather than running another.
    expect((await bankA.ensure(fx.labelHolder.model.id, 'clients', 'marketing:bo')).id).toBe(job.id);
    // Same data, same fingerprint.
    const again = await bankA.wait((await bankA.start(fx.labelHolder.model.id, undefined, 'risk:ana')).id);
    expect(again.fingerprint).toBe(job.fingerprint);
    batchJob = again.id;
  });

  it('scores one customer in real time: live, then from the batch when bank-b is down, then a coded error', async () => {
    const customer = fx.shared[11]!;
    const live = await bankA.realtime(fx.labelHolder.model.id, customer, 2_000);
    expect(live).toMatchObject({ customer, purpose: 'risk', degraded: false });
    expect(live.partials).toEqual([expect.objectContaining({ member: 'bank-b', source: 'live' })]);
    expect(live.score).toBeCloseTo(expected.get(customer)!.score, 9);

    relay.down.add('bank-b');
    try {
      const fallback = await bankA.realtime(fx.labelHolder.model.id, customer, 50);
      expect(fallback.degraded).toBe(true);
      expect(fallback.partials).toEqual([
        expect.objectContaining({
          member: 'bank-b',
          source: 'batch',
          job: batchJob,
          reason: 'ACCORD_MEMBER_OFFLINE',
        }),
      ]);
      expect(fallback.score).toBeCloseTo(live.score, 12);
      // Erased: no batch partial left, so no score without the live partner.
      expect(await a.scores.eraseCustomer(customer)).toBeGreaterThan(0);
      const none = await thrown(bankA.realtime(fx.labelHolder.model.id, customer, 50));
      expect(none).toMatchObject({
        code: 'ACCORD_SCORING_PARTIAL_UNAVAILABLE',
        params: { member: 'bank-b' },
      });
    } finally {
      relay.down.delete('bank-b');
    }
    const unknown = await thrown(bankA.realtime(fx.labelHolder.model.id, 'no-such-customer', 50));
    expect(unknown).toMatchObject({ code: 'ACCORD_SCORING_CUSTOMER_NOT_FOUND' });
    expect((unknown as AccordError).httpStatus).toBe(404);
    expect((unknown as AccordError).message).not.toContain('no-such-customer');
    const part = await thrown(bankA.realtime(fx.partner.model.id, customer, 50));
    expect(part).toMatchObject({ code: 'ACCORD_SCORING_MODEL_UNKNOWN' });
  });

  it('reports the partners’ partials received while a vertical job gathers them, then its scores', async () => {
    relay.delay = (r) => (r.stage === 'partials' ? 200 : 0);
    try {
      const started = await bankA.start(fx.labelHolder.model.id, undefined, 'risk:ana');
      await new Promise((resolve) => setTimeout(resolve, 100));
      // One partner, every aligned position asked for: nothing received yet while the first chunks are in flight.
      expect(bankA.gathering(started.id)).toEqual({ received: 0, total: fx.shared.length });
      const job = await bankA.wait(started.id);
      expect(job.scored).toBe(fx.shared.length);
      expect(bankA.gathering(started.id)).toBeNull();
    } finally {
      relay.delay = null;
    }
  });

  it('says hello to a slow partner once, whatever the real-time deadlines meanwhile', async () => {
    const customer = fx.shared[12]!;
    const fresh = serviceFor(relay, 'bank-a', a); // a label holder with no channel yet
    const hellos = () => relay.seen.filter((m) => 'stage' in m && m.stage === 'hello').length;
    const before = hellos();
    relay.delay = (r) => (r.stage === 'hello' ? 300 : 0);
    try {
      for (let i = 0; i < 3; i++) {
        const score = await fresh.realtime(fx.labelHolder.model.id, customer, 50);
        expect(score.partials).toEqual([
          expect.objectContaining({ source: 'batch', reason: 'ACCORD_SCORING_PEER_TIMEOUT' }),
        ]);
      }
      expect(hellos()).toBe(before + 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      relay.delay = null;
    }
    const live = await fresh.realtime(fx.labelHolder.model.id, customer, 2_000);
    expect(live.partials).toEqual([expect.objectContaining({ source: 'live' })]);
    expect(hellos()).toBe(before + 1);
  });

  it('refuses every field of a partials request or reply changed in flight, and a swapped key', async () => {
    const deps = asker();
    expect(Array.from(await ask(deps))).toEqual(
      [9, 3, 4, 5].map((p) => expect.closeTo(expected.get(fx.shared[p]!)!.partial, 9)),
    );
    const flip = (box: Uint8Array) => {
      const out = Uint8Array.from(box);
      out[Math.max(0, out.length - 20)]! ^= 1;
      return out;
    };
    const requests: Record<string, (r: ScoringRequest & { stage: 'partials' }) => ScoringRequest> = {
      requestId: (r) => ({ ...r, requestId: randomUUID() }),
      from: (r) => ({ ...r, from: 'bank-c' }),
      to: (r) => ({ ...r, to: 'bank-c' }),
      modelJob: (r) => ({ ...r, modelJob: randomUUID() }),
      alignment: (r) => ({ ...r, alignment: randomUUID() }),
      count: (r) => ({ ...r, count: r.count + 1 }),
      channel: (r) => ({ ...r, channel: flip(r.channel) }),
      box: (r) => ({ ...r, box: flip(r.box) }),
    };
    const codes: Record<string, string> = {};
    for (const [field, change] of Object.entries(requests)) {
      relay.onRequest = (r) => (r.stage === 'partials' ? change(r) : r);
      try {
        codes[field] = await ask(deps).then(
          () => 'resolved',
          (e) => e.code,
        );
      } finally {
        relay.onRequest = null;
      }
    }
    expect(codes).toEqual({
      requestId: 'ACCORD_SCORING_BOX_INVALID',
      from: 'ACCORD_SCORING_REQUEST_REFUSED',
      to: 'ACCORD_SCORING_PROTOCOL',
      modelJob: 'ACCORD_SCORING_REQUEST_REFUSED',
      alignment: 'ACCORD_SCORING_BOX_INVALID',
      count: 'ACCORD_SCORING_BOX_INVALID',
      channel: 'ACCORD_SCORING_CHANNEL_UNKNOWN',
      box: 'ACCORD_SCORING_BOX_INVALID',
    });

    let previous: ScoringReply | null = null;
    const replies: Record<string, (r: ScoringReply & { kind: 'box' }) => ScoringReply> = {
      requestId: (r) => ({ ...r, requestId: randomUUID() }),
      from: (r) => ({ ...r, from: 'bank-c' }),
      to: (r) => ({ ...r, to: 'bank-c' }),
      box: (r) => ({ ...r, box: flip(r.box) }),
      replayed: (r) => (previous && previous.kind === 'box' ? { ...r, box: previous.box } : r),
    };
    previous = null;
    relay.onReply = (r) => {
      previous = r;
      return r;
    };
    await ask(deps);
    const replyCodes: Record<string, string> = {};
    for (const [field, change] of Object.entries(replies)) {
      relay.onReply = (r) => (r.kind === 'box' ? change(r) : r);
      try {
        replyCodes[field] = ((await thrown(ask(deps))) as AccordError).code;
      } finally {
        relay.onReply = null;
      }
    }
    expect(replyCodes).toEqual({
      requestId: 'ACCORD_SCORING_BOX_INVALID',
      from: 'ACCORD_SCORING_BOX_INVALID',
      to: 'ACCORD_SCORING_BOX_INVALID',
      box: 'ACCORD_SCORING_BOX_INVALID',
      replayed: 'ACCORD_SCORING_BOX_INVALID',
    });

    // A relay that swaps the partner's key in the hello's answer (a fresh asker must agree a channel).
    relay.onReply = (r) =>
      r.kind === 'key' ? { ...r, key: { ...r.key, boxKey: new Uint8Array(32).fill(9) } } : r;
    try {
      expect(await thrown(ask(asker()))).toMatchObject({
        code: 'ACCORD_SCORING_KEY_INVALID',
        params: { member: 'bank-b' },
      });
    } finally {
      relay.onReply = null;
    }
    // And one that swaps the asker's key in the hello: the partner refuses it.
    relay.onRequest = (r) =>
      r.stage === 'hello' ? { ...r, key: { ...r.key, boxKey: new Uint8Array(32).fill(9) } } : r;
    try {
      expect(await thrown(ask(asker()))).toMatchObject({ code: 'ACCORD_SCORING_KEY_INVALID' });
    } finally {
      relay.onRequest = null;
    }
    // Still fine afterwards.
    expect(await ask(deps)).toHaveLength(4);
  });

  it('refuses a replayed request at the partner, without reading a row or auditing it as answered', async () => {
    const deps = asker();
    let captured: ScoringRequest | null = null;
    relay.onRequest = (r) => {
      if (r.stage === 'partials') captured = r;
      return r;
    };
    try {
      await ask(deps);
    } finally {
      relay.onRequest = null;
    }
    const answered = async () =>
      (await b.audit.list({ limit: 10_000 })).filter(
        (e) => e.action === 'scoring:partials' && e.outcome === 'ok',
      ).length;
    const [before, reads] = [await answered(), askedOfB.length];
    // The relay sends the same request again (same id, same box): it opens, but its counter was seen.
    const replayed = await thrown(relay.transport('bank-a').ask(captured!, 2_000));
    expect(replayed).toMatchObject({ code: 'ACCORD_SCORING_REPLAYED', params: { from: 'bank-a' } });
    expect(askedOfB.length).toBe(reads);
    expect(await answered()).toBe(before);
    // The channel still works.
    expect(await ask(deps)).toHaveLength(4);
  });

  it('works on a bounded number of requests at the partner and refuses more at once', async () => {
    // bank-b works on one request at a time and queues one: of four sent at once, two are refused.
    serviceFor(relay, 'bank-b', bSpied, { partnerLimits: { concurrent: 1, queued: 1 } });
    try {
      const deps = asker();
      await ask(deps); // the channel first
      const outcomes = await Promise.all(
        [0, 1, 2, 3].map(() =>
          ask(deps).then(
            () => 'answered',
            (e: AccordError) => `${e.code} ${e.params['scope']}`,
          ),
        ),
      );
      expect(outcomes.sort()).toEqual([
        'ACCORD_SCORING_BUSY at bank-b',
        'ACCORD_SCORING_BUSY at bank-b',
        'answered',
        'answered',
      ]);
    } finally {
      serviceFor(relay, 'bank-b', bSpied);
    }
  });

  it('refuses partial logits that are not finite or absurdly large, naming the partner', async () => {
    // A faulty partner: a real channel and a box that opens, holding the values given.
    const lying = (values: number[]): PartialsDeps =>
      fakePartner('bank-a', 'bank-b', a, () => ({ values: Float64Array.from(values), width: 1 }));
    expect(Array.from(await ask(lying([0.5, -2, 3, 1e5])))).toEqual([0.5, -2, 3, 1e5]);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1e7]) {
      const refused = await thrown(ask(lying([0.5, bad, 3, 4])));
      expect(refused).toMatchObject({ code: 'ACCORD_SCORING_PARTIAL_INVALID', params: { member: 'bank-b' } });
      expect(refused.httpStatus).toBe(502);
    }
  });

  it('refuses a member that is not the label holder before loading its part', async () => {
    let loads = 0;
    const counted: NodeStore = {
      ...bSpied,
      models: {
        ...b.models,
        onnx: (id) => {
          loads++;
          return b.models.onnx(id);
        },
      },
    };
    serviceFor(relay, 'bank-b', counted); // a restarted bank-b: no part loaded yet
    try {
      const transport = relay.transport('bank-c');
      const { signer, verifier } = keysOf('bank-c');
      const stranger: PartialsDeps = {
        self: 'bank-c',
        transport,
        channels: new RequesterChannels('bank-c', transport, signer, verifier),
        audit: auditTo(a.audit, silentLog),
      };
      expect(await thrown(ask(stranger))).toMatchObject({
        code: 'ACCORD_SCORING_REQUEST_REFUSED',
        params: { member: 'bank-b', reason: PUBLIC_REASON.NO_PART },
      });
      expect(loads).toBe(0);
      expect(await ask(asker())).toHaveLength(4);
      expect(loads).toBe(1);
    } finally {
      serviceFor(relay, 'bank-b', bSpied);
    }
  });

  it('greets a restarted partner again, and refuses positions outside the alignment', async () => {
    const deps = asker();
    await ask(deps);
    serviceFor(relay, 'bank-b', bSpied); // bank-b restarts: it holds no channel any more
    const hellos = relay.seen.filter((m) => 'stage' in m && m.stage === 'hello').length;
    expect(await ask(deps)).toHaveLength(4);
    expect(relay.seen.filter((m) => 'stage' in m && m.stage === 'hello').length).toBe(hellos + 1);
    const outside = await thrown(ask(deps, Uint32Array.of(1, fx.shared.length)));
    expect(outside).toMatchObject({
      code: 'ACCORD_SCORING_REQUEST_REFUSED',
      params: { member: 'bank-b', reason: PUBLIC_REASON.POSITIONS },
    });
    // The refusal crossed the coordinator naming nothing of bank-b's data; bank-b's own audit says what was wrong.
    const onWire = JSON.stringify(relay.seen.filter((m) => 'kind' in m && m.kind === 'error').at(-1));
    expect(onWire).toContain(PUBLIC_REASON.POSITIONS);
    expect(onWire).not.toContain(String(fx.shared.length));
    const refused = (await b.audit.list({ limit: 10_000 })).filter((e) => e.outcome === 'failed').at(-1)!;
    expect(refused.details).toMatchObject({
      code: 'ACCORD_SCORING_REQUEST_REFUSED',
      detail: `a position lies outside the ${fx.shared.length} aligned rows`,
    });
  });

  it('fails a batch job whose partner is down, keeping no score', async () => {
    relay.down.add('bank-b');
    try {
      const job = await bankA.wait((await bankA.start(fx.labelHolder.model.id, undefined, 'risk:ana')).id);
      expect(job).toMatchObject({ state: 'failed', errorCode: 'ACCORD_MEMBER_OFFLINE', fingerprint: null });
      await expect(collect(job.id)).rejects.toThrow(/not done/);
    } finally {
      relay.down.delete('bank-b');
    }
  });
});

describe('an alignment whose dataset was re-imported (last: it replaces both banks’ datasets)', () => {
  it('is refused at the partner and at the label holder with a coded error, for scoring and vertical training', async () => {
    const staleAt = { code: 'ACCORD_PSI_ALIGNMENT_STALE', params: { dataset: 'clients', job: fx.alignment } };
    // bank-b re-imports its customers in another order: the alignment's row keys now name other customers there.
    await importRows(b, 'clients', 'id', fx.partner.columns, [...fx.partner.rows].reverse());
    const job = await bankA.wait((await bankA.start(fx.labelHolder.model.id, undefined, 'risk:ana')).id);
    // At bank-a: bank-b's refusal, saying what to do and nothing of bank-b's dataset (it travelled in clear).
    expect(job).toMatchObject({ state: 'failed', errorCode: 'ACCORD_SCORING_REQUEST_REFUSED', scored: 0 });
    expect(job.errorMessage).toContain(PUBLIC_REASON.STALE);
    // At bank-b: the coded error itself, in its own audit.
    const refusals = (await b.audit.list({ limit: 10_000 })).filter(
      (e) => e.action === 'scoring:partials' && e.outcome === 'failed',
    );
    expect(refusals.at(-1)!.details).toMatchObject({ code: 'ACCORD_PSI_ALIGNMENT_STALE' });
    expect(refusals.at(-1)!.details['detail']).toContain('dataset clients');
    const spec = fx.partner.model.lineage.spec;
    if (spec.kind !== 'vertical') throw new Error('a vertical fixture');
    await expect(alignedRowKeys(b, spec, ['bank-a', 'bank-b'])).rejects.toMatchObject(staleAt);

    // bank-a re-imports too: it refuses before asking anyone, with nothing stored.
    await importRows(a, 'clients', 'id', fx.labelHolder.columns, [...fx.labelHolder.rows].reverse());
    const jobs = (await a.scores.listJobs(1000)).length;
    await expect(bankA.start(fx.labelHolder.model.id, undefined, 'risk:ana')).rejects.toMatchObject(staleAt);
    expect(await a.scores.listJobs(1000)).toHaveLength(jobs);
    await expect(bankA.realtime(fx.labelHolder.model.id, fx.shared[3]!, 500)).rejects.toMatchObject(staleAt);
    await expect(alignedRowKeys(a, spec, ['bank-a', 'bank-b'])).rejects.toMatchObject(staleAt);
  });
});

async function collect(job: string): Promise<number> {
  let n = 0;
  for await (const batch of a.scores.iterate(job, 100)) n += batch.rowKeys.length;
  return n;
}
