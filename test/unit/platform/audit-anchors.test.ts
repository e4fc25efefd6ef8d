/**
 * Audit anchors: the pure decision and check (primitives/audit/anchors.ts), the anchoring of heads in a real SQLite
 * store (platform/audit/anchoring.ts: entry and anchor row in one transaction, mismatch alerts), one-pass
 * verification of a log against anchors, and the wire conversion of the heads and of `AuditAnchors`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditTo } from '../../../platform/audit/audit-log.js';
import { HeadAnchoring } from '../../../platform/audit/anchoring.js';
import { verifyAuditLogAgainst } from '../../../platform/audit/verify.js';
import { openSqliteNodeStore } from '../../../platform/store/sqlite/index.js';
import type { NodeStore } from '../../../platform/store/types.js';
import { consortiumWire as wire } from '../../../platform/wire/consortium.js';
import {
  type AuditHead,
  checkAnchors,
  decideAnchor,
  describeAnchorMismatch,
  type HeldAnchor,
} from '../../../primitives/audit/anchors.js';
import { type AuditEntry, ChainVerifier, sealEntry } from '../../../primitives/audit/chain.js';
import { AccordError } from '../../../primitives/errors/index.js';
import { recordingLog } from '../../helpers/log.js';

const H = (c: string) => c.repeat(64);

function chain(n: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (let i = 0; i < n; i++)
    entries.push(
      sealEntry(
        { actor: 'bank-a', action: 'rest:GET /v1/x', target: `t${i}`, outcome: 'ok', details: { i } },
        entries[i - 1] ?? null,
        new Date(Date.UTC(2024, 0, 1, 0, 0, i)),
      ),
    );
  return entries;
}

/** The attack: remove entry `seq` and re-seal everything after it, so the chain verifies again. */
function removeAndReseal(entries: AuditEntry[], seq: number): AuditEntry[] {
  const out: AuditEntry[] = entries.slice(0, seq - 1);
  for (const e of entries.slice(seq)) {
    const { hash: _h, seq: _s, prevHash: _p, at, ...draft } = e;
    out.push(sealEntry(draft, out[out.length - 1] ?? null, new Date(at)));
  }
  return out;
}

const anchorsAt = (entries: AuditEntry[], seqs: number[], holder = 'coordinator'): HeldAnchor[] =>
  seqs.map((seq) => ({
    seq,
    hash: entries[seq - 1]!.hash,
    at: `2024-01-01T00:00:${String(seq).padStart(2, '0')}.000Z`,
    holder,
  }));

describe('decideAnchor', () => {
  const last = { seq: 10, hash: H('a'), atMs: 1_000 };
  it('anchors the first head; an empty head is an alert (every process writes entries before it connects)', () => {
    expect(decideAnchor(null, { seq: 3, hash: H('b') }, 0, 30_000, false)).toEqual({ kind: 'anchor' });
    expect(decideAnchor(null, { seq: 0, hash: '' }, 0, 30_000, false)).toEqual({
      kind: 'mismatch',
      reason: 'missing',
    });
  });
  it('anchors a moved head once the interval has passed, or at once after a registration', () => {
    const moved = { seq: 11, hash: H('b') };
    expect(decideAnchor(last, moved, 30_999, 30_000, false)).toEqual({ kind: 'wait' });
    expect(decideAnchor(last, moved, 31_000, 30_000, false)).toEqual({ kind: 'anchor' });
    expect(decideAnchor(last, moved, 1_001, 30_000, true)).toEqual({ kind: 'anchor' });
  });
  it('waits on an unchanged head, even when forced', () => {
    expect(decideAnchor(last, { seq: 10, hash: H('a') }, 99_999, 30_000, true)).toEqual({ kind: 'wait' });
  });
  it('reports a head that went backwards, or another hash at the anchored seq', () => {
    expect(decideAnchor(last, { seq: 9, hash: H('c') }, 99_999, 30_000, false)).toEqual({
      kind: 'mismatch',
      reason: 'backwards',
    });
    expect(decideAnchor(last, { seq: 0, hash: '' }, 99_999, 30_000, false)).toMatchObject({
      kind: 'mismatch',
    });
    expect(decideAnchor(last, { seq: 10, hash: H('c') }, 0, 30_000, false)).toEqual({
      kind: 'mismatch',
      reason: 'rewritten',
    });
  });
});

