/**
 * The byte layout of the histogram suite's objects (`histogram.ts`). Every object opens with a 40-byte header
 *
 *   0  'ACHG'            magic (Accord HE histogram; the cipher suites' objects open with 'ACHE', `wire.ts`)
 *   4  u8 version        HISTOGRAM_WIRE_VERSION
 *   5  u8 object         1 public key, 2 gradient block, 3 histogram
 *   6  u16               0
 *   8  32 bytes          the suite's parameter id (the SHA-256 its `parameterId` is the hex of)
 *
 * and a body of polynomials, each residue packed in exactly the bit length of its prime (`packResidues`), limb by
 * limb, followed for seeded objects by SEAL's 64-byte seed of the second polynomial:
 *
 *   public key       c0 at the key level (every prime), seed                           180 328 bytes
 *   gradient block   c0 at the data level, seed (a seeded symmetric encryption)       135 272 bytes
 *   histogram        c0 at the 32 target coefficients only, then c1 in full          135 736 bytes
 *
 * (sizes for the default parameters: 44-bit primes). Readers check the header, the exact length and that every
 * residue is below its prime, and refuse a histogram whose c1 is zero (transparent), before anything reaches SEAL,
 * whose loader can abort the WebAssembly module on a malformed stream instead of throwing.
 */
import { POLY_MODULUS_DEGREE } from './parameters.js';
import { packResidues, unpackResidues } from './wire.js';

export const HISTOGRAM_WIRE_VERSION = 1;
export const HISTOGRAM_HEADER_BYTES = 40;
const MAGIC = [0x41, 0x43, 0x48, 0x47];
const PARAMETER_ID_AT = 8;
const PARAMETER_ID_BYTES = 32;
/** SEAL's seeds (of the uniform polynomial c1) are 64 bytes. */
export const SEED_BYTES = 64;

export const HISTOGRAM_OBJECTS = { publicKey: 1, block: 2, histogram: 3 } as const;
export type HistogramObject = keyof typeof HISTOGRAM_OBJECTS;
const OBJECT_NAMES: Record<HistogramObject, string> = {
  publicKey: 'a histogram public key',
  block: 'a gradient block',
  histogram: 'a histogram',
};

/** The primes of one level, as the packing needs them. */
export interface PackedLevel {
  readonly bits: readonly number[];
  readonly moduliNumbers: readonly number[];
}

/** How an object's body is laid out: `polys` polynomials of `coefficients` residues per limb each, then a seed. */
interface BodyLayout {
  readonly parts: readonly { readonly coefficients: number }[];
  readonly seeded: boolean;
}

const LAYOUTS: Record<HistogramObject, (targets: number) => BodyLayout> = {
  publicKey: () => ({ parts: [{ coefficients: POLY_MODULUS_DEGREE }], seeded: true }),
  block: () => ({ parts: [{ coefficients: POLY_MODULUS_DEGREE }], seeded: true }),
  histogram: (targets) => ({
    parts: [{ coefficients: targets }, { coefficients: POLY_MODULUS_DEGREE }],
    seeded: false,
  }),
};

function bodyBytes(layout: BodyLayout, level: PackedLevel): number {
  const limbBits = level.bits.reduce((a, b) => a + b, 0);
  const residues = layout.parts.reduce((sum, part) => sum + (part.coefficients * limbBits) / 8, 0);
  return residues + (layout.seeded ? SEED_BYTES : 0);
}

/** Bytes of an object of kind `object` (targets: coefficients of c0 a histogram carries). */
export function histogramWireBytes(object: HistogramObject, level: PackedLevel, targets: number): number {
  return HISTOGRAM_HEADER_BYTES + bodyBytes(LAYOUTS[object](targets), level);
}

function parameterIdBytes(parameterId: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(parameterId)) throw new RangeError('a parameter id is 64 lowercase hex digits');
  return Uint8Array.from(parameterId.match(/../g)!, (byte) => Number.parseInt(byte, 16));
}

/**
 * An object of kind `object`: its parts' residues (each laid out [limb][coefficient], as SEAL stores a polynomial)
 * packed, then `seed` for seeded kinds.
 */
export function writeHistogramObject(
  object: HistogramObject,
  parameterId: string,
  level: PackedLevel,
  parts: readonly Float64Array[],
  seed?: Uint8Array,
  targets = 0,
): Uint8Array {
  const layout = LAYOUTS[object](targets);
  if (parts.length !== layout.parts.length || (seed?.length ?? 0) !== (layout.seeded ? SEED_BYTES : 0))
    throw new RangeError(`${OBJECT_NAMES[object]} has other parts`);
  const out = new Uint8Array(histogramWireBytes(object, level, targets));
  out.set(MAGIC, 0);
  out[4] = HISTOGRAM_WIRE_VERSION;
  out[5] = HISTOGRAM_OBJECTS[object];
  out.set(parameterIdBytes(parameterId), PARAMETER_ID_AT);
  let at = HISTOGRAM_HEADER_BYTES;
  layout.parts.forEach(({ coefficients }, p) => {
    const residues = parts[p]!;
    if (residues.length !== level.bits.length * coefficients)
      throw new RangeError('residues of another size');
    for (let i = 0; i < level.bits.length; i++)
      at = packResidues(residues, i * coefficients, coefficients, level.bits[i]!, out, at);
  });
  if (seed) out.set(seed, at);
  return out;
}

/**
 * The parts and seed of an object of kind `object`, after checking its header (magic, version, kind, parameter id),
 * its exact length and that every residue is below its prime; `refuse(reason)` is called at the first failure.
 * The seed is a view on `bytes`.
 */
export function readHistogramObject(
  bytes: Uint8Array,
  object: HistogramObject,
  parameterId: string,
  level: PackedLevel,
  refuse: (reason: string) => never,
  targets = 0,
): { parts: Float64Array[]; seed: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) return refuse('it is not a byte array');
  if (bytes.length < HISTOGRAM_HEADER_BYTES)
    return refuse(`it has ${bytes.length} bytes, less than a header`);
  if (!MAGIC.every((byte, i) => bytes[i] === byte)) return refuse('it has no Accord HE histogram header');
  if (bytes[4] !== HISTOGRAM_WIRE_VERSION) return refuse(`it has wire format version ${bytes[4]}`);
  if (bytes[5] !== HISTOGRAM_OBJECTS[object]) return refuse(`it is not ${OBJECT_NAMES[object]}`);
  if (bytes[6] !== 0 || bytes[7] !== 0) return refuse('its header has reserved bytes set');
  const id = parameterIdBytes(parameterId);
  for (let i = 0; i < PARAMETER_ID_BYTES; i++)
    if (bytes[PARAMETER_ID_AT + i] !== id[i]) return refuse('it was made under other encryption parameters');
  const expected = histogramWireBytes(object, level, targets);
  if (bytes.length !== expected) return refuse(`it has ${bytes.length} bytes, expected ${expected}`);
  const layout = LAYOUTS[object](targets);
  let at = HISTOGRAM_HEADER_BYTES;
  const parts = layout.parts.map(({ coefficients }) => {
    const residues = new Float64Array(level.bits.length * coefficients);
    for (let i = 0; i < level.bits.length; i++) {
      at = unpackResidues(
        bytes,
        at,
        coefficients,
        level.bits[i]!,
        level.moduliNumbers[i]!,
        residues,
        i * coefficients,
      );
      if (at < 0) return refuse('a residue is not below its prime');
    }
    return residues;
  });
  return { parts, seed: bytes.subarray(at, at + (layout.seeded ? SEED_BYTES : 0)) };
}
