/**
 * A minimal protobuf wire-format writer: exactly what the ONNX encoders (onnx-proto.ts) need, nothing more.
 * Wire format: https://protobuf.dev/programming-guides/encoding/
 *
 *   tag                = varint(field_number << 3 | wire_type)
 *   VARINT (type 0)    = base-128 little-endian groups, high bit = "more"; a negative int64 is its 64-bit two's
 *                        complement, so it always takes ten bytes
 *   I64    (type 1)    = eight bytes little-endian (a double as its IEEE 754 bits); used here only inside packed
 *                        repeated doubles, which carry no per-value tag
 *   LEN    (type 2)    = varint(byte length) then the bytes: strings (UTF-8), bytes, embedded messages, packed
 *                        repeated scalars (the values back to back, without tags)
 *
 * Why by hand: ONNX's schema is small and stable, and a hundred lines keep models/ pure and free of a protobuf
 * dependency.
 * Fields come out in the order the caller writes them, so equal inputs give identical bytes (the known-bytes vector in
 * test/vectors/onnx relies on it). Throws a RangeError for a field number or integer protobuf cannot carry.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

const MAX_FIELD_NUMBER = 2 ** 29 - 1;
const utf8 = new TextEncoder();

/** Appends fields to one message; `finish()` returns its bytes. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  /** An int32/int64/enum field holding `value` (a safe integer or a bigint in the int64 range). */
  int64(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.push(varint(value));
    return this;
  }

  /** A bytes field, or an embedded message already encoded. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.push(varint(value.length));
    this.push(value);
    return this;
  }

  /** A string field, UTF-8 encoded. */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** A `[packed = true]` repeated double field: one LEN record of 8-byte little-endian values. */
  packedDoubles(field: number, values: ArrayLike<number>): this {
    return this.bytes(field, doublesLE(values));
  }

  /** A `[packed = true]` repeated int64 field: one LEN record of varints. */
  packedInt64s(field: number, values: readonly (number | bigint)[]): this {
    return this.bytes(field, concat(values.map(varint)));
  }

  /** The message so far. */
  finish(): Uint8Array {
    return concat(this.chunks, this.length);
  }

  private tag(field: number, wireType: number): void {
    if (!Number.isInteger(field) || field < 1 || field > MAX_FIELD_NUMBER) {
      throw new RangeError(`protobuf field number out of range: ${field}`);
    }
    this.push(varint(field * 8 + wireType));
  }

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** The varint of an integer in [-2^63, 2^64): negative values as their 64-bit two's complement (ten bytes). */
export function varint(value: number | bigint): Uint8Array {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`not a safe integer: ${value}`);
  }
  const big = BigInt(value);
  if (big < INT64_MIN || big > UINT64_MAX) throw new RangeError(`outside the 64-bit range: ${big}`);
  let rest = BigInt.asUintN(64, big);
  const out: number[] = [];
  while (rest >= 0x80n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return Uint8Array.from(out);
}

function doublesLE(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i]!, true);
  return out;
}

function concat(parts: readonly Uint8Array[], total = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