describe('checkAnchors', () => {
  const entries = chain(20);

  it('accepts a log that holds every anchored head, and names the newest', () => {
    const verdict = checkAnchors(entries, anchorsAt(entries, [5, 10, 15]));
    expect(verdict).toMatchObject({ ok: true, checked: 3, lastAnchor: { seq: 15 } });
    expect(checkAnchors(entries, [])).toEqual({ ok: true, checked: 0, lastAnchor: null });
  });

  it('catches a removed entry that the re-sealed chain hides, naming the first anchor that disagrees', () => {
    const forged = removeAndReseal(entries, 7);
    const chainCheck = new ChainVerifier();
    for (const e of forged) chainCheck.push(e);
    expect(chainCheck.verdict().ok).toBe(true); // the attack works without anchors
    const verdict = checkAnchors(forged, anchorsAt(entries, [5, 10, 15]));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.firstMismatch).toMatchObject({
      seq: 10,
      lastAgreeingSeq: 5,
      anchoredHash: entries[9]!.hash,
      localHash: forged[9]!.hash,
    });
    expect(describeAnchorMismatch(verdict.firstMismatch)).toBe(
      'entry 10 differs from the head the coordinator anchored at 2024-01-01T00:00:10.000Z ' +
        '(entries after 5, the last anchor that agrees, were rewritten or removed)',
    );
  });

  it('says when no earlier anchor agrees', () => {
    const forged = removeAndReseal(entries, 2);
    const verdict = checkAnchors(forged, anchorsAt(entries, [5, 10], 'bank-b'));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.firstMismatch.lastAgreeingSeq).toBeNull();
    expect(describeAnchorMismatch(verdict.firstMismatch)).toBe(
      'entry 5 differs from the head bank-b anchored at 2024-01-01T00:00:05.000Z ' +
        '(no earlier anchor agrees: any entry up to 5 may have been rewritten or removed)',
    );
  });

  it('names an anchored entry past the end of a truncated log as missing', () => {
    const verdict = checkAnchors(entries.slice(0, 12), anchorsAt(entries, [5, 10, 15, 18]));
    expect(verdict).toMatchObject({
      ok: false,
      checked: 3,
      firstMismatch: { seq: 15, localHash: null, lastAgreeingSeq: 10 },
    });
    if (!verdict.ok)
      expect(verdict.firstMismatch.reason).toMatch(/^is missing, yet the coordinator anchored it/);
  });

  it('names an anchored entry the log skips over as missing', () => {
    const gappy = entries.filter((e) => e.seq !== 10);
    expect(checkAnchors(gappy, anchorsAt(entries, [5, 10, 15]))).toMatchObject({
      ok: false,
      firstMismatch: { seq: 10, localHash: null, lastAgreeingSeq: 5 },
    });
  });

  it('checks anchors from several holders, in seq order whatever order they come in', () => {
    const held = [...anchorsAt(entries, [15], 'bank-b'), ...anchorsAt(entries, [4, 15], 'bank-c')];
    expect(checkAnchors(entries, held)).toMatchObject({ ok: true, checked: 3 });
    const wrong = [...held, { seq: 8, hash: H('f'), at: '2024-01-01T00:00:00.000Z', holder: 'bank-d' }];
    expect(checkAnchors(entries, wrong)).toMatchObject({
      ok: false,
      firstMismatch: { seq: 8, holder: 'bank-d', lastAgreeingSeq: 4 },
    });
  });
});

