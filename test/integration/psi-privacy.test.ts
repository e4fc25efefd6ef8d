/**
 * What PSI does NOT reveal, tested as an attacker would: three banks with known pairwise overlaps that all differ
 * from the three-way one (|A∩B| = 500, |A∩C| = 400, |B∩C| = 300, |A∩B∩C| = 100), real processes over mutual TLS,
 * and every message each node sends or receives recorded (bodies and metadata, both directions: one wire record per
 * process). Then, from each party's own record:
 *  - the pairwise-overlap attack: compare every set of values the party sent (what it computed) or received, across
 *    origins. Values of two origins coincide only when they carry the same keys; the only other move a party has is
 *    to apply its own key once more, which turns a set with keys K into K + {its key}, a set it either already sent
 *    (the ring step itself) or that no other origin's values ever carry. So a single overlap found by comparison is
 *    a recovered pairwise intersection, and none found means none recoverable (the old design failed here: a learner
 *    received its own fully blinded set and had computed its neighbour's);
 *  - no fully blinded value ever reaches a member, and results carry positions, never points;
 *  - stand-ins for unusable rows are indistinguishable from real values: every point a party receives lies in the
 *    prime-order subgroup;
 *  - no identifier of any bank, in any form (as imported, normalised, digits only, hex, base64, ...).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';
import { formsOfIdentifiers, type IdKind } from '../helpers/identifier-forms.js';
import {
  formattedPhone,
  idsOfCreditData,
  phoneCsv,
  psiRegions,
  shared,
  waitJob,
} from '../helpers/psi-data.js';
import { expectNoLeaks, parseWireRecord, readWireRecord } from '../helpers/wire-record.js';
import { isInPrimeOrderSubgroup } from '../unit/psi/reference.js';

const MEMBERS = ['bank-a', 'bank-b', 'bank-c'] as const;
const STYLE = { 'bank-a': 'spaced', 'bank-b': 'plain', 'bank-c': 'dashed' } as const;
const POINT_HEX = 64;
const KEY_HEX = 32;

const { idsA, idsB, idsC } = psiRegions(idsOfCreditData());
const SETS = { 'bank-a': idsA, 'bank-b': idsB, 'bank-c': idsC } as const;
/** Rows bank-c cannot use (an invalid phone, a repeat): sent as random stand-ins that must look like the rest. */
const UNUSABLE = ['12345', formattedPhone(idsC[0]!, 'plain')];

interface PointSet {
  readonly session: string;
  readonly origin: string;
  readonly hop: number;
  readonly dir: 'out' | 'in';
  readonly points: string[];
}

/** Every point set a party sent (Psi.Send) or received (ring batches on its inbox), and its results. */
function viewOf(record: string) {
  const sets: PointSet[] = [];
  const results: Array<{ session: string; data: Record<string, unknown> }> = [];
  const split = (hex: string) =>
    Array.from({ length: hex.length / POINT_HEX }, (_, i) => hex.slice(i * POINT_HEX, (i + 1) * POINT_HEX));
  for (const e of parseWireRecord(record)) {
    if (e.event !== 'message') continue;
    // biome-ignore lint/suspicious/noExplicitAny: recorded protobuf objects, read loosely
    const data = e.data as Record<string, any>;
    if (e.method === '/accord.v1.Psi/Send' && e.dir === 'out') {
      sets.push({
        session: data.sessionId,
        origin: data.origin,
        hop: data.hop,
        dir: 'out',
        points: split(data.points),
      });
    } else if (e.method === '/accord.v1.Psi/Subscribe' && e.dir === 'in') {
      if (data.batch) {
        const b = data.batch;
        sets.push({ session: b.sessionId, origin: b.origin, hop: b.hop, dir: 'in', points: split(b.points) });
      }
      if (data.result) results.push({ session: data.result.sessionId, data: data.result });
    }
  }
  return { sets, results };
}

