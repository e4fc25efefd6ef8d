/**
 * The BFV cipher suite (node-seal 6.0.3, which is Microsoft SEAL 4.1 compiled to WebAssembly) for vertical logistic
 * regression (`primitives/vertical/protocol.ts`): the coordinator holds the secret key, banks hold the public key,
 * exchange ciphertexts of fixed-point vectors, and send the coordinator only masked, re-randomised, noise-flooded
 * ciphertexts (`maskedInnerProducts`, `maskedVector`).
 *
 * Parameter set (its SHA-256, `parameterId`, is checked between peers):
 *  - scheme BFV, batching (slot) encoding: N = 8192, slots = 8192, slot i holds an integer modulo t;
 *  - coefficient modulus q = SEAL's CoeffModulus.BFVDefault(8192, tc128): 8796092858369, 8796092792833,
 *    17592186028033, 17592185438209, 17592184717313 (43, 43, 44, 44, 44 bits; 218 bits in all). SEAL keeps the last prime for key switching (unused here), so ciphertexts start at the input level
 *    (the first four primes, 174 bits) and what goes to the key holder is switched down to the output level (the
 *    first three, 130 bits);
 *  - plain modulus t = PlainModulus.Batching(8192, B) with B = 58: t = 288 230 376 150 876 161, a prime ≡ 1 (mod 2N);
 *  - SEAL's defaults otherwise: secret key uniform ternary, error σ = 3.2.
 *
 * Security. The HomomorphicEncryption.org Security Standard (Albrecht et al., 2018), Table 1 (uniform ternary secret,
 * error σ ≈ 3.2) allows log2 q ≤ 218 for n = 8192 at 128-bit classical security; SEAL's tc128 table is that table.
 * The largest modulus in use, the key level, has exactly 218 bits, and the lower levels have smaller moduli, which
 * only makes their RLWE instances harder. (The standard's 128-bit quantum bound for n = 8192 is 202 bits: not met.)
 *
 * Choosing B (measured with this file's circuit: SEAL's invariant noise budget β in bits at the output level, the
 * smallest of 2 to 6 runs, inputs and columns of uniform random slot values, plus the fresh encryption of the mask):
 *
 *     B   fresh   K = 1   K = 3   K = 8   K = 8, each input a sum of 16 encryptions and a plaintext   K = 128
 *    57    109      47      47      46                          44                                       44
 *    58    108      45      45      44                          42                                       42
 *    59    107      43      42      42                          40                                       40
 *    60    106      41      40      40                          38                                       38
 *
 * (K = products summed.) Switching from the input to the output level kept β (45 -> 45); a second switch, to two
 * primes, would leave about 20 bits, too few to flood. SEAL's β is bits(q) − bits(‖t·(c0 + c1·s) mod q‖) − 1, so the
 * decryption noise v (c0 + c1·s = round(q·m/t) + v mod q) is below 2^(130 − β − 1) / t ≈ 2^(71 − β) at B = 58.
 * The noise bound this file assumes is 2^circuitNoiseBits = 2^30 for B = 58: the worst measured for K ≤ 8 was
 * β = 42, |v| < 2^29, with inputs that are sums of 16 fresh encryptions and a plaintext (as the label holder forms
 * [[4d]] from up to 15 feature holders' partial logits), hence at most MAX_PRODUCT_CHUNKS = 8 products per call
 * (65 536 rows, the largest batch). F (below) is 70 at B = 58, so F − 30 = 40: the margin asked for (41 measured).
 * B = 59 gives F = 69 and measured noise up to 2^30, a margin of 39: 58 is the largest B that keeps 40 bits.
 *
 * Range. A decrypted slot sum is exact when the true sum lies in (-t/2, t/2), |sum| < 2^57: over all rows of a call,
 * Σ|x·d| < 2^57 (e.g. 65 536 rows at |x·d| < 2^41). No plain modulus SEAL allows (at most 60 bits) reaches 2^63.
 *
 * Circuit privacy. The coordinator holds the secret key, so for every ciphertext it decrypts it sees (c0, c1, s)
 * and could read the decryption noise v, which after a plaintext product depends on the bank's features, and c1,
 * which is Σ_k c1_k ⊙ X_k (0 for a zero column). So each masked output is
 *   1. Σ_k ct_k ⊙ X_k + Enc_pk(0): the fresh public-key encryption adds p1·u + e2 to c1 with a fresh ternary u, an
 *      RLWE sample that hides c1 of the products even from the holder of s;
 *   2. switched to the output level, plus the mask scaled to that level, ⌊(q·mask + ⌊(t+1)/2⌋)/t⌋ added to c0 (what
 *      SEAL's encrypt adds to an encryption of zero and its addPlain to a ciphertext; computed in `scaling.ts`, and
 *      checked against SEAL when the suite starts): with step 1, a fresh encryption of the mask, its scaled plaintext
 *      added one level lower, which changes the noise by a rounding term below 1 (the budgets above are the same
 *      either way). The mask, uniform modulo t in every slot, makes the message uniform;
 *   3. flooded (`flooding.ts`): c0 += e, e_j uniform over the 2^(F+1) integers in [-2^F, 2^F), F = 70, added
 *      modulo each prime of the level. The output level has Δ = floor(q/t) ≈ 2^72, and |v + e| ≤ 2^30 + 2^70 < Δ/2,
 *      so decryption stays exact (measured budget after flooding: 1 bit, every time).
 * Given s, the coordinator's view of an output is a function of (c1, m, v + e). The distributions of v_j + e_j and
 * e_j are uniform on intervals of the same length 2^(F+1) shifted by v_j, at statistical distance |v_j| / 2^(F+1);
 * over the N coefficients the distance is at most N · V / 2^(F+1) for a noise bound V. With the bound V = 2^30:
 * 2^-41 per coefficient, 2^13 · 2^-41 = 2^-28 per ciphertext; with the noise measured at K ≤ 3 (V < 2^27): 2^-44 per
 * coefficient, 2^-31 per ciphertext. Distances add over the ciphertexts of a job. (A distance of 2^-40 per ciphertext
 * would take F − log2 V ≥ 54, i.e. B ≤ 51.) This is protection against a curious key holder: one that also forges
 * the ciphertexts a bank multiplies (colluding with the label holder) can plant a large "noise" and read the features
 * through it; the protocol assumes C does not collude (protocol.ts).
 *
 * Wire. Ciphertexts and public keys use Accord's layout (`wire.ts`): residues packed at the bit length of their
 * prime. Sizes: public key 223 336 bytes (seeded: c1 is expanded from a 64-byte seed), input-level ciphertext
 * 356 392, output-level ciphertext 266 280. SEAL's own serialization of the same objects: 270 873 (zstd, seeded),
 * 432 410 (zstd; 524 401 uncompressed), 323 553 (zstd; 393 329 uncompressed): uniform residues do not compress, and
 * SEAL's loader aborts the WebAssembly module (rather than throwing) on some truncated inputs, so untrusted bytes
 * only reach SEAL after this file has checked their header, length and every residue. SEAL's binary layout, which
 * the work outside SEAL needs, is in `seal-layout.ts`, checked against the library when the suite starts.
 *
 * Work outside SEAL. SEAL's encrypt and addPlain divide a 128-bit number by t bit by bit for every coefficient, and
 * its plainTransformToNtt lifts t-sized coefficients with multi-precision arithmetic (t is larger than the primes):
 * in WebAssembly that was over a quarter of the time. So encrypt is SEAL's encryptZero plus the scaled plaintext added
 * here, addPlain does not go through SEAL at all, and maskedInnerProducts lifts plaintexts here and has SEAL
 * transform them two at a time as the polynomials of a ciphertext (`#nttPlaintexts`); `#checkAgainstSeal` checks,
 * when the suite starts, that both give SEAL's own bytes. Residues move between SEAL's bytes, the wire and the
 * arithmetic without BigInt (`modular.ts`), and the suite reuses its SEAL scratch objects and buffers across calls.
 *
 * Timings (Node 20, one core of an AMD EPYC shared with other work, median of 9 runs, `bench/he-ops.ts --compare`
 * against the code before the work moved out of SEAL, in brackets, alternating run by run): starting the suite
 * (compiling the WebAssembly, the context, the layout checks and the checks against SEAL, about 100 ms of it) 700 ms
 * once per process; generateKeys 9 ms; loadPublicKey 2 ms; encrypt 9.8 ms per chunk (22.9), most of it SEAL's
 * encryptZero; add 2.2 ms (12.8) and addPlain 2.4 ms (15.8) per chunk; maskedInnerProducts 10.7 ms a column for
 * 1 chunk (23.4), 16.5 ms for 3 chunks (29.0), about half of a column SEAL's encryption of zero; maskedVector 7.7 ms
 * per chunk (20.4); decrypt 2.3 ms at the output level (3.3), 3.4 ms at the input level (8.1). One 8 192-row
 * training batch of 14 + 10 columns (1 encrypt, 1 addPlain, 24 masked columns, 24 decrypts) 319 ms (670). The plain
 * suite does 10 × 3 products in 30 ms.
 *
 * WebAssembly memory: key handles hold SEAL objects until `delete()` (a FinalizationRegistry in node-seal may free
 * them later, but do not rely on it); the suite keeps its scratch objects (a few plaintexts and ciphertexts, up to
 * 2 × MAX_PRODUCT_CHUNKS NTT plaintexts of 256 KiB: about 7 MiB) for its lifetime, which is the process's for the
 * memoised suite; everything else this file makes is freed before it returns.
 */