describe('anchoring heads in a SQLite store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accord-anchors-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const { log, warnings } = recordingLog();

  function setup(name: string): { store: NodeStore; anchoring: HeadAnchoring; clock: { now: number } } {
    const store = openSqliteNodeStore(join(dir, `${name}.db`));
    const clock = { now: Date.UTC(2024, 0, 1) };
    const anchoring = new HeadAnchoring({
      anchors: store.anchors,
      audit: auditTo(store.audit, log),
      log,
      intervalMs: 1_000,
      now: () => clock.now,
      target: (p) => `member:${p}`,
    });
    return { store, anchoring, clock };
  }
  const head = (seq: number, c = 'a'): AuditHead => ({ seq, hash: H(c) });

  it('records the audit entry and the anchor row together, at the interval', async () => {
    const { store, anchoring, clock } = setup('interval');
    expect(await anchoring.observe('bank-a', head(3))).toBe('anchor');
    expect(await anchoring.observe('bank-a', head(4))).toBe('wait');
    // Entries are sealed with the real clock; the interval is measured from the anchor's recorded time.
    const latest = await store.anchors.latest('bank-a');
    clock.now = Date.parse(latest!.at) + 999;
    expect(await anchoring.observe('bank-a', head(5))).toBe('wait');
    clock.now += 1;
    expect(await anchoring.observe('bank-a', head(5))).toBe('anchor');
    expect(await anchoring.observe('bank-a', null)).toBe('mismatch');

    const anchors = await store.anchors.list('bank-a', { limit: 10 });
    expect(anchors.map((a) => a.seq)).toEqual([3, 5]);
    const log = await store.audit.list({ limit: 10 });
    for (const a of anchors) {
      expect(log.find((e) => e.seq === a.entrySeq)).toMatchObject({
        actor: 'bank-a',
        action: 'audit:anchor',
        target: 'member:bank-a',
        outcome: 'ok',
        details: { seq: a.seq, hash: a.hash },
        at: a.at,
      });
    }
    expect(await store.anchors.list('bank-a', { afterSeq: 3, limit: 10 })).toHaveLength(1);
    expect(await store.anchors.list('bank-b', { limit: 10 })).toEqual([]);
    await store.close();
  });

  it('anchors the first head after a registration even inside the interval', async () => {
    const { store, anchoring } = setup('register');
    expect(await anchoring.observe('bank-a', head(3))).toBe('anchor');
    expect(await anchoring.observe('bank-a', head(4))).toBe('wait');
    anchoring.registered('bank-a');
    expect(await anchoring.observe('bank-a', head(5))).toBe('anchor');
    expect(await anchoring.observe('bank-a', head(6))).toBe('wait');
    await store.close();
  });

  it('serialises concurrent heads of one party (never two anchors for one decision)', async () => {
    const { store, anchoring } = setup('concurrent');
    const results = await Promise.all([3, 4, 5, 6].map((seq) => anchoring.observe('bank-a', head(seq))));
    expect(results).toEqual(['anchor', 'wait', 'wait', 'wait']);
    await store.close();
  });

  it('records a mismatch as refused, at most once per interval, and warns once per hour', async () => {
    const { store, anchoring, clock } = setup('mismatch');
    warnings.length = 0;
    await anchoring.observe('bank-a', head(10, 'a'));
    expect(await anchoring.observe('bank-a', head(10, 'b'))).toBe('mismatch');
    expect(await anchoring.observe('bank-a', head(7, 'c'))).toBe('mismatch');
    clock.now += 1_000;
    expect(await anchoring.observe('bank-a', head(8, 'c'))).toBe('mismatch');
    const refused = (await store.audit.list({ limit: 100 })).filter(
      (e) => e.action === 'audit:anchor-mismatch',
    );
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({
      actor: 'bank-a',
      target: 'member:bank-a',
      outcome: 'refused',
      details: {
        reason: 'rewritten',
        seq: 10,
        anchoredSeq: 10,
        anchoredHash: H('a').slice(0, 16),
        reportedHash: H('b').slice(0, 16),
      },
    });
    expect(refused[1]!.details).toMatchObject({ reason: 'backwards', seq: 8 });
    expect(warnings.filter((w) => w.includes('rewritten'))).toHaveLength(1);
    // The anchor held is unchanged.
    expect(await store.anchors.latest('bank-a')).toMatchObject({ seq: 10, hash: H('a') });
    await store.close();
  });

  it('fails with ACCORD_AUDIT_UNAVAILABLE when the anchor cannot be written', async () => {
    const { store, anchoring } = setup('broken');
    await store.close();
    await expect(anchoring.observe('bank-a', head(3))).rejects.toSatisfy(
      (err) => err instanceof AccordError && err.code === 'ACCORD_AUDIT_UNAVAILABLE',
    );
  });

  it('refuses an anchor that is not above the latest one', async () => {
    const { store } = setup('order');
    const draft = { actor: 'x', action: 'audit:anchor', target: '', outcome: 'ok' as const, details: {} };
    await store.anchors.record(draft, { party: 'x', seq: 5, hash: H('a') });
    await expect(store.anchors.record(draft, { party: 'x', seq: 5, hash: H('b') })).rejects.toThrow();
    // Neither the anchor nor its audit entry was written.
    expect((await store.audit.head())?.seq).toBe(1);
    await store.close();
  });

  it('verifies a stored log against anchors in one pass', async () => {
    const { store } = setup('verify');
    const audit = auditTo(store.audit, log);
    for (let i = 0; i < 6; i++)
      await audit({ actor: 'a', action: 'x', target: `${i}`, outcome: 'ok', details: {} });
    const entries = await store.audit.list({ limit: 100 });
    const good = await verifyAuditLogAgainst(store.audit, anchorsAt(entries, [2, 4]));
    expect(good.chain.ok).toBe(true);
    expect(good.anchors).toMatchObject({ ok: true, checked: 2 });
    const bad = await verifyAuditLogAgainst(store.audit, [
      ...anchorsAt(entries, [2]),
      { seq: 4, hash: H('e'), at: '2024-01-01T00:00:00.000Z', holder: 'coordinator' },
    ]);
    expect(bad.anchors).toMatchObject({ ok: false, firstMismatch: { seq: 4, lastAgreeingSeq: 2 } });
    await store.close();
  });
});

