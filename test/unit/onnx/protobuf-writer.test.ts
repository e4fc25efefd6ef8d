/**
 * The protobuf writer against the worked examples of the protobuf encoding guide
 * (https://protobuf.dev/programming-guides/encoding/) and the edges of its integer range.
 */
import { describe, expect, it } from 'vitest';
import { ProtoWriter, varint } from '../../../models/onnx/protobuf-writer.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('ProtoWriter', () => {
  it('writes the guide’s examples: a varint, a string, an embedded message, a packed repeated field', () => {
    expect(hex(new ProtoWriter().int64(1, 150).finish())).toBe('089601');
    expect(hex(new ProtoWriter().string(2, 'testing').finish())).toBe('120774657374696e67');
    const test1 = new ProtoWriter().int64(1, 150).finish();
    expect(hex(new ProtoWriter().bytes(3, test1).finish())).toBe('1a03089601');
    expect(hex(new ProtoWriter().packedInt64s(4, [3, 270, 86942]).finish())).toBe('2206038e029ea705');
  });

  it('writes a negative int64 as ten bytes of two’s complement', () => {
    expect(hex(new ProtoWriter().int64(1, -2).finish())).toBe('08feffffffffffffffff01');
    expect(hex(varint(-1))).toBe('ffffffffffffffffff01');
    expect(hex(varint(-(2n ** 63n)))).toBe('80808080808080808001');
  });

  it('writes packed doubles as little-endian IEEE 754', () => {
    expect(hex(new ProtoWriter().packedDoubles(10, [1, -2.5]).finish())).toBe(
      '5210' + '000000000000f03f' + '00000000000004c0',
    );
  });

  it('writes UTF-8 and field numbers past one byte of tag', () => {
    expect(hex(new ProtoWriter().string(20, 'é').finish())).toBe('a20102c3a9');
    expect(hex(new ProtoWriter().int64(20, 3).finish())).toBe('a00103');
  });

  it('refuses what protobuf cannot carry', () => {
    expect(() => varint(2 ** 53)).toThrow(RangeError);
    expect(() => varint(0.5)).toThrow(RangeError);
    expect(() => varint(2n ** 64n)).toThrow(RangeError);
    expect(() => varint(-(2n ** 63n) - 1n)).toThrow(RangeError);
    expect(() => new ProtoWriter().int64(0, 1)).toThrow(RangeError);
    expect(() => new ProtoWriter().int64(2 ** 29, 1)).toThrow(RangeError);
    expect(hex(varint(2n ** 64n - 1n))).toBe('ffffffffffffffffff01');
  });
});
