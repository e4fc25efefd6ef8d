/**
 * SEAL's binary serialization of a ciphertext (and of a public key, which SEAL stores as a ciphertext), as written by
 * node-seal 6.0.3 (SEAL 4.1) with compression 'none'. node-seal has no call that reads or writes polynomial
 * coefficients, so the BFV suite goes through these bytes to flood the noise, to pack ciphertexts compactly and to do
 * the arithmetic it does outside SEAL (plaintexts: at the end of this file).
 * Layout, little endian, checked against the live library by `sealShapeOf` (it throws if a node-seal upgrade moves
 * anything):
 *
 *     0  SEALHeader       u16 magic 0xA15E, u8 header size 16, u8 version major, u8 minor, u8 compression (0 none),
 *                         u16 reserved, u64 total size in bytes
 *    16  parms_id         4 × u64: SEAL's hash of the parameters at the ciphertext's modulus level
 *    48  is_ntt_form      u8 (0 for BFV ciphertexts, 1 for the public key)
 *    49  size             u64: polynomials in the ciphertext (2)
 *    57  degree           u64: N
 *    65  limbs            u64: RNS primes at this level
 *    73  scale            f64 (1, unused by BFV)
 *    81  correction       u64 (1, unused by BFV; SEAL 4.x)
 *    89  SEALHeader       of the data array (size = 24 + 8 × count)
 *   105  count            u64: residues stored
 *   113  residues         count × u64, ordered [polynomial][prime][coefficient]: residue j of prime i of polynomial p
 *                         at 113 + 8 × ((p × limbs + i) × N + j)
 *
 * A seeded object (the public key from `createPublicKeySerializable`) stores only polynomial 0 (count = limbs × N) and
 * is followed by 81 bytes: a SEALHeader, a u8 generator type and the 64-byte seed from which SEAL expands
 * polynomial 1 on load.
 */

const SEAL_MAGIC = 0xa15e;
// SEAL writes little endian, and this file reads and writes words through typed arrays, in the platform's order.
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1)
  throw new Error(
    'the BFV suite reads SEAL bytes as little-endian words: big-endian platforms are not supported',
  );
const HEADER_BYTES = 16;
const COMPRESSION_NONE = 0;
const PARMS_ID_AT = 16;
const NTT_AT = 48;
const SIZE_AT = 49;
const DEGREE_AT = 57;
const LIMBS_AT = 65;
const SCALE_AT = 73;
const CORRECTION_AT = 81;
const DATA_HEADER_AT = 89;
const COUNT_AT = 105;
const RESIDUES_AT = 113;
/** The fixed part of a seed block: its SEALHeader and the generator type byte. */
const SEED_HEAD_BYTES = HEADER_BYTES + 1;
const SEED_BLOCK_BYTES = SEED_HEAD_BYTES + 64;

/** What the BFV suite expects an object of one kind to look like. */
export interface SealShapeSpec {
  readonly degree: number;
  readonly limbs: number;
  readonly parmsId: BigUint64Array;
  readonly ntt: boolean;
  /** Seeded: only polynomial 0 is stored, followed by the seed block. */
  readonly seeded: boolean;
}

/** The bytes of one kind of object that do not depend on its contents, taken from one SEAL wrote. */
export interface SealShape extends SealShapeSpec {
  /** Every byte before the residues. */
  readonly prefix: Uint8Array;
  /** Residues stored: polynomials stored × limbs × degree. */
  readonly residueCount: number;
  /** Seeded objects: the fixed head of the seed block (header and generator type), else empty. */
  readonly seedHead: Uint8Array;
  /** Seeded objects: bytes of the seed itself, else 0. */
  readonly seedBytes: number;
}