describe('wire: heads and AuditAnchors', () => {
  it('turns the proto3 (0, "") head into null both ways, and refuses a half-set head', () => {
    expect(wire.heartbeatRequest.fromProto({ sentAtMs: 1, auditHeadSeq: 0, auditHeadHash: '' })).toEqual({
      sentAtMs: 1,
      auditHead: null,
    });
    expect(wire.heartbeatRequest.toProto({ sentAtMs: 1, auditHead: null })).toEqual({
      sentAtMs: 1,
      auditHeadSeq: 0,
      auditHeadHash: '',
    });
    const ack = { serverTimeMs: 5, coordinatorAuditHead: { seq: 9, hash: H('d') } };
    expect(wire.heartbeatResponse.fromProto(wire.heartbeatResponse.toProto(ack))).toEqual(ack);
    // A coordinator that predates the field: defaults fill in (0, "").
    expect(
      wire.heartbeatResponse.fromProto({
        serverTimeMs: 5,
        coordinatorAuditHeadSeq: 0,
        coordinatorAuditHeadHash: '',
      }),
    ).toEqual({ serverTimeMs: 5, coordinatorAuditHead: null });
    for (const [seq, hash] of [
      [3, ''],
      [0, H('a')],
      [3, 'ABC'],
    ] as const) {
      expect(() =>
        wire.heartbeatRequest.fromProto({ sentAtMs: 1, auditHeadSeq: seq, auditHeadHash: hash }),
      ).toThrow(AccordError);
    }
  });

  it('maps limit 0 to the page maximum and refuses more', () => {
    expect(wire.auditAnchorsRequest.fromProto({ afterSeq: 0, limit: 0 })).toEqual({
      afterSeq: 0,
      limit: 1000,
    });
    expect(wire.auditAnchorsRequest.fromProto({ afterSeq: 7, limit: 10 })).toEqual({
      afterSeq: 7,
      limit: 10,
    });
    expect(() => wire.auditAnchorsRequest.fromProto({ afterSeq: 0, limit: 1001 })).toThrow(AccordError);
  });

  it('round-trips anchors with their time, and refuses them out of order', () => {
    const anchors = [
      { seq: 3, hash: H('a'), at: '2024-01-01T00:00:00.123Z', entrySeq: 40 },
      { seq: 9, hash: H('b'), at: '2024-01-01T00:00:31.000Z', entrySeq: 52 },
    ];
    const proto = wire.auditAnchorsResponse.toProto(anchors);
    expect(proto.anchors[0]).toEqual({ seq: 3, hash: H('a'), anchoredAtMs: 1704067200123, entrySeq: 40 });
    expect(wire.auditAnchorsResponse.fromProto(proto)).toEqual(anchors);
    expect(() => wire.auditAnchorsResponse.fromProto({ anchors: [...proto.anchors].reverse() })).toThrow(
      AccordError,
    );
    expect(() => wire.auditAnchorsResponse.fromProto({ anchors: [{ ...proto.anchors[0], seq: 0 }] })).toThrow(
      AccordError,
    );
  });
});
