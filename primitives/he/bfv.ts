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
 *   1. Σ_k ct_k ⊙ X_k + Enc_pk(mask): the fresh public-key encryption of the mask adds p1·u + e2 to c1 with a fresh
 *      ternary u, an RLWE sample that hides c1 of the products even from the holder of s; the mask, uniform modulo
 *      t in every slot, makes the message uniform;
 *   2. switched to the output level, and then flooded (`flooding.ts`): c0 += e, e_j uniform over the 2^(F+1)
 *      integers in [-2^F, 2^F), F = 70, added modulo each prime of the level. The output level has
 *      Δ = floor(q/t) ≈ 2^72, and |v + e| ≤ 2^30 + 2^70 < Δ/2, so decryption stays exact (measured budget after
 *      flooding: 1 bit, every time).
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
 * flooding needs, is in `seal-layout.ts`, checked against the library when the suite starts.
 *
 * Timings (Node 20, one core of an AMD EPYC, median of 5 to 7 runs): starting the suite (compiling the WebAssembly,
 * the context, the layout check) 640 ms once per process; generateKeys 17 ms; loadPublicKey 6 ms; encrypt 23.5 ms
 * per chunk; add 13 ms and addPlain 18 ms per chunk; maskedInnerProducts, 10 columns × 3 chunks, 366 ms (36 ms a
 * column, most of it the fresh encryption, the switch and the flooding; 32 ms for 1 column × 1 chunk); maskedVector
 * 26 ms per chunk; decrypt 4.9 ms (output level), 9 ms (input level). The plain suite does the 10 × 3 products in 30 ms.
 *
 * WebAssembly memory: key handles hold SEAL objects until `delete()` (a FinalizationRegistry in node-seal may free
 * them later, but do not rely on it); everything else this file makes is freed before it returns.
 */
import * as nodeSeal from 'node-seal';
import { AccordError } from '../errors/index.js';
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
import { type SealShape, sealBytesOf, sealResidues, sealSeed, sealShapeOf } from './seal-layout.js';
import { checkWireHeader, newWireObject, packResidues, unpackResidues, WIRE_HEADER_BYTES } from './wire.js';

/**
 * node-seal is CommonJS whose module.exports is the loader, while its types declare an ES default export: Node puts
 * the loader at the namespace's `default`, TypeScript expects it one `default` further. Accept both.
 */
type LoadSeal = (typeof nodeSeal.default)['default'];
const exported = nodeSeal.default as unknown;
const loadSeal = (
  typeof exported === 'function' ? exported : (exported as { default: LoadSeal }).default
) as LoadSeal;
type SealLibrary = Awaited<ReturnType<LoadSeal>>;
type SealContext = ReturnType<SealLibrary['Context']>;
type SealContextData = SealContext['firstContextData'];
type SealCipherText = ReturnType<SealLibrary['CipherText']>;
type SealPlainText = ReturnType<SealLibrary['PlainText']>;
type SealPublicKey = ReturnType<SealLibrary['PublicKey']>;
type SealSecretKey = ReturnType<SealLibrary['SecretKey']>;
type SealEncryptor = ReturnType<SealLibrary['Encryptor']>;
type SealDecryptor = ReturnType<SealLibrary['Decryptor']>;
type SealParmsId = SealContext['firstParmsId'];

/**
 * log2 of the decryption noise bound at the output level after the deepest circuit allowed (MAX_PRODUCT_CHUNKS
 * products and a fresh encryption), as a function of B (the noise is proportional to t). Measured (header): at
 * B = 58 the largest noise seen was below 2^29; the bound adds one bit.
 */
export function circuitNoiseBits(plainModulusBits: number): number {
  return plainModulusBits - 28;
}

let library: Promise<SealLibrary> | undefined;