function checkSealHeader(view: DataView, at: number, size: number, what: string): void {
  if (view.getUint16(at, true) !== SEAL_MAGIC || view.getUint8(at + 2) !== HEADER_BYTES)
    throw new Error(`SEAL layout changed: no SEALHeader at ${what}`);
  if (view.getUint8(at + 5) !== COMPRESSION_NONE)
    throw new Error(`SEAL layout changed: ${what} is compressed`);
  if (view.getBigUint64(at + 8, true) !== BigInt(size))
    throw new Error(`SEAL layout changed: the size in the header of ${what} is not ${size}`);
}

/**
 * The shape of `bytes` (a SEAL serialization with compression 'none' of an object made by this library), after
 * checking every field against `spec`. Throws a plain Error when the layout is not the one documented above.
 */
export function sealShapeOf(bytes: Uint8Array, spec: SealShapeSpec): SealShape {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkSealHeader(view, 0, bytes.length, 'the object');
  for (let i = 0; i < 4; i++)
    if (view.getBigUint64(PARMS_ID_AT + 8 * i, true) !== spec.parmsId[i])
      throw new Error('SEAL layout changed: parms_id is not where expected');
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  if (view.getUint8(NTT_AT) !== (spec.ntt ? 1 : 0)) throw new Error('SEAL layout changed: is_ntt_form');
  if (u64(SIZE_AT) !== 2) throw new Error('SEAL layout changed: ciphertext size');
  if (u64(DEGREE_AT) !== spec.degree) throw new Error('SEAL layout changed: poly_modulus_degree');
  if (u64(LIMBS_AT) !== spec.limbs) throw new Error('SEAL layout changed: coeff_modulus_size');
  if (view.getFloat64(SCALE_AT, true) !== 1 || u64(CORRECTION_AT) !== 1)
    throw new Error('SEAL layout changed: scale or correction factor');
  const residueCount = (spec.seeded ? 1 : 2) * spec.limbs * spec.degree;
  checkSealHeader(view, DATA_HEADER_AT, 24 + 8 * residueCount, 'the data array');
  if (u64(COUNT_AT) !== residueCount) throw new Error('SEAL layout changed: residue count');
  const end = RESIDUES_AT + 8 * residueCount;
  if (bytes.length !== end + (spec.seeded ? SEED_BLOCK_BYTES : 0))
    throw new Error('SEAL layout changed: unexpected length');
  if (spec.seeded) checkSealHeader(view, end, SEED_BLOCK_BYTES, 'the seed');
  return {
    ...spec,
    prefix: bytes.slice(0, RESIDUES_AT),
    residueCount,
    seedHead: spec.seeded ? bytes.slice(end, end + SEED_HEAD_BYTES) : new Uint8Array(0),
    seedBytes: spec.seeded ? SEED_BLOCK_BYTES - SEED_HEAD_BYTES : 0,
  };
}

/** Scratch for `sealResidues`: the residues as 32-bit words, copied to an aligned buffer. */
let scratchWords = new Uint32Array(0);

/**
 * The residues of a SEAL serialization of `shape`, as doubles (every prime is below 2^53), into `out` (a new array
 * when not given).
 */
export function sealResidues(
  bytes: Uint8Array,
  shape: SealShape,
  out: Float64Array = new Float64Array(shape.residueCount),
): Float64Array {
  const end = RESIDUES_AT + 8 * shape.residueCount;
  if (
    bytes.length !== end + shape.seedHead.length + shape.seedBytes ||
    !sameBytes(bytes, 0, shape.prefix) ||
    !sameBytes(bytes, end, shape.seedHead)
  )
    throw new Error('a SEAL serialization of another shape');
  if (out.length !== shape.residueCount) throw new RangeError('residue count does not match the shape');
  // The residues start at an odd offset: copy them to an aligned buffer to read them as 32-bit words.
  if (scratchWords.length < 2 * shape.residueCount) scratchWords = new Uint32Array(2 * shape.residueCount);
  const words = scratchWords;
  new Uint8Array(words.buffer, 0, 8 * shape.residueCount).set(bytes.subarray(RESIDUES_AT, end));
  for (let i = 0; i < out.length; i++) out[i] = words[2 * i + 1]! * 0x1_0000_0000 + words[2 * i]!;
  return out;
}

