import { describe, expect, it } from 'vitest';
import { AccordError } from '../../../primitives/errors/index.js';
import { ID_KINDS, type IdKind, isIdKind, normaliseId } from '../../../primitives/identity/normalise.js';
import vectors from '../../vectors/identity/normalise.json' with { type: 'json' };

describe('normaliseId', () => {
  it.each(vectors.valid)('$kind: $raw', ({ kind, raw, expected }) => {
    expect(normaliseId(kind as IdKind, raw)).toBe(expected);
    // Idempotent: a canonical value is its own canonical form, so re-normalising on either side is harmless.
    expect(normaliseId(kind as IdKind, expected)).toBe(expected);
  });

  it.each(vectors.invalid)('$kind rejects: $reasonIncludes', ({ kind, raw, reasonIncludes }) => {
    let caught: unknown;
    try {
      normaliseId(kind as IdKind, raw);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AccordError);
    const err = caught as AccordError;
    expect(err.code).toBe('ACCORD_ID_INVALID');
    expect(err.params.kind).toBe(kind);
    expect(String(err.params.reason)).toContain(reasonIncludes);
    const trimmed = raw.trim();
    if (trimmed.length >= 3) {
      expect(JSON.stringify(err.toJSON())).not.toContain(trimmed);
    }
  });

  it('says that a phone number needs an international prefix', () => {
    try {
      normaliseId('phone', '07700 900123');
      expect.unreachable();
    } catch (err) {
      expect((err as AccordError).hint).toMatch(/international prefix/);
    }
  });

  it('rejects unknown kinds with their own code', () => {
    expect(() => normaliseId('passport' as IdKind, 'X')).toThrow(
      expect.objectContaining({ code: 'ACCORD_ID_KIND_UNKNOWN' }),
    );
  });

  it('isIdKind accepts exactly ID_KINDS', () => {
    for (const k of ID_KINDS) expect(isIdKind(k)).toBe(true);
    for (const k of ['', 'Phone', 'iban', 42, null]) expect(isIdKind(k)).toBe(false);
  });
});
