/**
 * The byte layout of what the cipher suites put on the wire: ciphertexts and public keys. Every object opens with a
 * 40-byte header
 *
 *   0  'ACHE'            magic
 *   4  u8 version        WIRE_FORMAT_VERSION
 *   5  u8 suite          1 bfv, 2 plain
 *   6  u8 object         1 ciphertext, 2 public key
 *   7  u8 level          BFV: the SEAL chain index of the modulus level (0 for plain)
 *   8  32 bytes          the suite's parameter id (the SHA-256 its `parameterId` is the hex of)
 *
 * and the suite's body follows (`bfv.ts`, `plain.ts`). The header lets a suite refuse another suite's object, another
 * parameter set's or another level's before it parses anything else, and lets anyone see which parameter set a
 * ciphertext claims (`ciphertextParameterId`).
 *
 * BFV bodies carry polynomials with each residue packed in exactly the bit length of its prime (`packResidues`),
 * least significant bit first: 43 or 44 bits instead of a 64-bit word. That is smaller than SEAL's zstd output
 * (uniform residues do not compress), has a length fixed by the level alone, and means no untrusted byte reaches
 * SEAL's own deserializer unchecked (a truncated SEAL stream aborts the WebAssembly module instead of throwing).
 */
import { AccordError } from '../errors/index.js';
import { type CipherKind, UNKNOWN_SENDER } from './cipher.js';
import { WIRE_FORMAT_VERSION } from './parameters.js';

export const WIRE_HEADER_BYTES = 40;
const MAGIC = [0x41, 0x43, 0x48, 0x45];
const PARAMETER_ID_AT = 8;
const PARAMETER_ID_BYTES = 32;

const SUITE_CODES: Record<CipherKind, number> = { bfv: 1, plain: 2 };
export type WireObject = 'ciphertext' | 'publicKey';
const OBJECT_CODES: Record<WireObject, number> = { ciphertext: 1, publicKey: 2 };

export interface WireHeader {
  readonly kind: CipherKind;
  readonly object: WireObject;
  readonly level: number;
  /** Hex, 64 digits. */
  readonly parameterId: string;
}

function parameterIdBytes(parameterId: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(parameterId)) throw new RangeError('a parameter id is 64 lowercase hex digits');
  return Uint8Array.from(parameterId.match(/../g)!, (byte) => Number.parseInt(byte, 16));
}

/** A new object of `bodyBytes` body bytes with its header written; the body is at WIRE_HEADER_BYTES. */
export function newWireObject(header: WireHeader, bodyBytes: number): Uint8Array {
  const out = new Uint8Array(WIRE_HEADER_BYTES + bodyBytes);
  out.set(MAGIC, 0);
  out[4] = WIRE_FORMAT_VERSION;
  out[5] = SUITE_CODES[header.kind];
  out[6] = OBJECT_CODES[header.object];
  out[7] = header.level;
  out.set(parameterIdBytes(header.parameterId), PARAMETER_ID_AT);
  return out;
}

/** True when `bytes` opens with the magic of an Accord HE object (whatever its suite, version or content). */
export function hasWireMagic(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((byte, i) => bytes[i] === byte);
}

/**
 * Checks the header of `bytes` against what the caller expects (suite, object, parameter id, one of `levels`) and
 * returns the level; `refuse(reason)` is called with a reason naming the first mismatch.
 */
export function checkWireHeader(
  bytes: Uint8Array,
  expect: { kind: CipherKind; object: WireObject; parameterId: string; levels: readonly number[] },
  refuse: (reason: string) => never,
): number {
  if (!(bytes instanceof Uint8Array)) return refuse('it is not a byte array');
  if (bytes.length < WIRE_HEADER_BYTES) return refuse(`it has ${bytes.length} bytes, less than a header`);
  if (!hasWireMagic(bytes)) return refuse('it has no Accord HE header');
  if (bytes[4] !== WIRE_FORMAT_VERSION) return refuse(`it has wire format version ${bytes[4]}`);
  const kind = (Object.keys(SUITE_CODES) as CipherKind[]).find((k) => SUITE_CODES[k] === bytes[5]);
  if (kind === undefined) return refuse('it names an unknown suite');
  if (kind !== expect.kind) return refuse(`it is a ${kind} object, not ${expect.kind}`);
  if (bytes[6] !== OBJECT_CODES[expect.object])
    return refuse(`it is not a ${expect.object === 'ciphertext' ? 'ciphertext' : 'public key'}`);
  if (readParameterId(bytes) !== expect.parameterId)
    return refuse('it was made under other encryption parameters');
  const level = bytes[7]!;
  if (!expect.levels.includes(level))
    return refuse(`it is at modulus level ${level}, which is not accepted here`);
  return level;
}

function readParameterId(bytes: Uint8Array): string {
  let hex = '';
  for (let i = PARAMETER_ID_AT; i < PARAMETER_ID_AT + PARAMETER_ID_BYTES; i++)
    hex += bytes[i]!.toString(16).padStart(2, '0');
  return hex;
}

/**
 * The parameter id a ciphertext of either suite names in its header (what it claims, not a check that its body is
 * valid). Throws ACCORD_HE_CIPHERTEXT_INVALID when the bytes are not an Accord HE ciphertext of this wire version.
 */
export function ciphertextParameterId(bytes: Uint8Array): string {
  const refuse = (reason: string): never => {
    throw new AccordError('ACCORD_HE_CIPHERTEXT_INVALID', { from: UNKNOWN_SENDER, reason });
  };
  if (!(bytes instanceof Uint8Array) || bytes.length < WIRE_HEADER_BYTES || !hasWireMagic(bytes))
    return refuse('it has no Accord HE header');
  if (bytes[4] !== WIRE_FORMAT_VERSION) return refuse(`it has wire format version ${bytes[4]}`);
  if (bytes[6] !== OBJECT_CODES.ciphertext) return refuse('it is not a ciphertext');
  return readParameterId(bytes);
}

