import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  type AuditDraft,
  type AuditEntry,
  ChainVerifier,
  canonicalJson,
  entryHash,
  GENESIS_HASH,
  sealEntry,
} from '../../../primitives/audit/chain.js';
import { maskIdentifier } from '../../../primitives/audit/mask.js';

function chain(n: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (let i = 0; i < n; i++) {
    entries.push(
      sealEntry(
        { actor: 'bank-a', action: 'rest:GET /v1/x', target: `t${i}`, outcome: 'ok', details: { i } },
        entries[i - 1] ?? null,
      ),
    );
  }
  return entries;
}

function verify(entries: AuditEntry[]) {
  const v = new ChainVerifier();
  for (const e of entries) v.push(e);
  return v.verdict();
}

describe('audit hash chain', () => {
  it('links each entry to the previous one, starting from the genesis hash', () => {
    const entries = chain(3);
    expect(entries[0]!.prevHash).toBe(GENESIS_HASH);
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
    expect(verify(entries)).toEqual({ ok: true, entries: 3, headHash: entries[2]!.hash });
  });

  it('names the first altered entry', () => {
    const entries = chain(5);
    entries[2] = { ...entries[2]!, details: { i: 99 } };
    expect(verify(entries)).toMatchObject({
      ok: false,
      brokenAt: 3,
      reason: expect.stringContaining('content'),
    });
  });

  it('detects a removed entry', () => {
    const entries = chain(5);
    entries.splice(1, 1);
    expect(verify(entries)).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('detects an entry re-hashed after alteration (its successor no longer links)', () => {
    const entries = chain(4);
    const { hash: _hash, ...rest } = entries[1]!;
    const forged = sealEntry({ ...rest, target: 'forged' }, entries[0]!, new Date(rest.at));
    entries[1] = forged;
    expect(verify(entries)).toMatchObject({
      ok: false,
      brokenAt: 3,
      reason: expect.stringContaining('link'),
    });
  });
});

/** Pushes entries until the verifier refuses one; returns its index and the verdict (index -1: all accepted). */
function firstRefused(entries: readonly AuditEntry[]) {
  const v = new ChainVerifier();
  const index = entries.findIndex((e) => !v.push(e));
  return { index, verdict: v.verdict() };
}

type Tamper = { field: string; change: (e: AuditEntry) => AuditEntry };

/** Every field of an entry, each changed in a way a forger might. */
const TAMPERS: Tamper[] = [
  { field: 'seq', change: (e) => ({ ...e, seq: e.seq + 1 }) },
  { field: 'at', change: (e) => ({ ...e, at: new Date(Date.parse(e.at) + 1).toISOString() }) },
  { field: 'actor', change: (e) => ({ ...e, actor: 'bank-z' }) },
  { field: 'action', change: (e) => ({ ...e, action: 'rest:GET /v1/y' }) },
  { field: 'target', change: (e) => ({ ...e, target: `${e.target}x` }) },
  { field: 'outcome', change: (e) => ({ ...e, outcome: e.outcome === 'ok' ? 'denied' : 'ok' }) },
  { field: 'details (a value)', change: (e) => ({ ...e, details: { ...e.details, i: 1000 } }) },
  {
    field: 'details (a value of another type)',
    change: (e) => ({ ...e, details: { ...e.details, i: String(e.details['i']) } }),
  },
  {
    field: 'details (a key)',
    change: (e) => {
      const { i, ...rest } = e.details;
      return { ...e, details: { ...rest, j: i! } };
    },
  },
  { field: 'details (an added key)', change: (e) => ({ ...e, details: { ...e.details, extra: true } }) },
  {
    field: 'details (a removed key)',
    change: (e) => {
      const { flag: _flag, ...rest } = e.details;
      return { ...e, details: rest };
    },
  },
  {
    field: 'prevHash',
    change: (e) => ({ ...e, prevHash: e.prevHash.replace(/^./, (c) => (c === '0' ? '1' : '0')) }),
  },
  { field: 'hash', change: (e) => ({ ...e, hash: e.hash.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }) },
];

describe('audit hash chain: every field counts', () => {
  function flagged(n: number): AuditEntry[] {
    const entries: AuditEntry[] = [];
    for (let i = 0; i < n; i++) {
      const draft: AuditDraft = {
        actor: 'bank-a',
        action: 'rest:GET /v1/x',
        target: `t${i}`,
        outcome: 'ok',
        details: { i, flag: i % 2 === 0 },
      };
      entries.push(sealEntry(draft, entries[i - 1] ?? null, new Date(Date.UTC(2024, 0, 1, 0, 0, i))));
    }
    return entries;
  }

  it('the untouched chain verifies', () => {
    expect(firstRefused(flagged(5)).index).toBe(-1);
  });

  for (const { field, change } of TAMPERS) {
    for (const position of [0, 2, 4]) {
      it(`changing ${field} of entry ${position + 1} of 5 fails verification at that entry`, () => {
        const entries = flagged(5);
        const tampered = change(entries[position]!);
        expect(tampered).not.toEqual(entries[position]);
        entries[position] = tampered;
        const { index, verdict } = firstRefused(entries);
        expect(index).toBe(position);
        expect(verdict).toMatchObject({ ok: false, brokenAt: tampered.seq, entries: position + 1 });
      });
    }
    if (field !== 'hash') {
      it(`${field} is covered by the hash itself (not only by the seq and link checks)`, () => {
        const entry = flagged(3)[1]!;
        const { hash, ...rest } = change(entry);
        expect(hash).toBe(entry.hash);
        expect(entryHash(rest)).not.toBe(entry.hash);
      });
    }
  }
});

interface Vector {
  draft: AuditDraft;
  at: string;
  seq: number;
  prevHash: string;
  canonical: string;
  hash: string;
}

describe('audit entry hash: known-answer vectors (test/vectors/audit/entry-hash.json)', () => {
  const { vectors } = JSON.parse(
    readFileSync(new URL('../../vectors/audit/entry-hash.json', import.meta.url), 'utf8'),
  ) as { vectors: Vector[] };
  /** SHA-256 from another library than the one chain.ts uses, over the text as written in the vector. */
  const independentHash = (v: Vector) => bytesToHex(sha256(utf8ToBytes(v.prevHash + v.canonical)));

  it('covers a unicode target, nested/numeric/boolean details and every outcome', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(5);
    expect(vectors.some((v) => [...v.draft.target].some((ch) => ch.codePointAt(0)! > 0x7f))).toBe(true);
    expect(vectors.some((v) => Object.values(v.draft.details).some((x) => typeof x === 'object'))).toBe(true);
    expect(new Set(vectors.map((v) => v.draft.outcome))).toEqual(
      new Set(['ok', 'refused', 'denied', 'failed']),
    );
  });

  it('pins the canonical text, written out here literally', () => {
    expect(vectors[0]!.canonical).toBe(
      '{"action":"process:start","actor":"bank-a","at":"2024-01-02T03:04:05.678Z","details":{},' +
        '"outcome":"ok","prevHash":"0000000000000000000000000000000000000000000000000000000000000000",' +
        '"seq":1,"target":""}',
    );
    expect(vectors[1]!.canonical).toBe(
      '{"action":"rest:POST /v1/datasets/:name","actor":"role:admin","at":"2024-01-02T03:04:06.000Z",' +
        '"details":{"note":"quote \\" backslash \\\\ newline \\n tab \\t","ratio":0.25,"replace":false,"rows":569},' +
        `"outcome":"ok","prevHash":"${vectors[0]!.hash}","seq":2,"target":"Zoë Müller — 顧客 🏦"}`,
    );
    expect(vectors[2]!.canonical).toBe(
      '{"action":"audit:anchor","actor":"bank-b","at":"2024-02-29T23:59:59.999Z","details":{"10":"ten",' +
        '"2":"two","Z":"upper sorts before lower","big":9007199254740992,"negZero":0,' +
        '"zeta":{"a":{"w":0.1,"x":-5,"y":1e+21},"b":[1,true,null,"x"]},"é":"non-ASCII key"},' +
        `"outcome":"refused","prevHash":"${vectors[1]!.hash}","seq":3,"target":"member:bank-b"}`,
    );
  });

  it('pins the first hashes literally', () => {
    expect(vectors[0]!.hash).toBe('8cdb70819d2b2d7dfdcaed22168bfa67ba4d5a41454a96b357cadd857e44ebcb');
    expect(vectors[1]!.hash).toBe('2305fbef8e29866b6bc50ca2a810aabb30cbee81b0b1bcf3db68498a88439457');
  });

  it('each hash is SHA-256(prevHash || canonical), computed independently', () => {
    for (const v of vectors) expect(independentHash(v), `entry ${v.seq}`).toBe(v.hash);
  });

  it('sealEntry reproduces every vector, chained from the genesis hash, and the chain verifies', () => {
    let previous: AuditEntry | null = null;
    const verifier = new ChainVerifier();
    for (const v of vectors) {
      const entry: AuditEntry = sealEntry(v.draft, previous, new Date(v.at));
      const { hash, ...unsealed } = entry;
      expect(entry.seq).toBe(v.seq);
      expect(entry.prevHash).toBe(previous ? previous.hash : GENESIS_HASH);
      expect(entry.prevHash).toBe(v.prevHash);
      expect(canonicalJson(unsealed), `canonical text of entry ${v.seq}`).toBe(v.canonical);
      expect(hash, `hash of entry ${v.seq}`).toBe(v.hash);
      expect(verifier.push(entry)).toBe(true);
      previous = entry;
    }
    expect(verifier.verdict()).toMatchObject({ ok: true, entries: vectors.length });
  });
});

describe('identifier masking', () => {
  it('is stable per key and reveals neither the value nor its length', () => {
    const key = new Uint8Array(32).fill(7);
    const masked = maskIdentifier(key, 'phone', '+886912345678');
    expect(masked).toBe(maskIdentifier(key, 'phone', '+886912345678'));
    expect(masked).not.toContain('912345678');
    expect(maskIdentifier(new Uint8Array(32).fill(8), 'phone', '+886912345678')).not.toBe(masked);
    expect(maskIdentifier(key, 'phone', '+1')).toHaveLength(masked.length);
  });
});