import { AccordError } from '../errors/index.js';
import {
  type SealCipherText,
  type SealContext,
  type SealDecryptor,
  type SealEncryptor,
  type SealLibrary,
  type SealPlainText,
  type SealPublicKey,
  type SealSecretKey,
  sealLibrary,
} from './seal-library.js';
import {
  bitLength,
  type CipherSuite,
  type PublicKeyHandle,
  type SecretKeyHandle,
  UNKNOWN_SENDER,
} from './cipher.js';
import { allZero, checkChunks, checkMasks, checkSignedValues } from './checks.js';
import { floodFirstPolynomial } from './flooding.js';
import {
  FLOODING_MARGIN_BITS,
  MAX_PRODUCT_CHUNKS,
  PLAIN_MODULUS,
  PLAIN_MODULUS_BITS,
  POLY_MODULUS_DEGREE,
  parameterIdOf,
  SLOTS,
  WIRE_FORMAT_VERSION,
} from './parameters.js';
import { PlainLifter, PlainScaler } from './scaling.js';
import {
  type SealPlainShape,
  type SealShape,
  SealPlainWriter,
  SealWriter,
  sealBytesOf,
  sealPlainCoefficients,
  sealPlainShapeOf,
  sealPolynomialBytes,
  sealResidues,
  sealSeed,
  sealShapeOf,
} from './seal-layout.js';
import {
  checkWireHeader,
  newWireObject,
  packResidues,
  unpackResidues,
  unpackResidueWords,
  WIRE_HEADER_BYTES,
} from './wire.js';

