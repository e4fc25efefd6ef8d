import { describe, expect, it } from 'vitest';
import { type AuditEntry, ChainVerifier, GENESIS_HASH, sealEntry } from '../../../primitives/audit/chain.js';
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