/** The attack: any comparison key shared by values of two different origins, within one session. */
function pairwiseOverlaps(
  sets: readonly PointSet[],
): Array<{ session: string; origins: string; common: number }> {
  const bySession = new Map<string, Map<string, Set<string>>>();
  for (const s of sets) {
    const origins = bySession.get(s.session) ?? new Map<string, Set<string>>();
    const keys = origins.get(s.origin) ?? new Set<string>();
    for (const p of s.points) keys.add(p.slice(0, KEY_HEX));
    origins.set(s.origin, keys);
    bySession.set(s.session, origins);
  }
  const found = [];
  for (const [session, origins] of bySession) {
    const list = [...origins];
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const [a, keysA] = list[i]!;
        const [b, keysB] = list[j]!;
        let common = 0;
        for (const k of keysA) if (keysB.has(k)) common++;
        if (common > 0) found.push({ session, origins: `${a}+${b}`, common });
      }
    }
  }
  return found;
}

describe('PSI privacy under attack: three banks, every value recorded', () => {
  let c: LocalConsortium;
  let wireDir: string;
  const records: Record<string, string> = {};
  /** Each member's record, parsed once. */
  const views: Record<string, ReturnType<typeof viewOf>> = {};
  const jobs: Array<{ id: string; parties: number; mode: string; ring: string[] }> = [];

  beforeAll(async () => {
    wireDir = mkdtempSync(join(tmpdir(), 'accord-psi-wire-'));
    c = await startLocalConsortium({
      members: [...MEMBERS],
      env: { ACCORD_WIRE_RECORD: join(wireDir, 'wire-%p.jsonl') },
    });
    for (const member of MEMBERS) {
      const csv = phoneCsv(SETS[member], STYLE[member]);
      const body = member === 'bank-c' ? `${csv}${UNUSABLE.map((p, i) => `${p},x${i}`).join('\n')}\n` : csv;
      const res = await c.api(
        member,
        'admin',
        'POST',
        '/v1/datasets/customers?idColumn=phone&idKind=phone&columns=ref:string',
        body,
        'text/csv',
      );
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const run = async (initiator: string, peers: string[], mode: string) => {
      const start = await c.api(initiator, 'risk', 'POST', '/v1/psi', {
        peers,
        dataset: 'customers',
        mode,
        reveal: 'all',
      });
      expect(start.status, JSON.stringify(start.body)).toBe(202);
      const job = await waitJob(c, initiator, start.body.id);
      expect(job.state, JSON.stringify(job.error)).toBe('done');
      if (initiator === 'bank-c' || peers.includes('bank-c'))
        expect((await waitJob(c, 'bank-c', job.id)).skippedRows).toBe(UNUSABLE.length);
      for (const p of peers) expect((await waitJob(c, p, job.id)).state).toBe('done');
      jobs.push({ id: job.id, parties: peers.length + 1, mode, ring: [initiator, ...peers] });
      return job;
    };
    await run('bank-a', ['bank-b', 'bank-c'], 'intersection');
    await run('bank-c', ['bank-a', 'bank-b'], 'cardinality');
    await run('bank-b', ['bank-c', 'bank-a'], 'intersection');
    for (const member of MEMBERS) {
      records[member] = readWireRecord(join(wireDir, `wire-${c.nodes[member]!.process.pid}.jsonl`));
      views[member] = viewOf(records[member]!);
    }
  }, 120_000);

  afterAll(async () => {
    await c?.stop();
    if (wireDir) rmSync(wireDir, { recursive: true, force: true });
  });

  it('the data can tell the answers apart: every pairwise overlap differs from the three-way one', () => {
    const sizes = [
      shared(idsA, idsB),
      shared(idsA, idsC),
      shared(idsB, idsC),
      shared(shared(idsA, idsB), idsC),
    ];
    expect(sizes.map((s) => s.length)).toEqual([500, 400, 300, 100]);
  });

  it('each learner gets the three-way intersection, as positions or a count, never points', async () => {
    const all = shared(shared(idsA, idsB), idsC).length;
    for (const member of MEMBERS) {
      for (const job of jobs) expect((await waitJob(c, member, job.id)).result.size, member).toBe(all);
      const { results } = views[member]!;
      expect(results.length, member).toBeGreaterThanOrEqual(jobs.length);
      for (const r of results) {
        expect(Object.keys(r.data).sort()).toEqual(['batchIndex', 'last', 'positions', 'sessionId', 'size']);
        expect(r.data['size']).toBe(all);
        const mode = jobs.find((j) => j.id === r.session)!.mode;
        expect((r.data['positions'] as string).length).toBe(mode === 'intersection' ? all * 8 : 0);
      }
    }
  });

  it('no party can recover a pairwise overlap from any value it sent or received', () => {
    for (const member of MEMBERS) {
      const { sets } = views[member]!;
      // Enough recorded to attack: every session's ring traffic in both directions.
      expect(sets.filter((s) => s.dir === 'out').length, member).toBeGreaterThan(0);
      expect(sets.filter((s) => s.dir === 'in').length, member).toBeGreaterThan(0);
      expect(pairwiseOverlaps(sets), member).toEqual([]);
    }
  });

  it('the attack works on a record that holds two fully blinded sets (the check can fail)', () => {
    // What the old design handed a learner: its own fully blinded set, next to the neighbour's it had completed.
    const { sets } = views['bank-a']!;
    const completed = sets.find((s) => s.dir === 'out' && s.hop === 3)!;
    const forged: PointSet = {
      ...completed,
      origin: 'bank-a-own',
      dir: 'in',
      points: completed.points.slice(0, 7),
    };
    expect(pairwiseOverlaps([...sets, forged])).toEqual([
      { session: completed.session, origins: `${completed.origin}+bank-a-own`, common: 7 },
    ]);
  });

  it('every batch a member received is exactly what the ring member before it sent (hop labels are truthful)', () => {
    // The coordinator relays; if it mislabelled hops, the check below on hops would mean nothing.
    const sent = new Map<string, string>();
    for (const member of MEMBERS)
      for (const s of views[member]!.sets.filter((s) => s.dir === 'out'))
        sent.set(`${s.session}|${s.origin}|${s.hop}|${s.points[0]}`, member);
    let checked = 0;
    for (const member of MEMBERS) {
      for (const s of views[member]!.sets.filter((s) => s.dir === 'in')) {
        const ring = jobs.find((j) => j.id === s.session)!.ring;
        const expectedSender = ring[(ring.indexOf(s.origin) + s.hop - 1) % ring.length];
        const sender = sent.get(`${s.session}|${s.origin}|${s.hop}|${s.points[0]}`);
        expect(sender, `${member} got ${s.origin}'s points labelled hop ${s.hop}`).toBe(expectedSender);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('no member ever receives a fully blinded value', () => {
    for (const member of MEMBERS) {
      for (const s of views[member]!.sets.filter((s) => s.dir === 'in')) {
        const parties = jobs.find((j) => j.id === s.session)!.parties;
        expect(s.hop, `${member} received ${s.origin}'s points after ${s.hop} keys`).toBeLessThan(parties);
      }
    }
  });

  it('stand-ins for unusable rows look like every other value: all received points are in the prime-order subgroup', () => {
    // bank-c's own stream, as its ring successors received it (stand-ins included), and a sample of everything else.
    let checked = 0;
    for (const member of MEMBERS) {
      for (const s of views[member]!.sets.filter((s) => s.dir === 'in')) {
        const points = s.origin === 'bank-c' && s.hop === 1 ? s.points : s.points.slice(0, 20);
        for (const p of points) {
          expect(isInPrimeOrderSubgroup(Buffer.from(p, 'hex')), `${member} ${s.origin} hop ${s.hop}`).toBe(
            true,
          );
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(idsC.length);
  });

  it('no identifier of any bank travels in any form, in any direction, body or metadata', () => {
    const ids: Array<[IdKind, string]> = [];
    // Every bank's customers, each once (the shared ones are in several sets).
    for (const id of new Set(MEMBERS.flatMap((member) => SETS[member]))) {
      for (const style of ['spaced', 'plain', 'dashed'] as const)
        ids.push(['phone', formattedPhone(id, style)]);
    }
    const forms = formsOfIdentifiers(ids);
    for (const member of MEMBERS) {
      expect(records[member]!.length, member).toBeGreaterThan(10_000);
      expectNoLeaks(records[member]!, forms, `${member}'s wire record`);
    }
  });
});
