/**
 * Canonical byte encodings for everything secure aggregation hashes, derives keys from or signs: a label, then each
 * field in a fixed order as `u32be(length) || bytes` (strings as UTF-8, numbers as u32be). Length prefixes make the
 * encoding injective, so two different field lists never produce the same bytes (no "ab"+"c" = "a"+"bc").
 */
import { createHash } from 'node:crypto';

export type Field = string | number | Uint8Array;

const utf8 = new TextEncoder();

function fieldBytes(field: Field): Uint8Array {
  if (typeof field === 'string') return utf8.encode(field);
  if (typeof field === 'number') {
    if (!Number.isInteger(field) || field < 0 || field > 0xffff_ffff) {
      throw new RangeError('encoded numbers must be integers in [0, 2^32)');
    }
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, field);
    return out;
  }
  if (field instanceof Uint8Array) return field;
  throw new TypeError('fields must be strings, numbers or Uint8Array');
}

/** label || (u32be(len) || bytes) for each field. */
export function encodeFields(label: string, fields: readonly Field[]): Uint8Array {
  const parts = [label, ...fields].map(fieldBytes);
  const total = parts.reduce((sum, p) => sum + 4 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** SHA-256 of `encodeFields(label, fields)`. */
export function hashFields(label: string, fields: readonly Field[]): Uint8Array {
  return new Uint8Array(createHash('sha256').update(encodeFields(label, fields)).digest());
}

/** Throws TypeError unless `value` is a Uint8Array of exactly `length` bytes (noble's `abytes`). */
export function checkBytes(value: unknown, length: number, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (value.length !== length) throw new RangeError(`${what} must be ${length} bytes, got ${value.length}`);
}

/** Constant-time equality of two byte arrays of public length. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
