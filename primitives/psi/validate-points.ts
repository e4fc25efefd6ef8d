/**
 * Checks on the points a peer sends in steps 2 and 3 of the PSI protocol (see `hash-to-curve.ts`), before this
 * party raises them to its key.
 *
 * Why each check: a non-canonical u (>= p, or with the top bit set) is a second encoding of some point and lets a
 * peer tag elements; a point on the quadratic twist, or one of small order, is not in the group the security
 * argument is about, and answering with [k] P for such P leaks k modulo the small orders involved (the classic
 * invalid-curve attack). RFC 7748 section 5 tolerates these for plain ECDH; a PSI party answering many points with
 * one key must not. The peer learns nothing from a rejection beyond the index of the first bad point.
 */
import { randomBytes } from 'node:crypto';
import { AccordError } from '../errors/index.js';
import { curveRhs, P, readLE, toBytesBE } from './field25519.js';
import { legendreBE } from './native-modexp.js';

const POINT_BYTES = 32;

/**
 * The canonical u-coordinates of small-order points: on Curve25519 0 (order 2), 1 (order 4) and the two u of order
 * 8; on its twist p - 1 (order 4). The same list libsodium rejects. Each gives the all-zero X25519 output for every
 * clamped scalar; a test checks that. They are tested before the curve check so that they get their own code.
 */
export const SMALL_ORDER_U: readonly bigint[] = [
  0n,
  1n,
  P - 1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
];
const SMALL_ORDER = new Set(SMALL_ORDER_U);

function countMismatch(points: Buffer, expectedCount: number): AccordError {
  return new AccordError('ACCORD_PSI_POINT_COUNT_MISMATCH', {
    expected: expectedCount,
    expectedBytes: expectedCount * POINT_BYTES,
    actualBytes: points.length,
  });
}

/**
 * Throws unless `points` is exactly `expectedCount` canonical u-coordinates of Curve25519 points outside the
 * small-order subgroup: ACCORD_PSI_POINT_COUNT_MISMATCH, ACCORD_PSI_POINT_NOT_ON_CURVE (non-canonical or twist) or
 * ACCORD_PSI_POINT_LOW_ORDER, with the index of the first bad point. `indexBase` offsets that index when the caller
 * validates a slice of a larger message.
 */
export function validatePoints(points: Buffer, expectedCount: number, indexBase = 0): void {
  if (
    !Number.isSafeInteger(expectedCount) ||
    expectedCount < 0 ||
    points.length !== expectedCount * POINT_BYTES
  ) {
    throw countMismatch(points, expectedCount);
  }
  const rhs: bigint[] = new Array(expectedCount);
  for (let i = 0; i < expectedCount; i++) {
    const off = i * POINT_BYTES;
    const index = indexBase + i;
    if (points[off + 31]! & 0x80) {
      throw new AccordError('ACCORD_PSI_POINT_NOT_ON_CURVE', {
        index,
        reason: 'non-canonical encoding (top bit set)',
      });
    }
    const u = readLE(points, off);
    if (u >= P) {
      throw new AccordError('ACCORD_PSI_POINT_NOT_ON_CURVE', {
        index,
        reason: 'non-canonical encoding (u >= p)',
      });
    }
    if (SMALL_ORDER.has(u)) throw new AccordError('ACCORD_PSI_POINT_LOW_ORDER', { index });
    // u is on the curve iff f(u) = u^3 + A u^2 + u is a square (then v exists); otherwise it is on the twist.
    rhs[i] = curveRhs(u);
  }
  if (allSquares(rhs)) return;
  for (let i = 0; i < expectedCount; i++) {
    if (legendreBE(toBytesBE(rhs[i]!)) !== 1) {
      throw new AccordError('ACCORD_PSI_POINT_NOT_ON_CURVE', {
        index: indexBase + i,
        reason: 'on the quadratic twist',
      });
    }
  }
}

/** Rounds of the batch test; a batch holding any non-square passes all of them with probability 2^-ROUNDS. */
export const BATCH_SQUARE_ROUNDS = 40;

/**
 * Whether every value is a non-zero square, tested on random subset products: χ is multiplicative, so χ(∏_{i∈S} a_i)
 * = (-1)^{|S ∩ N|} with N the non-squares. If N is not empty, |S ∩ N| is odd for exactly half of the subsets S, so
 * each round (a fresh CSPRNG subset, unknown to the sender) catches a bad batch with probability 1/2. One native
 * Legendre symbol per round instead of one per value: 40 rounds cost about a third of checking 4 096 values one by
 * one. A false "false" only sends the caller to the exact per-value check.
 */
export function allSquares(values: readonly bigint[]): boolean {
  const n = values.length;
  if (n === 0) return true;
  if (n <= BATCH_SQUARE_ROUNDS) return values.every((v) => legendreBE(toBytesBE(v)) === 1);
  const coins = randomBytes(n * 5); // 40 bits a value: bit j says whether value i joins round j's subset
  for (let round = 0; round < BATCH_SQUARE_ROUNDS; round++) {
    const byte = round >> 3;
    const bit = 1 << (round & 7);
    let product = 1n;
    for (let i = 0; i < n; i++) {
      if (coins[i * 5 + byte]! & bit) product = (product * values[i]!) % P;
    }
    if (legendreBE(toBytesBE(product)) !== 1) return false;
  }
  return true;
}
