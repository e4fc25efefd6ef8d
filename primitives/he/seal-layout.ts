/**
 * SEAL's binary serialization of a ciphertext (and of a public key, which SEAL stores as a ciphertext), as written by
 * node-seal 6.0.3 (SEAL 4.1) with compression 'none'. node-seal has no call that reads or writes polynomial
 * coefficients, so the BFV suite goes through these bytes to flood the noise and to pack ciphertexts compactly.
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

/** The residues of a SEAL serialization of `shape`, as doubles (every prime is below 2^53). */
export function sealResidues(bytes: Uint8Array, shape: SealShape): Float64Array {
  const end = RESIDUES_AT + 8 * shape.residueCount;
  const same = (at: number, expected: Uint8Array) => expected.every((byte, i) => bytes[at + i] === byte);
  if (
    bytes.length !== end + shape.seedHead.length + shape.seedBytes ||
    !same(0, shape.prefix) ||
    !same(end, shape.seedHead)
  )
    throw new Error('a SEAL serialization of another shape');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(shape.residueCount);
  for (let i = 0, at = RESIDUES_AT; i < out.length; i++, at += 8)
    out[i] = view.getUint32(at + 4, true) * 0x1_0000_0000 + view.getUint32(at, true);
  return out;
}

/** The seed of a seeded SEAL serialization (the bytes after its fixed head). */
export function sealSeed(bytes: Uint8Array, shape: SealShape): Uint8Array {
  return bytes.slice(bytes.length - shape.seedBytes);
}

/** A SEAL serialization of `shape` holding `residues` (and `seed` for a seeded shape), for SEAL to load. */
export function sealBytesOf(shape: SealShape, residues: Float64Array, seed?: Uint8Array): Uint8Array {
  if (residues.length !== shape.residueCount) throw new RangeError('residue count does not match the shape');
  if ((seed?.length ?? 0) !== shape.seedBytes) throw new RangeError('seed length does not match the shape');
  const out = new Uint8Array(RESIDUES_AT + 8 * shape.residueCount + shape.seedHead.length + shape.seedBytes);
  out.set(shape.prefix, 0);
  const view = new DataView(out.buffer);
  for (let i = 0, at = RESIDUES_AT; i < residues.length; i++, at += 8) {
    const r = residues[i]!;
    const high = Math.floor(r / 0x1_0000_0000);
    view.setUint32(at, r - high * 0x1_0000_0000, true);
    view.setUint32(at + 4, high, true);
  }
  if (seed) {
    const end = RESIDUES_AT + 8 * shape.residueCount;
    out.set(shape.seedHead, end);
    out.set(seed, end + shape.seedHead.length);
  }
  return out;
}
