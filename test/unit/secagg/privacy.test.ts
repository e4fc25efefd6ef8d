/**
 * The coordinator's view: everything it receives before the unmask stage (signed keys, sealed boxes, masked
 * vectors, survivor signatures) says nothing about one participant's update. Masked vectors are uniform in the ring
 * whatever the update (chi-square over lanes), two runs with different x_1 and the same sum cannot be told apart,
 * the update's bytes appear nowhere, and the server's state without the unmask messages produces no sum at all.
 */
import { describe, expect, it } from 'vitest';
import { thrown } from '../../helpers/thrown.js';
import { names, plainSum, RoundDriver, randomInputs, randomLanes } from './harness.js';

const LANES = 16_384;
const BUCKETS = 256;

/** Histogram of the top 8 bits of each lane. */
function histogram(v: Uint32Array): number[] {
  const h = new Array<number>(BUCKETS).fill(0);
  for (const x of v) h[x >>> 24]!++;
  return h;
}

/** Pearson's statistic against the uniform distribution on 256 buckets. */
function chiSquareUniform(v: Uint32Array): number {
  const expected = v.length / BUCKETS;
  return histogram(v).reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
}

/** Pearson's statistic for "both samples come from one distribution" (2 x 256 contingency table). */
function chiSquareHomogeneity(a: Uint32Array, b: Uint32Array): number {
  const ha = histogram(a);
  const hb = histogram(b);
  let s = 0;
  for (let i = 0; i < BUCKETS; i++) {
    const total = ha[i]! + hb[i]!;
    if (total === 0) continue;
    const ea = (total * a.length) / (a.length + b.length);
    const eb = (total * b.length) / (a.length + b.length);
    s += (ha[i]! - ea) ** 2 / ea + (hb[i]! - eb) ** 2 / eb;
  }
  return s;
}

/** Wilson-Hilferty: the chi-square quantile for df degrees of freedom at standard-normal quantile z. */
function chiSquareCritical(df: number, z: number): number {
  const c = 2 / (9 * df);
  return df * (1 - c + z * Math.sqrt(c)) ** 3;
}
// p = 1e-6 (z = 4.753): a uniform sample fails this with probability one in a million.
const CRITICAL = chiSquareCritical(BUCKETS - 1, 4.753);

function sub(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = a.slice();
  for (let i = 0; i < out.length; i++) out[i] = out[i]! - b[i]!;
  return out;
}

function viewBytes(driver: RoundDriver): Buffer {
  const { keys, boxes, maskedVectors, survivorSignatures } = driver.view;
  return Buffer.concat([
    ...keys.flatMap((k) => [k.encryptionKey, k.maskKey, k.selfMaskCommitment, k.signature]),
    ...boxes.map((b) => b.box),
    ...[...maskedVectors.values()].map((y) => new Uint8Array(y.buffer, y.byteOffset, y.byteLength)),
    ...survivorSignatures.values(),
  ]);
}

/** A round of 5 in which bank-00 holds x1 and bank-01 holds x2; the others random. */
function runWith(x1: Uint32Array, x2: Uint32Array, others: Map<string, Uint32Array>) {
  const participants = names(5);
  const inputs = new Map(others);
  inputs.set(participants[0]!, x1);
  inputs.set(participants[1]!, x2);
  const driver = new RoundDriver({ session: 'job-privacy', round: 1, participants, lanes: LANES });
  const keysFor = driver.setup();
  const survivors = driver.collect(driver.shareKeys(keysFor), inputs);
  const requests = driver.consistency(survivors);
  return { driver, inputs, participants, requests };
}

describe("the coordinator's view before unmasking", () => {
  const others = randomInputs(names(5), LANES);
  const zeros = new Uint32Array(LANES);
  const pattern = randomLanes(LANES);
  for (let i = 0; i < LANES; i++) pattern[i] = pattern[i]! & 0xff; // small values: far from uniform

  it('the statistic itself rejects a structured vector (the test can fail)', () => {
    expect(chiSquareUniform(pattern)).toBeGreaterThan(CRITICAL);
    expect(chiSquareHomogeneity(pattern, randomLanes(LANES))).toBeGreaterThan(CRITICAL);
  });

  it('every masked vector is uniform in the ring, even for an all-zero or structured update', () => {
    const { driver } = runWith(zeros, pattern, others);
    for (const y of driver.view.maskedVectors.values()) expect(chiSquareUniform(y)).toBeLessThan(CRITICAL);
    // The mask a viewer would have to remove from y_1 is uniform too, and the sum of what it holds is not the sum.
    const m = names(5);
    expect(chiSquareUniform(sub(driver.view.maskedVectors.get(m[0]!)!, zeros))).toBeLessThan(CRITICAL);
    const held = new Uint32Array(LANES);
    for (const y of driver.view.maskedVectors.values())
      for (let i = 0; i < LANES; i++) held[i] = held[i]! + y[i]!;
    const realSum = plainSum(new Map([...others, [m[0]!, zeros], [m[1]!, pattern]]), m, LANES);
    expect(chiSquareUniform(sub(held, realSum))).toBeLessThan(CRITICAL);
  });

  it('two runs with different x_1 but the same sum look the same to it, and give the same sum', () => {
    // Run A: x_1 = 0, x_2 = pattern. Run B: x_1 = pattern, x_2 = 0. Same sum.
    const a = runWith(zeros, pattern, others);
    const b = runWith(pattern, zeros, others);
    const m = a.participants;
    const yA = a.driver.view.maskedVectors.get(m[0]!)!;
    const yB = b.driver.view.maskedVectors.get(m[0]!)!;
    expect(chiSquareHomogeneity(yA, yB)).toBeLessThan(CRITICAL);
    // Neither y_1 correlates with its update: y_1 - x_1 is uniform in both runs.
    expect(chiSquareUniform(sub(yA, zeros))).toBeLessThan(CRITICAL);
    expect(chiSquareUniform(sub(yB, pattern))).toBeLessThan(CRITICAL);
    const sumA = a.driver.unmask(a.requests).sum;
    const sumB = b.driver.unmask(b.requests).sum;
    expect(sumA).toEqual(sumB);
    expect(sumA).toEqual(plainSum(a.inputs, m, LANES));
  });

  it("the update's bytes appear nowhere in what the coordinator received", () => {
    const x1 = randomLanes(LANES);
    const { driver } = runWith(x1, zeros, others);
    const seen = viewBytes(driver);
    const x1Bytes = Buffer.from(x1.buffer, x1.byteOffset, x1.byteLength);
    for (let off = 0; off < 1024; off += 64) expect(seen.indexOf(x1Bytes.subarray(off, off + 16))).toBe(-1);
  });

  it('without the unmask messages its state yields no sum at all', () => {
    const { driver } = runWith(randomLanes(LANES), zeros, others);
    expect(thrown(() => driver.server.finish()).code).toBe('ACCORD_SECAGG_TOO_FEW_SURVIVORS');
  });
});