/** node-seal, compiled and instantiated once per process. */
function sealLibrary(): Promise<SealLibrary> {
  if (library) return library;
  const loading = loadSeal();
  loading.catch(() => {
    library = undefined;
  });
  library = loading;
  return loading;
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
    this.#evaluator.cipherModSwitchToNext(zero, zero);
    const outputLevel = shapeAt(output);
    for (const o of [zero, encryptor, publicKey, generator]) o.delete();
    this.levels = { key, input: inputLevel, output: outputLevel };

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
    const out: Uint8Array[] = [];
    for (let at = 0; at < values.length; at += SLOTS) {
      const plain = this.#encoder.encode(values.subarray(at, at + SLOTS)) as SealPlainText;
      let ct: SealCipherText;
      try {
        ct = encryptor.encrypt(plain) as SealCipherText;
      } finally {
        plain.delete();
      }
      out.push(this.#fromSeal(ct, this.levels.input));
    }
    return out;
  }

  addPlain(cts: readonly Uint8Array[], values: BigInt64Array): Uint8Array[] {
    checkSignedValues(values, this.plainModulus, 'a value to add');
    checkChunks(values, cts.length, SLOTS, 'values');
    return cts.map((bytes, k) => {
      const ct = this.#toSeal(bytes, [this.levels.input], k);
      let plain: SealPlainText | undefined;
      try {
        plain = this.#encoder.encode(values.subarray(k * SLOTS, (k + 1) * SLOTS)) as SealPlainText;
        this.#evaluator.addPlain(ct, plain, ct);
      } catch (err) {
        ct.delete();
        throw err;
      } finally {
        plain?.delete();
      }
      return this.#fromSeal(ct, this.levels.input);
    });
  }

  add(a: readonly Uint8Array[], b: readonly Uint8Array[]): Uint8Array[] {
    if (!Array.isArray(a) || !Array.isArray(b)) throw new TypeError('add takes two arrays of ciphertexts');
    if (a.length !== b.length)
      this.#refuse(`the operands have ${a.length} and ${b.length} ciphertexts; they must have as many`);
    const level = this.levels.input;
    return a.map((bytes, k) => {
      const sum = this.#read(bytes, [level], k).residues;
      const other = this.#read(b[k]!, [level], k).residues;
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
        const ct = this.#toSeal(cts[k]!, [this.levels.input], k);
        inputs.push(ct);
        this.#evaluator.cipherTransformToNtt(ct, ct);
      }
      return columns.map((column, j) =>
        this.#maskedOutput(encryptor, this.#innerProduct(inputs, column), masks[j]!),
      );
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
    return cts.map((bytes, k) =>
      this.#maskedOutput(encryptor, this.#toSeal(bytes, [this.levels.input], k), masks[k]!),
    );
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
    const { decryptor } = held!;
    const sealCt = this.#toSeal(ct, [this.levels.output, this.levels.input]);
    try {
      const plain = decryptor.decrypt(sealCt) as SealPlainText;
      try {
        return this.#encoder.decodeBigInt(plain, false) as BigUint64Array;
      } finally {
        plain.delete();
      }
    } finally {
      sealCt.delete();
    }
  }

  /**
   * For measurements and tests only (the key holder's view): SEAL's invariant noise budget in bits of a ciphertext,
   * i.e. log2(q / (2 t |v|)) rounded down for decryption noise v.
   */
  noiseBudget(secretKey: SecretKeyHandle, ct: Uint8Array): number {
    const held = this.#secretKeys.get(secretKey);
    if (!held) this.#refuseKey(secretKey);
    const sealCt = this.#toSeal(ct, [this.levels.output, this.levels.input]);
    try {
      return held!.decryptor.invariantNoiseBudget(sealCt);
    } finally {
      sealCt.delete();
    }
  }

  /** Σ_k inputs[k] ⊙ chunk k of column, from NTT-form inputs, back out of NTT form; null when the column is 0. */
  #innerProduct(inputs: readonly SealCipherText[], column: BigInt64Array): SealCipherText | null {
    let sum: SealCipherText | null = null;
    try {
      for (let k = 0; k < inputs.length; k++) {
        const chunk = column.subarray(k * SLOTS, (k + 1) * SLOTS);
        if (allZero(chunk)) continue; // SEAL refuses a product by 0 (its result would be transparent)
        const plain = this.#encoder.encode(chunk) as SealPlainText;
        try {
          this.#evaluator.plainTransformToNtt(plain, this.#inputParmsId, plain);
          const product = this.#evaluator.multiplyPlain(inputs[k]!, plain) as SealCipherText;
          if (sum === null) sum = product;
          else {
            this.#evaluator.add(sum, product, sum);
            product.delete();
          }
        } finally {
          plain.delete();
        }
      }
      if (sum !== null) this.#evaluator.cipherTransformFromNtt(sum, sum);
      return sum;
    } catch (err) {
      sum?.delete();
      throw err;
    }
  }

  /** sum + Enc(mask) (sum may be null: a zero product), switched to the output level, flooded, on the wire. */
  #maskedOutput(encryptor: SealEncryptor, sum: SealCipherText | null, mask: BigUint64Array): Uint8Array {
    let out: SealCipherText | undefined;
    try {
      const plain = this.#encoder.encode(mask) as SealPlainText;
      try {
        out = encryptor.encrypt(plain) as SealCipherText;
      } finally {
        plain.delete();
      }
      if (sum !== null) this.#evaluator.add(out, sum, out);
      this.#evaluator.cipherModSwitchToNext(out, out);
      const level = this.levels.output;
      const residues = sealResidues(out.saveArray(this.#seal.ComprModeType.none), level.shape);
      floodFirstPolynomial(residues, level.moduli, POLY_MODULUS_DEGREE, this.floodBits);
      return this.#write(level, residues);
    } finally {
      out?.delete();
      sum?.delete();
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

  /** The residues of a wire ciphertext at one of `levels`, after checking everything that can be checked. */
  #read(
    bytes: Uint8Array,
    levels: readonly CiphertextLevel[],
    index?: number,
  ): { level: CiphertextLevel; residues: Float64Array } {
    const refuse = (reason: string): never =>
      this.#refuse(index === undefined ? reason : `ciphertext ${index}: ${reason}`);
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
    const limbs = level.moduli.length;
    const residues = new Float64Array(2 * limbs * POLY_MODULUS_DEGREE);
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
    let transparent = true;
    for (let j = limbs * POLY_MODULUS_DEGREE; j < residues.length && transparent; j++)
      if (residues[j] !== 0) transparent = false;
    if (transparent) refuse('it is transparent (its second polynomial is zero)');
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

  /** A wire ciphertext loaded into SEAL (the caller deletes it); SEAL checks it once more on load. */
  #toSeal(bytes: Uint8Array, levels: readonly CiphertextLevel[], index?: number): SealCipherText {
    const { level, residues } = this.#read(bytes, levels, index);
    const ct = this.#seal.CipherText();
    try {
      ct.loadArray(this.#context, sealBytesOf(level.shape, residues));
    } catch {
      ct.delete();
      this.#refuse(
        index === undefined ? 'SEAL does not load it' : `ciphertext ${index}: SEAL does not load it`,
      );
    }
    if (ct.size !== 2 || ct.isNttForm || ct.isTransparent || ct.coeffModulusSize !== level.moduli.length) {
      ct.delete();
      this.#refuse('SEAL loads it as another kind of ciphertext');
    }
    return ct;
  }

  /** A SEAL ciphertext at `level` on the wire; deletes it. */
  #fromSeal(ct: SealCipherText, level: CiphertextLevel): Uint8Array {
    try {
      return this.#write(level, sealResidues(ct.saveArray(this.#seal.ComprModeType.none), level.shape));
    } finally {
      ct.delete();
    }
  }
}