function sameBytes(bytes: Uint8Array, at: number, expected: Uint8Array): boolean {
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

/** The seed of a seeded SEAL serialization (the bytes after its fixed head). */
export function sealSeed(bytes: Uint8Array, shape: SealShape): Uint8Array {
  return bytes.slice(bytes.length - shape.seedBytes);
}

/**
 * Writes SEAL serializations of one unseeded shape, reusing one buffer: fill `words` (residue i as words 2i, low,
 * and 2i + 1, high), then `bytes()` is the serialization, valid until the next call.
 */
export class SealWriter {
  readonly words: Uint32Array;
  readonly #bytes: Uint8Array;
  readonly #wordBytes: Uint8Array;

  constructor(shape: SealShape) {
    if (shape.seeded) throw new RangeError('SealWriter writes unseeded shapes');
    this.words = new Uint32Array(2 * shape.residueCount);
    this.#wordBytes = new Uint8Array(this.words.buffer);
    this.#bytes = new Uint8Array(RESIDUES_AT + 8 * shape.residueCount);
    this.#bytes.set(shape.prefix, 0);
  }

  bytes(): Uint8Array {
    this.#bytes.set(this.#wordBytes, RESIDUES_AT);
    return this.#bytes;
  }
}

/** A SEAL serialization of `shape` holding `residues` (and `seed` for a seeded shape), for SEAL to load. */
export function sealBytesOf(shape: SealShape, residues: Float64Array, seed?: Uint8Array): Uint8Array {
  if (residues.length !== shape.residueCount) throw new RangeError('residue count does not match the shape');
  if ((seed?.length ?? 0) !== shape.seedBytes) throw new RangeError('seed length does not match the shape');
  const words = new Uint32Array(2 * residues.length);
  for (let i = 0; i < residues.length; i++) {
    const r = residues[i]!;
    const high = Math.floor(r / 0x1_0000_0000);
    words[2 * i] = r - high * 0x1_0000_0000;
    words[2 * i + 1] = high;
  }
  const end = RESIDUES_AT + 8 * shape.residueCount;
  const out = new Uint8Array(end + shape.seedHead.length + shape.seedBytes);
  out.set(shape.prefix, 0);
  out.set(new Uint8Array(words.buffer), RESIDUES_AT);
  if (seed) {
    out.set(shape.seedHead, end);
    out.set(seed, end + shape.seedHead.length);
  }
  return out;
}

/**
 * The bytes of polynomial `poly` of a SEAL serialization of an unseeded `shape` (limbs × degree u64 residues, little
 * endian), as a view on `bytes`.
 */
export function sealPolynomialBytes(bytes: Uint8Array, shape: SealShape, poly: number): Uint8Array {
  const end = RESIDUES_AT + 8 * shape.residueCount;
  if (poly !== 0 && poly !== 1) throw new RangeError('a ciphertext has polynomials 0 and 1');
  if (shape.seeded || bytes.length !== end || !sameBytes(bytes, 0, shape.prefix))
    throw new Error('a SEAL serialization of another shape');
  const polyBytes = 8 * shape.limbs * shape.degree;
  return bytes.subarray(RESIDUES_AT + poly * polyBytes, RESIDUES_AT + (poly + 1) * polyBytes);
}

/**
 * SEAL's serialization of a plaintext (BFV), compression 'none', as node-seal 6.0.3 writes it:
 *
 *     0  SEALHeader       (as above), total size
 *    16  parms_id         4 × u64: zero for a plaintext not in NTT form (it belongs to no level), else its level's
 *    48  coeff_count      u64: N (the batch encoder always writes N coefficients), limbs × N in NTT form
 *    56  scale            f64 (1, unused by BFV)
 *    64  SEALHeader       of the data array (size = 24 + 8 × coeff_count)
 *    80  count            u64: coeff_count
 *    88  coefficients     coeff_count × u64: below t; in NTT form, [prime][coefficient], each below its prime
 *
 * The BFV suite reads the batch encoder's output this way (`scaling.ts`), and writes NTT-form plaintexts whose NTT
 * SEAL computed as part of a ciphertext (`bfv.ts`).
 */
const PLAIN_COEFF_COUNT_AT = 48;
const PLAIN_SCALE_AT = 56;
const PLAIN_DATA_HEADER_AT = 64;
const PLAIN_COUNT_AT = 80;
const PLAIN_COEFFS_AT = 88;

/** The bytes before the coefficients of one kind of plaintext, checked field by field from one SEAL wrote. */
export interface SealPlainShape {
  readonly coeffCount: number;
  readonly prefix: Uint8Array;
}

/** The shape of a plaintext SEAL wrote: `coeffCount` coefficients, at the level of `parmsId` (NTT form) or none. */
export function sealPlainShapeOf(
  bytes: Uint8Array,
  spec: { coeffCount: number; parmsId?: BigUint64Array },
): SealPlainShape {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkSealHeader(view, 0, bytes.length, 'the plaintext');
  for (let i = 0; i < 4; i++)
    if (view.getBigUint64(PARMS_ID_AT + 8 * i, true) !== (spec.parmsId?.[i] ?? 0n))
      throw new Error('SEAL layout changed: plaintext parms_id');
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  if (u64(PLAIN_COEFF_COUNT_AT) !== spec.coeffCount)
    throw new Error('SEAL layout changed: plaintext coeff_count');
  if (view.getFloat64(PLAIN_SCALE_AT, true) !== 1) throw new Error('SEAL layout changed: plaintext scale');
  checkSealHeader(view, PLAIN_DATA_HEADER_AT, 24 + 8 * spec.coeffCount, 'the plaintext data');
  if (u64(PLAIN_COUNT_AT) !== spec.coeffCount)
    throw new Error('SEAL layout changed: plaintext coefficient count');
  if (bytes.length !== PLAIN_COEFFS_AT + 8 * spec.coeffCount)
    throw new Error('SEAL layout changed: plaintext length');
  return { coeffCount: spec.coeffCount, prefix: bytes.slice(0, PLAIN_COEFFS_AT) };
}

/** The coefficients of a SEAL plaintext serialization of `shape` (a view on `bytes` when it is aligned). */
export function sealPlainCoefficients(bytes: Uint8Array, shape: SealPlainShape): BigUint64Array {
  if (bytes.length !== PLAIN_COEFFS_AT + 8 * shape.coeffCount || !sameBytes(bytes, 0, shape.prefix))
    throw new Error('a SEAL plaintext serialization of another shape');
  const at = bytes.byteOffset + PLAIN_COEFFS_AT;
  if (at % 8 === 0) return new BigUint64Array(bytes.buffer, at, shape.coeffCount);
  const copy = new BigUint64Array(shape.coeffCount);
  new Uint8Array(copy.buffer).set(bytes.subarray(PLAIN_COEFFS_AT));
  return copy;
}

/** Writes SEAL plaintext serializations of one shape, reusing one buffer (valid until the next call). */
export class SealPlainWriter {
  readonly #bytes: Uint8Array;

  constructor(shape: SealPlainShape) {
    this.#bytes = new Uint8Array(PLAIN_COEFFS_AT + 8 * shape.coeffCount);
    this.#bytes.set(shape.prefix, 0);
  }

  /** The serialization with the coefficients `coefficients` (coeff_count u64, little endian). */
  bytes(coefficients: Uint8Array): Uint8Array {
    if (coefficients.length !== this.#bytes.length - PLAIN_COEFFS_AT)
      throw new RangeError('coefficient bytes of another length');
    this.#bytes.set(coefficients, PLAIN_COEFFS_AT);
    return this.#bytes;
  }
}