type SealContextData = SealContext['firstContextData'];
type SealParmsId = SealContext['firstParmsId'];

/**
 * log2 of the decryption noise bound at the output level after the deepest circuit allowed (MAX_PRODUCT_CHUNKS
 * products and a fresh encryption), as a function of B (the noise is proportional to t). Measured (header): at
 * B = 58 the largest noise seen was below 2^29; the bound adds one bit.
 */
export function circuitNoiseBits(plainModulusBits: number): number {
  return plainModulusBits - 28;
}

/** For tests: a suite with another plain modulus, to make ciphertexts under other parameters. */
export interface BfvOptions {
  readonly plainModulusBits?: number;
}

/** The BFV suite of the default parameter set (`cipherSuite('bfv')` memoises it), or of `options`. */
export async function createBfvSuite(options: BfvOptions = {}): Promise<BfvSuite> {
  return new BfvSuite(await sealLibrary(), options.plainModulusBits ?? PLAIN_MODULUS_BITS);
}

/** One modulus level of the chain: its primes and SEAL's parms_id for it. */
interface Level {
  readonly chainIndex: number;
  readonly parmsId: BigUint64Array;
  readonly moduli: readonly bigint[];
  readonly moduliNumbers: readonly number[];
  readonly bits: readonly number[];
}

/** A level ciphertexts live at, and how they look in SEAL's bytes and on the wire. */
interface CiphertextLevel extends Level {
  readonly shape: SealShape;
  /** Bytes of a ciphertext at this level on the wire. */
  readonly wireBytes: number;
  /** Adds a scaled plaintext to c0 at this level, as SEAL's encrypt and addPlain do. */
  readonly scaler: PlainScaler;
}

function levelOf(data: SealContextData): Level {
  const parmsIdHandle = data.parmsId;
  const parmsId = BigUint64Array.from(parmsIdHandle.values);
  parmsIdHandle.delete();
  const parms = data.parms;
  const moduli = [...parms.coeffModulus];
  parms.delete();
  return {
    chainIndex: data.chainIndex,
    parmsId,
    moduli,
    moduliNumbers: moduli.map(Number),
    bits: moduli.map(bitLength),
  };
}

/** Bytes of `polys` polynomials of `level` packed at the bit length of each prime. */
function packedBytes(level: Level, polys: number): number {
  return (polys * POLY_MODULUS_DEGREE * level.bits.reduce((a, b) => a + b, 0)) / 8;
}

export class BfvSuite implements CipherSuite {
  readonly kind = 'bfv' as const;
  readonly slots = SLOTS;
  readonly plainModulus: bigint;
  readonly parameterId: string;
  /** F: flooding noise is uniform in [-2^F, 2^F). */
  readonly floodBits: number;
  /** The levels: keys, what banks encrypt and exchange, what goes to the key holder. */
  readonly levels: { readonly key: Level; readonly input: CiphertextLevel; readonly output: CiphertextLevel };

  readonly #seal: SealLibrary;
  readonly #context: SealContext;
  readonly #encoder: ReturnType<SealLibrary['BatchEncoder']>;
  readonly #evaluator: ReturnType<SealLibrary['Evaluator']>;
  readonly #inputParmsId: SealParmsId;
  readonly #publicKeyShape: SealShape;
  readonly #plainShape: SealPlainShape;
  /**
   * Scratch SEAL objects, reused by every call (each call overwrites what it uses before reading it): allocating
   * them per call costs more than the arithmetic on them.
   */
  readonly #plain: SealPlainText;
  readonly #sum: SealCipherText;
  readonly #product: SealCipherText;
  readonly #zero: SealCipherText;
  readonly #loaded: SealCipherText;
  /** Plaintext NTTs through a ciphertext (`#nttPlaintexts`): its scratch ciphertext, shapes, and the plaintexts. */
  readonly #nttCt: SealCipherText;
  readonly #nttShape: SealShape;
  readonly #nttPlainShape: SealPlainShape;
  readonly #nttPlainWriter: SealPlainWriter;
  readonly #nttPlains: SealPlainText[] = [];
  readonly #lifter: PlainLifter;
  /** Scratch buffers per ciphertext level: residues as doubles (two sets, for `add`), and SEAL's bytes. */
  readonly #buffers = new Map<
    CiphertextLevel,
    { residues: [Float64Array, Float64Array]; writer: SealWriter }
  >();
  readonly #publicKeys = new WeakMap<PublicKeyHandle, { key: SealPublicKey; encryptor: SealEncryptor }>();
  readonly #secretKeys = new WeakMap<SecretKeyHandle, { key: SealSecretKey; decryptor: SealDecryptor }>();