/** Largest residue width packResidues handles: a residue is split into a low part of 24 bits and a high part. */
export const MAX_RESIDUE_BITS = 45;
/** The split point: a part and the bits pending in a 32-bit word fit 32 bits, and every shift stays in [0, 31]. */
const LOW_BITS = 24;
const LOW = 2 ** LOW_BITS;

function checkWidth(count: number, bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > MAX_RESIDUE_BITS || (count * bits) % 8 !== 0)
    throw new RangeError('bad residue width');
}

/*
 * The packing loops move whole little-endian 32-bit words: a residue is written as two parts, its low
 * min(bits, 24) bits and the rest (at most 21 bits), each into the word being filled, and a full word goes out
 * (reading is the mirror image). The bytes are exactly those of a bit stream written least significant bit first.
 * count × bits is a multiple of 8, not always of 32: the last word may be partial, and is moved byte by byte.
 */

/**
 * Writes residues[from .. from + count) at `bits` bits each into out[at ..], least significant bit first, and
 * returns the offset after them. count × bits must be a multiple of 8 (it is: count is N = 8192). Residues are
 * doubles holding integers below 2^bits.
 */
export function packResidues(
  residues: Float64Array,
  from: number,
  count: number,
  bits: number,
  out: Uint8Array,
  at: number,
): number {
  checkWidth(count, bits);
  const end = at + (count * bits) / 8;
  if (at < 0 || end > out.length) throw new RangeError('the residues do not fit');
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const lowBits = Math.min(bits, LOW_BITS);
  const highBits = bits - lowBits;
  let word = 0;
  let wordBits = 0;
  let o = at;
  for (let i = from; i < from + count; i++) {
    const r = residues[i]!;
    const high = Math.floor(r / LOW);
    const low = r - high * LOW;
    word |= low << wordBits;
    wordBits += lowBits;
    if (wordBits >= 32) {
      view.setUint32(o, word, true);
      o += 4;
      wordBits -= 32;
      word = low >>> (lowBits - wordBits);
    }
    if (highBits > 0) {
      word |= high << wordBits;
      wordBits += highBits;
      if (wordBits >= 32) {
        view.setUint32(o, word, true);
        o += 4;
        wordBits -= 32;
        word = high >>> (highBits - wordBits);
      }
    }
  }
  for (; wordBits > 0; wordBits -= 8, word >>>= 8) out[o++] = word & 0xff;
  return o;
}

/** Reads the bit stream of `unpackResidues`: `take(n)` returns the next n ≤ 24 bits. */
class BitReader {
  #view: DataView;
  #bytes: Uint8Array;
  #at: number;
  readonly #end: number;
  #word = 0;
  #wordBits = 0;

  constructor(bytes: Uint8Array, at: number, end: number) {
    if (at < 0 || end > bytes.length) throw new RangeError('the residues are not all there');
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#at = at;
    this.#end = end;
  }

  take(n: number): number {
    if (this.#wordBits >= n) {
      const value = this.#word & ((1 << n) - 1);
      this.#word >>>= n;
      this.#wordBits -= n;
      return value;
    }
    const next = this.#next();
    const value = (this.#word | (next << this.#wordBits)) & ((1 << n) - 1);
    this.#word = next >>> (n - this.#wordBits);
    this.#wordBits += 32 - n;
    return value;
  }

  #next(): number {
    const at = this.#at;
    if (at + 4 <= this.#end) {
      this.#at = at + 4;
      return this.#view.getUint32(at, true);
    }
    // The partial last word.
    let word = 0;
    for (let k = 0; at + k < this.#end; k++) word |= this.#bytes[at + k]! << (8 * k);
    this.#at = this.#end;
    return word;
  }
}

/**
 * Reads `count` residues of `bits` bits from bytes[at ..] into residues[from ..]; returns the offset after them, or
 * -1 when a residue is not below `modulus` (the bytes are not a polynomial modulo that prime).
 */
export function unpackResidues(
  bytes: Uint8Array,
  at: number,
  count: number,
  bits: number,
  modulus: number,
  residues: Float64Array,
  from: number,
): number {
  checkWidth(count, bits);
  const end = at + (count * bits) / 8;
  const reader = new BitReader(bytes, at, end);
  const lowBits = Math.min(bits, LOW_BITS);
  const highBits = bits - lowBits;
  for (let i = from; i < from + count; i++) {
    const low = reader.take(lowBits);
    const r = highBits > 0 ? reader.take(highBits) * LOW + low : low;
    if (r >= modulus) return -1;
    residues[i] = r;
  }
  return end;
}

/**
 * `unpackResidues` writing 32-bit words as SEAL stores a u64, for `SealWriter` (`seal-layout.ts`): residue i into
 * words[2i] (low) and words[2i + 1] (high). Same return value.
 */
export function unpackResidueWords(
  bytes: Uint8Array,
  at: number,
  count: number,
  bits: number,
  modulus: number,
  words: Uint32Array,
  from: number,
): number {
  checkWidth(count, bits);
  const end = at + (count * bits) / 8;
  const reader = new BitReader(bytes, at, end);
  const lowBits = Math.min(bits, LOW_BITS);
  const highBits = bits - lowBits;
  for (let i = from; i < from + count; i++) {
    const low = reader.take(lowBits);
    const high = highBits > 0 ? reader.take(highBits) : 0;
    if (high * LOW + low >= modulus) return -1;
    words[2 * i] = (low | (high << LOW_BITS)) >>> 0;
    words[2 * i + 1] = high >>> (32 - LOW_BITS);
  }
  return end;
}
