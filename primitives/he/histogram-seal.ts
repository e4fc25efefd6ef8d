/**
 * The SEAL side of the histogram suite (`histogram.ts`, whose header explains the choices): the parameter set, its two modulus levels, and the shapes of the SEAL serializations the suite reads and writes, each
 * taken from an object SEAL made when the suite starts and checked field by field (`seal-layout.ts`).
 */
import type { SealContext, SealEvaluator, SealLibrary } from './seal-library.js';
import { bitLength } from './cipher.js';
import { POLY_MODULUS_DEGREE } from './parameters.js';
import { type SealPlainShape, type SealShape, sealPlainShapeOf, sealShapeOf } from './seal-layout.js';

export type {
  SealCipherText,
  SealContext,
  SealDecryptor,
  SealEncryptor,
  SealEvaluator,
  SealLibrary,
  SealPlainText,
  SealPublicKey,
  SealSecretKey,
} from './seal-library.js';
export { sealLibrary } from './seal-library.js';
export type SealComprMode = SealLibrary['ComprModeType']['none'];

/** One modulus level: its primes and SEAL's parms_id for it. */
export interface HistogramLevel {
  readonly chainIndex: number;
  readonly parmsId: BigUint64Array;
  readonly moduli: readonly bigint[];
  readonly moduliNumbers: readonly number[];
  readonly bits: readonly number[];
  /** Π moduli. */
  readonly modulus: bigint;
}

/** The SEAL objects and byte shapes the histogram suite works with, for one parameter set. */
export interface HistogramSeal {
  readonly seal: SealLibrary;
  readonly context: SealContext;
  readonly evaluator: SealEvaluator;
  readonly plainModulus: bigint;
  /** Key level (every prime: public and secret keys) and data level (all but the key-switching prime). */
  readonly key: HistogramLevel;
  readonly data: HistogramLevel;
  readonly shapes: {
    /** A seeded public key (key level, NTT form): c0 and the seed of c1. */
    readonly publicKey: SealShape;
    /** A seeded symmetric encryption (data level): c0 and the seed of c1. */
    readonly block: SealShape;
    /** A ciphertext at the data level (and, with other contents, two polynomials SEAL transforms). */
    readonly ciphertext: SealShape;
    /** The same in NTT form. */
    readonly nttCiphertext: SealShape;
    /** A plaintext of ROWS coefficients (below t): one block's rows. */
    readonly rowPlain: SealPlainShape;
    /** An NTT-form plaintext at the data level (limbs × N residues). */
    readonly nttPlain: SealPlainShape;
    /** The secret key: an NTT-form plaintext at the key level. */
    readonly secretKey: SealPlainShape;
  };
}

function levelOf(data: SealContext['firstContextData']): HistogramLevel {
  const parmsIdHandle = data.parmsId;
  const parmsId = BigUint64Array.from(parmsIdHandle.values);
  parmsIdHandle.delete();
  const parms = data.parms;
  const moduli = [...parms.coeffModulus];
  parms.delete();
  const level = {
    chainIndex: data.chainIndex,
    parmsId,
    moduli,
    moduliNumbers: moduli.map(Number),
    bits: moduli.map(bitLength),
    modulus: moduli.reduce((a, b) => a * b, 1n),
  };
  data.delete();
  return level;
}

/**
 * The parameter set: BFV, N = 8192, primes of `coeffModulusBits` (the last one for key switching), t the
 * `plainModulusBits`-bit batching prime, 128-bit security checked by SEAL. Throws a plain Error when SEAL refuses it
 * or its layout is not the one `seal-layout.ts` documents.
 */
export function histogramSeal(
  seal: SealLibrary,
  coeffModulusBits: readonly number[],
  plainModulusBits: number,
  rows: number,
): HistogramSeal {
  const none = seal.ComprModeType.none;
  const parms = seal.EncryptionParameters(seal.SchemeType.bfv);
  const coeffModulus = seal.CoeffModulus.Create(POLY_MODULUS_DEGREE, Int32Array.from(coeffModulusBits));
  const plainModulus = seal.PlainModulus.Batching(POLY_MODULUS_DEGREE, plainModulusBits);
  parms.setPolyModulusDegree(POLY_MODULUS_DEGREE);
  parms.setCoeffModulus(coeffModulus);
  parms.setPlainModulus(plainModulus);
  const t = plainModulus.value;
  const context = seal.Context(parms, true, seal.SecurityLevel.tc128);
  for (const o of [parms, coeffModulus, plainModulus]) o.delete();
  if (!context.parametersSet()) throw new Error('SEAL refuses the histogram parameters');
  const evaluator = seal.Evaluator(context);
  const key = levelOf(context.keyContextData);
  const data = levelOf(context.firstContextData);
  if (data.moduli.length !== key.moduli.length - 1) throw new Error('SEAL made another modulus chain');

  const spec = (level: HistogramLevel, ntt: boolean, seeded: boolean) => ({
    degree: POLY_MODULUS_DEGREE,
    limbs: level.moduli.length,
    parmsId: level.parmsId,
    ntt,
    seeded,
  });
  const generator = seal.KeyGenerator(context);
  const secretKey = generator.secretKey();
  const seededKey = generator.createPublicKeySerializable();
  const publicKeyBytes = seededKey.saveArray(none);
  seededKey.delete();
  const publicKey = seal.PublicKey();
  publicKey.loadArray(context, publicKeyBytes);
  const encryptor = seal.Encryptor(context, publicKey, secretKey);
  const plain = seal.PlainText({ coeffCount: rows });
  const seeded = encryptor.encryptSymmetricSerializable(plain);
  const blockBytes = seeded.saveArray(none);
  seeded.delete();
  const ct = seal.CipherText();
  encryptor.encryptZero(ct);
  const ciphertext = sealShapeOf(ct.saveArray(none), spec(data, false, false));
  evaluator.cipherTransformToNtt(ct, ct);
  const nttCiphertext = sealShapeOf(ct.saveArray(none), spec(data, true, false));
  const plainNtt = seal.PlainText();
  plain.resize(POLY_MODULUS_DEGREE);
  evaluator.plainTransformToNtt(plain, context.firstParmsId, plainNtt);
  const shapes = {
    publicKey: sealShapeOf(publicKeyBytes, spec(key, true, true)),
    block: sealShapeOf(blockBytes, spec(data, false, true)),
    ciphertext,
    nttCiphertext,
    rowPlain: sealPlainShapeOf(seal.PlainText({ coeffCount: rows }).saveArray(none), { coeffCount: rows }),
    nttPlain: sealPlainShapeOf(plainNtt.saveArray(none), {
      coeffCount: data.moduli.length * POLY_MODULUS_DEGREE,
      parmsId: data.parmsId,
    }),
    secretKey: sealPlainShapeOf(secretKey.saveArray(none), {
      coeffCount: key.moduli.length * POLY_MODULUS_DEGREE,
      parmsId: key.parmsId,
    }),
  };
  for (const o of [ct, plain, plainNtt, encryptor, publicKey, secretKey, generator]) o.delete();
  return { seal, context, evaluator, plainModulus: t, key, data, shapes };
}
