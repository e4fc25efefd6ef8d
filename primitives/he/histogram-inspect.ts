/**
 * For measurements and tests only: the key holder's full view of ciphertext coefficients of the histogram suite
 * (`histogram.ts`). Given c0 at some coefficients and c1 in full, the phase c0 + c1·s (mod q) at those coefficients,
 * what it decrypts to, and its noise: phase − ⌊(q·m + ⌊(t+1)/2⌋)/t⌋, centred. The tests use it to show what a key
 * holder learns from a histogram (the sums and the flood, nothing else) and what it would learn from an unprotected
 * product; the benchmark uses it to measure the noise the flooding must hide.
 */
import type { HistogramSeal, SealSecretKey } from './histogram-seal.js';
import { POLY_MODULUS_DEGREE } from './parameters.js';
import { SealPlainWriter, SealWriter, sealPlainCoefficients, sealResidues } from './seal-layout.js';

const N = POLY_MODULUS_DEGREE;

/** x⁻¹ mod a prime p. */
function inverse(x: bigint, p: bigint): bigint {
  let result = 1n;
  let base = ((x % p) + p) % p;
  for (let e = p - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % p;
    base = (base * base) % p;
  }
  return result;
}

/** c1 · s, [limb][coefficient], through SEAL's NTT: c1 in both polynomials of a ciphertext, times s in NTT form. */
function timesSecret(s: HistogramSeal, secretKey: SealSecretKey, c1: Float64Array): Float64Array {
  const { seal, context, evaluator, shapes, data } = s;
  const none = seal.ComprModeType.none;
  const limbs = data.moduli.length;
  // SEAL keeps s in NTT form at the key level; its first limbs are s at the data level.
  const key = sealPlainCoefficients(secretKey.saveArray(none), shapes.secretKey).slice(0, limbs * N);
  const sNtt = seal.PlainText();
  const ct = seal.CipherText();
  try {
    sNtt.loadArray(context, new SealPlainWriter(shapes.nttPlain).bytes(new Uint8Array(key.buffer)));
    const writer = new SealWriter(shapes.ciphertext);
    for (let p = 0; p < 2; p++)
      for (let j = 0; j < limbs * N; j++) {
        const high = Math.floor(c1[j]! / 0x1_0000_0000);
        writer.words[2 * (p * limbs * N + j)] = c1[j]! - high * 0x1_0000_0000;
        writer.words[2 * (p * limbs * N + j) + 1] = high;
      }
    ct.loadArray(context, writer.bytes());
    evaluator.cipherTransformToNtt(ct, ct);
    evaluator.multiplyPlain(ct, sNtt, ct);
    evaluator.cipherTransformFromNtt(ct, ct);
    return sealResidues(ct.saveArray(none), shapes.ciphertext).slice(0, limbs * N);
  } finally {
    sNtt.delete();
    ct.delete();
  }
}

/**
 * The key holder's view of `coefficients` of a ciphertext whose c0 at those coefficients is `c0` ([limb][index in
 * `coefficients`]) and whose c1 is `c1` ([limb][coefficient]): the phase's decryption m in [0, t) and its noise.
 */
export function keyHolderView(
  s: HistogramSeal,
  secretKey: SealSecretKey,
  c0: Float64Array,
  coefficients: readonly number[],
  c1: Float64Array,
): { plain: bigint[]; noise: bigint[] } {
  const { moduli, modulus: q } = s.data;
  const t = s.plainModulus;
  const count = coefficients.length;
  if (c0.length !== moduli.length * count || c1.length !== moduli.length * N)
    throw new RangeError('c0 or c1 of another size');
  const cs = timesSecret(s, secretKey, c1);
  // CRT: x = Σ r_l · (q/q_l) · ((q/q_l)⁻¹ mod q_l) mod q.
  const basis = moduli.map((ql) => (q / ql) * inverse(q / ql, ql));
  const h = (t + 1n) / 2n;
  const plain: bigint[] = [];
  const noise: bigint[] = [];
  coefficients.forEach((k, j) => {
    let phase = 0n;
    moduli.forEach((ql, l) => {
      const r = (BigInt(c0[l * count + j]!) + BigInt(cs[l * N + k]!)) % ql;
      phase += r * basis[l]!;
    });
    phase %= q;
    const m = ((t * phase + q / 2n) / q) % t;
    let v = (phase - (q * m + h) / t) % q;
    if (v < 0n) v += q;
    if (2n * v > q) v -= q;
    plain.push(m);
    noise.push(v);
  });
  return { plain, noise };
}