  constructor(seal: SealLibrary, plainModulusBits: number) {
    this.#seal = seal;
    const parms = seal.EncryptionParameters(seal.SchemeType.bfv);
    const coeffModulus = seal.CoeffModulus.BFVDefault(POLY_MODULUS_DEGREE, seal.SecurityLevel.tc128);
    const plainModulus = seal.PlainModulus.Batching(POLY_MODULUS_DEGREE, plainModulusBits);
    parms.setPolyModulusDegree(POLY_MODULUS_DEGREE);
    parms.setCoeffModulus(coeffModulus);
    parms.setPlainModulus(plainModulus);
    this.plainModulus = plainModulus.value;
    this.#context = seal.Context(parms, true, seal.SecurityLevel.tc128);
    parms.delete();
    coeffModulus.delete();
    plainModulus.delete();
    if (!this.#context.parametersSet()) throw new Error('SEAL refuses the BFV parameters');
    if (plainModulusBits === PLAIN_MODULUS_BITS && this.plainModulus !== PLAIN_MODULUS)
      throw new Error('SEAL chose another plain modulus than PLAIN_MODULUS');
    this.#encoder = seal.BatchEncoder(this.#context);
    if (this.#encoder.slotCount !== SLOTS) throw new Error('SEAL batching gives another slot count');
    this.#evaluator = seal.Evaluator(this.#context);
    this.#inputParmsId = this.#context.firstParmsId;

    const keyData = this.#context.keyContextData;
    const firstData = this.#context.firstContextData;
    const outputData = firstData.nextContextData;
    const key = levelOf(keyData);
    const input = levelOf(firstData);
    const output = levelOf(outputData);
    for (const data of [keyData, firstData, outputData]) data.delete();

    // Shapes of SEAL's bytes, from objects SEAL makes now (checked field by field against the documented layout).
    const generator = seal.KeyGenerator(this.#context);
    const seeded = generator.createPublicKeySerializable();
    this.#publicKeyShape = sealShapeOf(seeded.saveArray(seal.ComprModeType.none), {
      degree: POLY_MODULUS_DEGREE,
      limbs: key.moduli.length,
      parmsId: key.parmsId,
      ntt: true,
      seeded: true,
    });
    seeded.delete();
    const publicKey = generator.createPublicKey();
    const encryptor = seal.Encryptor(this.#context, publicKey);
    const zero = encryptor.encryptZero() as SealCipherText;
    const shapeAt = (level: Level): CiphertextLevel => ({
      ...level,
      scaler: new PlainScaler(level.moduli, this.plainModulus, POLY_MODULUS_DEGREE),
      shape: sealShapeOf(zero.saveArray(seal.ComprModeType.none), {
        degree: POLY_MODULUS_DEGREE,
        limbs: level.moduli.length,
        parmsId: level.parmsId,
        ntt: false,
        seeded: false,
      }),
      wireBytes: WIRE_HEADER_BYTES + packedBytes(level, 2),
    });
    const inputLevel = shapeAt(input);
    const nttZero = zero.clone();
    this.#evaluator.cipherTransformToNtt(nttZero, nttZero);
    this.#nttShape = sealShapeOf(nttZero.saveArray(seal.ComprModeType.none), {
      degree: POLY_MODULUS_DEGREE,
      limbs: input.moduli.length,
      parmsId: input.parmsId,
      ntt: true,
      seeded: false,
    });
    nttZero.delete();
    this.#evaluator.cipherModSwitchToNext(zero, zero);
    const outputLevel = shapeAt(output);
    for (const o of [zero, encryptor, publicKey, generator]) o.delete();
    this.levels = { key, input: inputLevel, output: outputLevel };
    for (const level of [inputLevel, outputLevel])
      this.#buffers.set(level, {
        residues: [new Float64Array(level.shape.residueCount), new Float64Array(level.shape.residueCount)],
        writer: new SealWriter(level.shape),
      });

    this.#plain = seal.PlainText();
    this.#sum = seal.CipherText();
    this.#product = seal.CipherText();
    this.#zero = seal.CipherText();
    this.#loaded = seal.CipherText();
    this.#nttCt = seal.CipherText();
    this.#lifter = new PlainLifter(input.moduli, this.plainModulus, POLY_MODULUS_DEGREE);
    this.#encoder.encode(new BigUint64Array(SLOTS), this.#plain);
    this.#plainShape = sealPlainShapeOf(this.#plain.saveArray(seal.ComprModeType.none), {
      coeffCount: POLY_MODULUS_DEGREE,
    });
    const plainNtt = seal.PlainText();
    this.#evaluator.plainTransformToNtt(this.#plain, this.#inputParmsId, plainNtt);
    this.#nttPlainShape = sealPlainShapeOf(plainNtt.saveArray(seal.ComprModeType.none), {
      coeffCount: input.moduli.length * POLY_MODULUS_DEGREE,
      parmsId: input.parmsId,
    });
    plainNtt.delete();
    this.#nttPlainWriter = new SealPlainWriter(this.#nttPlainShape);
    this.#checkAgainstSeal();

    // F: the widest flooding that still decrypts with the noise bound, leaving Δ/2 − 2^F − 2^noise ≥ 0.
    const outputModulus = output.moduli.reduce((a, b) => a * b, 1n);
    const delta = outputModulus / this.plainModulus;
    const noise = 1n << BigInt(circuitNoiseBits(plainModulusBits));
    let floodBits = bitLength(delta) - 1;
    while ((1n << BigInt(floodBits)) + noise >= delta / 2n) floodBits--;
    if (floodBits - circuitNoiseBits(plainModulusBits) < FLOODING_MARGIN_BITS)
      throw new Error(
        `B = ${plainModulusBits} leaves no room to flood the noise by ${FLOODING_MARGIN_BITS} bits`,
      );
    this.floodBits = floodBits;

    this.parameterId = parameterIdOf([
      ['suite', 'accord-he'],
      ['wire', WIRE_FORMAT_VERSION],
      ['scheme', 'bfv'],
      ['encoding', 'batch'],
      ['polyModulusDegree', POLY_MODULUS_DEGREE],
      ['coeffModulus', key.moduli.join(',')],
      ['plainModulus', this.plainModulus.toString()],
      ['securityLevel', 'tc128'],
      ['inputPrimes', input.moduli.length],
      ['outputPrimes', output.moduli.length],
      ['floodBits', floodBits],
    ]);
  }

  encrypt(publicKey: PublicKeyHandle, values: BigInt64Array): Uint8Array[] {
    const { encryptor } = this.#publicKeyOf(publicKey);
    checkSignedValues(values, this.plainModulus, 'a value to encrypt');
    const level = this.levels.input;
    const out: Uint8Array[] = [];
    for (let at = 0; at < values.length; at += SLOTS) {
      // SEAL's encrypt is an encryption of zero plus the scaled plaintext; the second half is done here.
      const plain = this.#encode(values.subarray(at, at + SLOTS));
      encryptor.encryptZero(this.#zero);
      const residues = this.#residuesOf(this.#zero, level);
      level.scaler.addTo(residues, plain);
      out.push(this.#write(level, residues));
    }
    return out;
  }

  addPlain(cts: readonly Uint8Array[], values: BigInt64Array): Uint8Array[] {
    checkSignedValues(values, this.plainModulus, 'a value to add');
    checkChunks(values, cts.length, SLOTS, 'values');
    const level = this.levels.input;
    return cts.map((bytes, k) => {
      const { residues } = this.#read(bytes, [level], k);
      level.scaler.addTo(residues, this.#encode(values.subarray(k * SLOTS, (k + 1) * SLOTS)));
      return this.#write(level, residues);
    });
  }

  add(a: readonly Uint8Array[], b: readonly Uint8Array[]): Uint8Array[] {
    if (!Array.isArray(a) || !Array.isArray(b)) throw new TypeError('add takes two arrays of ciphertexts');
    if (a.length !== b.length)
      this.#refuse(`the operands have ${a.length} and ${b.length} ciphertexts; they must have as many`);
    const level = this.levels.input;
    return a.map((bytes, k) => {
      const sum = this.#read(bytes, [level], k).residues;
      const other = this.#read(b[k]!, [level], k, 1).residues;
      for (let i = 0; i < level.moduli.length; i++) {
        const q = level.moduliNumbers[i]!;
        for (const p of [0, 1]) {
          const from = (p * level.moduli.length + i) * POLY_MODULUS_DEGREE;
          for (let j = from; j < from + POLY_MODULUS_DEGREE; j++) {
            const s = sum[j]! + other[j]!;
            sum[j] = s >= q ? s - q : s;
          }
        }
      }
      return this.#write(level, sum);
    });
  }

  maskedInnerProducts(
    publicKey: PublicKeyHandle,
    cts: readonly Uint8Array[],
    columns: readonly BigInt64Array[],
    masks: readonly BigUint64Array[],
  ): Uint8Array[] {
    const { encryptor } = this.#publicKeyOf(publicKey);
    if (cts.length > MAX_PRODUCT_CHUNKS)
      throw new RangeError(
        `at most ${MAX_PRODUCT_CHUNKS} ciphertexts per call (the flooding margin is measured so)`,
      );
    if (columns.length !== masks.length)
      throw new RangeError(`${columns.length} columns but ${masks.length} masks`);
    columns.forEach((column, j) => {
      checkSignedValues(column, this.plainModulus, `column ${j}`);
      checkChunks(column, cts.length, SLOTS, `column ${j}`);
    });
    checkMasks(masks, this.plainModulus, SLOTS);
    const inputs: SealCipherText[] = [];
    try {
      for (let k = 0; k < cts.length; k++) {
        const ct = this.#seal.CipherText();
        inputs.push(ct);
        this.#load(ct, cts[k]!, [this.levels.input], k);
        this.#evaluator.cipherTransformToNtt(ct, ct);
      }
      // Two columns at a time: the NTTs of their plaintexts go through SEAL in pairs (`#nttPlaintexts`).
      const out: Uint8Array[] = [];
      for (let j = 0; j < columns.length; j += 2) {
        const terms: { column: number; k: number; chunk: BigInt64Array }[] = [];
        for (let c = j; c < Math.min(j + 2, columns.length); c++)
          for (let k = 0; k < cts.length; k++) {
            const chunk = columns[c]!.subarray(k * SLOTS, (k + 1) * SLOTS);
            // SEAL refuses a product by 0 (its result would be transparent): a zero chunk adds nothing.
            if (!allZero(chunk)) terms.push({ column: c, k, chunk });
          }
        const plains = this.#nttPlaintexts(terms.map((term) => term.chunk));
        for (let c = j; c < Math.min(j + 2, columns.length); c++) {
          const products = terms.flatMap((term, n) =>
            term.column === c ? [{ input: inputs[term.k]!, plain: plains[n]! }] : [],
          );
          out.push(this.#maskedOutput(encryptor, this.#innerProduct(products), masks[c]!));
        }
      }
      return out;
    } finally {
      for (const ct of inputs) ct.delete();
    }
  }

  maskedVector(
    publicKey: PublicKeyHandle,
    cts: readonly Uint8Array[],
    masks: readonly BigUint64Array[],
  ): Uint8Array[] {
    const { encryptor } = this.#publicKeyOf(publicKey);
    if (masks.length !== cts.length)
      throw new RangeError(`${cts.length} ciphertexts but ${masks.length} masks`);
    checkMasks(masks, this.plainModulus, SLOTS);
    return cts.map((bytes, k) => {
      this.#load(this.#loaded, bytes, [this.levels.input], k);
      return this.#maskedOutput(encryptor, this.#loaded, masks[k]!);
    });
  }

  generateKeys(): { publicKey: Uint8Array; secretKey: SecretKeyHandle } {
    const generator = this.#seal.KeyGenerator(this.#context);
    const key = generator.secretKey();
    const seeded = generator.createPublicKeySerializable();
    const bytes = seeded.saveArray(this.#seal.ComprModeType.none);
    seeded.delete();
    generator.delete();
    const level = this.levels.key;
    const c0 = sealResidues(bytes, this.#publicKeyShape);
    const seed = sealSeed(bytes, this.#publicKeyShape);
    const publicKey = newWireObject(
      { kind: 'bfv', object: 'publicKey', level: level.chainIndex, parameterId: this.parameterId },
      packedBytes(level, 1) + seed.length,
    );
    let at = WIRE_HEADER_BYTES;
    for (let i = 0; i < level.moduli.length; i++)
      at = packResidues(c0, i * POLY_MODULUS_DEGREE, POLY_MODULUS_DEGREE, level.bits[i]!, publicKey, at);
    publicKey.set(seed, at);
    const decryptor = this.#seal.Decryptor(this.#context, key);
    const handle: SecretKeyHandle = Object.freeze({
      role: 'secret' as const,
      kind: 'bfv' as const,
      parameterId: this.parameterId,
      delete: () => {
        const held = this.#secretKeys.get(handle);
        if (!held) return;
        held.decryptor.delete();
        held.key.delete();
        this.#secretKeys.delete(handle);
      },
    });
    this.#secretKeys.set(handle, { key, decryptor });
    return { publicKey, secretKey: handle };
  }

  loadPublicKey(bytes: Uint8Array): PublicKeyHandle {
    const refuse = (reason: string): never => {
      throw new AccordError('ACCORD_HE_KEY_INVALID', { reason });
    };
    const level = this.levels.key;
    checkWireHeader(
      bytes,
      { kind: 'bfv', object: 'publicKey', parameterId: this.parameterId, levels: [level.chainIndex] },
      refuse,
    );
    const seedBytes = this.#publicKeyShape.seedBytes;
    const expected = WIRE_HEADER_BYTES + packedBytes(level, 1) + seedBytes;
    if (bytes.length !== expected) refuse(`it has ${bytes.length} bytes, expected ${expected}`);
    const c0 = new Float64Array(level.moduli.length * POLY_MODULUS_DEGREE);
    let at = WIRE_HEADER_BYTES;
    for (let i = 0; i < level.moduli.length; i++) {
      at = unpackResidues(
        bytes,
        at,
        POLY_MODULUS_DEGREE,
        level.bits[i]!,
        level.moduliNumbers[i]!,
        c0,
        i * POLY_MODULUS_DEGREE,
      );
      if (at < 0) refuse('a residue is not below its prime');
    }
    const key = this.#seal.PublicKey();
    try {
      key.loadArray(this.#context, sealBytesOf(this.#publicKeyShape, c0, bytes.subarray(at, at + seedBytes)));
    } catch {
      key.delete();
      refuse('SEAL does not load it');
    }
    const encryptor = this.#seal.Encryptor(this.#context, key);
    const handle: PublicKeyHandle = Object.freeze({
      role: 'public' as const,
      kind: 'bfv' as const,
      parameterId: this.parameterId,
      delete: () => {
        const held = this.#publicKeys.get(handle);
        if (!held) return;
        held.encryptor.delete();
        held.key.delete();
        this.#publicKeys.delete(handle);
      },
    });
    this.#publicKeys.set(handle, { key, encryptor });
    return handle;
  }

  decrypt(secretKey: SecretKeyHandle, ct: Uint8Array): BigUint64Array {
    const held = this.#secretKeys.get(secretKey);
    if (!held) this.#refuseKey(secretKey);
    this.#load(this.#loaded, ct, [this.levels.output, this.levels.input]);
    held!.decryptor.decrypt(this.#loaded, this.#plain);
    return this.#encoder.decodeBigInt(this.#plain, false) as BigUint64Array;
  }

  /**
   * For measurements and tests only (the key holder's view): SEAL's invariant noise budget in bits of a ciphertext,
   * i.e. log2(q / (2 t |v|)) rounded down for decryption noise v.
   */
  noiseBudget(secretKey: SecretKeyHandle, ct: Uint8Array): number {
    const held = this.#secretKeys.get(secretKey);
    if (!held) this.#refuseKey(secretKey);
    this.#load(this.#loaded, ct, [this.levels.output, this.levels.input]);
    return held!.decryptor.invariantNoiseBudget(this.#loaded);
  }

  /**
   * Σ input ⊙ plain over `products` (NTT-form inputs and plaintexts), back out of NTT form, in the scratch
   * ciphertext #sum; null when there are none (a zero column).
   */
  #innerProduct(products: readonly { input: SealCipherText; plain: SealPlainText }[]): SealCipherText | null {
    if (products.length === 0) return null;
    products.forEach(({ input, plain }, n) => {
      if (n === 0) this.#evaluator.multiplyPlain(input, plain, this.#sum);
      else {
        this.#evaluator.multiplyPlain(input, plain, this.#product);
        this.#evaluator.add(this.#sum, this.#product, this.#sum);
      }
    });
    this.#evaluator.cipherTransformFromNtt(this.#sum, this.#sum);
    return this.#sum;
  }

  /**
   * The batch encodings of `chunks` (none zero) as NTT-form plaintexts at the input level, valid until the next call
   * (they are scratch objects). SEAL's plainTransformToNtt lifts t-sized coefficients with multi-precision
   * arithmetic; instead the lifts are computed here (`PlainLifter`), two plaintexts become the two polynomials of a
   * ciphertext, SEAL transforms that, and its polynomials are loaded back as plaintexts. The constructor checks that
   * this gives SEAL's bytes exactly.
   */
  #nttPlaintexts(chunks: readonly (Int32Array | BigInt64Array)[]): SealPlainText[] {
    const level = this.levels.input;
    const writer = this.#buffers.get(level)!.writer;
    const polyResidues = level.moduli.length * POLY_MODULUS_DEGREE;
    while (this.#nttPlains.length < chunks.length) this.#nttPlains.push(this.#seal.PlainText());
    for (let a = 0; a < chunks.length; a += 2) {
      this.#lifter.liftInto(this.#encode(chunks[a]!), writer.words, 0);
      if (a + 1 < chunks.length)
        this.#lifter.liftInto(this.#encode(chunks[a + 1]!), writer.words, polyResidues);
      else writer.words.copyWithin(2 * polyResidues, 0, 2 * polyResidues);
      this.#nttCt.loadArray(this.#context, writer.bytes());
      this.#evaluator.cipherTransformToNtt(this.#nttCt, this.#nttCt);
      const bytes = this.#nttCt.saveArray(this.#seal.ComprModeType.none);
      for (let p = 0; p < Math.min(2, chunks.length - a); p++)
        this.#nttPlains[a + p]!.loadArray(
          this.#context,
          this.#nttPlainWriter.bytes(sealPolynomialBytes(bytes, this.#nttShape, p)),
        );
    }
    return this.#nttPlains.slice(0, chunks.length);
  }

  /**
   * sum + Enc(0) (sum may be null: a zero product), switched to the output level, plus the scaled mask (what
   * SEAL's addPlain adds at that level), flooded, on the wire.
   */
  #maskedOutput(encryptor: SealEncryptor, sum: SealCipherText | null, mask: BigUint64Array): Uint8Array {
    const level = this.levels.output;
    const out = this.#zero;
    encryptor.encryptZero(out);
    if (sum !== null) this.#evaluator.add(out, sum, out);
    this.#evaluator.cipherModSwitchToNext(out, out);
    const residues = this.#residuesOf(out, level);
    level.scaler.addTo(residues, this.#encode(mask));
    floodFirstPolynomial(residues, level.moduli, POLY_MODULUS_DEGREE, this.floodBits);
    return this.#write(level, residues);
  }

  /** The coefficients of the batch encoding of `values` (SEAL's encoder, read back from the scratch plaintext). */
  #encode(values: Int32Array | BigInt64Array | BigUint64Array): BigUint64Array {
    this.#encoder.encode(values, this.#plain);
    return sealPlainCoefficients(this.#plain.saveArray(this.#seal.ComprModeType.none), this.#plainShape);
  }

  /** The residues of a SEAL ciphertext at `level`. */
  #residuesOf(ct: SealCipherText, level: CiphertextLevel): Float64Array {
    const into = this.#buffers.get(level)!.residues[0];
    return sealResidues(ct.saveArray(this.#seal.ComprModeType.none), level.shape, into);
  }

  /**
   * Checks, once when the suite starts, that what this file computes in place of SEAL gives SEAL's bytes exactly
   * for a sample plaintext: the scaled plaintext at both levels (`PlainScaler` against Evaluator.addPlain) and the
   * plaintext NTT through a ciphertext (`#nttPlaintexts` against Evaluator.plainTransformToNtt). Throws a plain
   * Error otherwise (a node-seal upgrade that changed them).
   */
  #checkAgainstSeal(): void {
    const none = this.#seal.ComprModeType.none;
    // Slot values of both signs: their batch encoding has coefficients all over [0, t).
    const sample = new Int32Array(SLOTS);
    for (let i = 0; i < SLOTS; i++) sample[i] = Math.imul(i + 1, 0x9e37_79b9);
    const plain = this.#seal.PlainText();
    const plainNtt = this.#seal.PlainText();
    try {
      this.#encoder.encode(sample, plain);
      const coefficients = this.#encode(sample);
      for (const level of [this.levels.input, this.levels.output]) {
        // Any residues will do: a ciphertext of arbitrary residues below the primes (below 2^42 here).
        const ours = new Float64Array(level.shape.residueCount);
        for (let j = 0; j < ours.length; j++)
          ours[j] = (Math.imul(j + 1, 0x9e37_79b9) >>> 0) * 1024 + (j & 1023);
        this.#loaded.loadArray(this.#context, sealBytesOf(level.shape, ours));
        this.#evaluator.addPlain(this.#loaded, plain, this.#loaded);
        level.scaler.addTo(ours, coefficients);
        if (!sameValues(ours, this.#residuesOf(this.#loaded, level)))
          throw new Error("the scaled plaintext differs from SEAL's addPlain");
      }
      // Two plaintexts, which go through SEAL as the two polynomials of one ciphertext.
      const other = sample.map((v) => -v >> 1);
      const viaCiphertext = this.#nttPlaintexts([sample, other]);
      [sample, other].forEach((values, n) => {
        this.#encoder.encode(values, plain);
        this.#evaluator.plainTransformToNtt(plain, this.#inputParmsId, plainNtt);
        if (!sameValues(viaCiphertext[n]!.saveArray(none), plainNtt.saveArray(none)))
          throw new Error("the plaintext NTT through a ciphertext differs from SEAL's plainTransformToNtt");
      });
    } finally {
      plain.delete();
      plainNtt.delete();
    }
  }

  #publicKeyOf(handle: PublicKeyHandle): { key: SealPublicKey; encryptor: SealEncryptor } {
    const held = this.#publicKeys.get(handle);
    if (!held) this.#refuseKey(handle);
    return held!;
  }

  #refuseKey(handle: PublicKeyHandle | SecretKeyHandle): never {
    const reason =
      handle?.kind === 'bfv' && handle.parameterId === this.parameterId
        ? 'the key was deleted, or loaded by another instance of the suite'
        : 'it is not a key of this suite and parameter set';
    throw new AccordError('ACCORD_HE_KEY_INVALID', { reason });
  }

  #refuse(reason: string): never {
    throw new AccordError('ACCORD_HE_CIPHERTEXT_INVALID', { from: UNKNOWN_SENDER, reason });
  }

  /** The level of a wire ciphertext at one of `levels`, after checking its header and length. */
  #levelOf(
    bytes: Uint8Array,
    levels: readonly CiphertextLevel[],
    refuse: (reason: string) => never,
  ): CiphertextLevel {
    const chainIndex = checkWireHeader(
      bytes,
      {
        kind: 'bfv',
        object: 'ciphertext',
        parameterId: this.parameterId,
        levels: levels.map((l) => l.chainIndex),
      },
      refuse,
    );
    const level = levels.find((l) => l.chainIndex === chainIndex)!;
    if (bytes.length !== level.wireBytes) refuse(`it has ${bytes.length} bytes, expected ${level.wireBytes}`);
    return level;
  }

  #refuser(index?: number): (reason: string) => never {
    return (reason) => this.#refuse(index === undefined ? reason : `ciphertext ${index}: ${reason}`);
  }

  /**
   * The residues of a wire ciphertext at one of `levels`, after checking everything that can be checked, in scratch
   * buffer `buffer` of its level (valid until the next call that uses it).
   */
  #read(
    bytes: Uint8Array,
    levels: readonly CiphertextLevel[],
    index?: number,
    buffer: 0 | 1 = 0,
  ): { level: CiphertextLevel; residues: Float64Array } {
    const refuse = this.#refuser(index);
    const level = this.#levelOf(bytes, levels, refuse);
    const limbs = level.moduli.length;
    const residues = this.#buffers.get(level)!.residues[buffer];
    let at = WIRE_HEADER_BYTES;
    for (let p = 0; p < 2; p++)
      for (let i = 0; i < limbs; i++) {
        const from = (p * limbs + i) * POLY_MODULUS_DEGREE;
        at = unpackResidues(
          bytes,
          at,
          POLY_MODULUS_DEGREE,
          level.bits[i]!,
          level.moduliNumbers[i]!,
          residues,
          from,
        );
        if (at < 0) refuse('a residue is not below its prime');
      }
    if (allZeroFrom(residues, limbs * POLY_MODULUS_DEGREE))
      refuse('it is transparent (its second polynomial is zero)');
    return { level, residues };
  }

  #write(level: Level, residues: Float64Array): Uint8Array {
    const out = newWireObject(
      { kind: 'bfv', object: 'ciphertext', level: level.chainIndex, parameterId: this.parameterId },
      packedBytes(level, 2),
    );
    let at = WIRE_HEADER_BYTES;
    for (let p = 0; p < 2; p++)
      for (let i = 0; i < level.moduli.length; i++) {
        const from = (p * level.moduli.length + i) * POLY_MODULUS_DEGREE;
        at = packResidues(residues, from, POLY_MODULUS_DEGREE, level.bits[i]!, out, at);
      }
    return out;
  }

  /**
   * A wire ciphertext loaded into `ct`, after the checks of `#read` (the residues go straight from the wire layout
   * to SEAL's); SEAL checks it once more on load.
   */
  #load(ct: SealCipherText, bytes: Uint8Array, levels: readonly CiphertextLevel[], index?: number): void {
    const refuse = this.#refuser(index);
    const level = this.#levelOf(bytes, levels, refuse);
    const limbs = level.moduli.length;
    const writer = this.#buffers.get(level)!.writer;
    let at = WIRE_HEADER_BYTES;
    for (let p = 0; p < 2; p++)
      for (let i = 0; i < limbs; i++) {
        const from = (p * limbs + i) * POLY_MODULUS_DEGREE;
        at = unpackResidueWords(
          bytes,
          at,
          POLY_MODULUS_DEGREE,
          level.bits[i]!,
          level.moduliNumbers[i]!,
          writer.words,
          from,
        );
        if (at < 0) refuse('a residue is not below its prime');
      }
    if (allZeroFrom(writer.words, 2 * limbs * POLY_MODULUS_DEGREE))
      refuse('it is transparent (its second polynomial is zero)');
    try {
      ct.loadArray(this.#context, writer.bytes());
    } catch {
      refuse('SEAL does not load it');
    }
    if (ct.size !== 2 || ct.isNttForm || ct.isTransparent || ct.coeffModulusSize !== limbs)
      refuse('SEAL loads it as another kind of ciphertext');
  }
}

/** True when a and b have the same length and values. */
function sameValues(a: Float64Array | Uint8Array, b: Float64Array | Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when values[from ..] are all 0. */
function allZeroFrom(values: Float64Array | Uint32Array, from: number): boolean {
  for (let j = from; j < values.length; j++) if (values[j] !== 0) return false;
  return true;
}
