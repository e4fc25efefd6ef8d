/**
 * A minimal protobuf wire-format reader for the tests, written independently of models/onnx/protobuf-writer.ts: it
 * splits a message into its fields so a test can look inside exported bytes (ONNX Runtime for Node does not expose a
 * model's metadata_props). Varints come back as bigint, LEN fields as bytes, I64/I32 as their raw bytes.
 */

export interface WireField {
  readonly field: number;
  readonly wireType: number;
  /** VARINT: the value (unsigned 64-bit); otherwise the field's bytes. */
  readonly value: bigint | Uint8Array;
}

export function readFields(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let at = 0;
  const readVarint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= bytes.length) throw new Error('truncated varint');
      const byte = bytes[at++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  const take = (n: number): Uint8Array => {
    if (at + n > bytes.length) throw new Error('truncated field');
    at += n;
    return bytes.subarray(at - n, at);
  };
  while (at < bytes.length) {
    const tag = Number(readVarint());
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === 0) fields.push({ field, wireType, value: readVarint() });
    else if (wireType === 1) fields.push({ field, wireType, value: take(8) });
    else if (wireType === 2) fields.push({ field, wireType, value: take(Number(readVarint())) });
    else if (wireType === 5) fields.push({ field, wireType, value: take(4) });
    else throw new Error(`unsupported wire type ${wireType}`);
  }
  return fields;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Every value of `field` in `bytes`, as UTF-8 text (for string fields). */
export function strings(bytes: Uint8Array, field: number): string[] {
  return readFields(bytes)
    .filter((f) => f.field === field)
    .map((f) => utf8.decode(f.value as Uint8Array));
}

/** Every value of `field` in `bytes`, as embedded messages. */
export function messages(bytes: Uint8Array, field: number): Uint8Array[] {
  return readFields(bytes)
    .filter((f) => f.field === field)
    .map((f) => f.value as Uint8Array);
}

/** The one varint value of `field` in `bytes`. */
export function varintField(bytes: Uint8Array, field: number): bigint {
  const found = readFields(bytes).filter((f) => f.field === field);
  if (found.length !== 1 || typeof found[0]!.value !== 'bigint')
    throw new Error(`field ${field}: not one varint`);
  return found[0]!.value;
}
