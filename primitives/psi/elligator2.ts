/**
 * The Elligator 2 map for Curve25519 (RFC 9380 section 6.7.1, constants of appendix G.2: Z = 2, J = A = 486662,
 * K = 1), returning only the Montgomery u-coordinate, which is all X25519 uses. Batched, because the two costly
 * steps differ in how they amortise:
 *
 *  - the inversion in x1 = -A / (1 + 2 u^2) is postponed: x1 is kept as the fraction X / Z, and all the Z of a batch
 *    are inverted together with Montgomery's trick (3 multiplications each plus one native inversion per batch);
 *  - is_square(g(x1)) is asked of the fraction directly: g(X/Z) = X (X^2 + A X Z + Z^2) / Z^3, which has the
 *    Legendre symbol of X (X^2 + A X Z + Z^2) Z because Z^4 is a square. One native exponentiation per element.
 *
 * The y-coordinate and its sign (sgn0) are never computed: they do not change u.
 */
import { A, P, writeLE } from './field25519.js';
import { invert, legendre } from './native-modexp.js';

const MINUS_A = P - A;

/**
 * Writes the u-coordinate of map_to_curve_elligator2(us[i]) as 32 little-endian bytes at out[offset + 32 i].
 * Every us[i] must be reduced (< p).
 */
export function mapToCurveBatch(us: readonly bigint[], out: Buffer, offset: number): void {
  const n = us.length;
  if (n === 0) return;
  const xn = new Array<bigint>(n);
  const xd = new Array<bigint>(n);
  for (let i = 0; i < n; i++) {
    const u = us[i]!;
    const tv1 = (2n * ((u * u) % P)) % P; // Z u^2
    let d = tv1 + 1n;
    if (d === P) d = 0n;
    const x1n = MINUS_A;
    // RFC 9380 6.7.1: x1 = -A * inv0(1 + Z u^2), and x1 = -A / 1 if that was 0. Unreachable for Curve25519 (-1/2
    // is not a square mod p), kept so that the map is total without relying on that.
    if (d === 0n) d = 1n;
    const gx = (((x1n * ((x1n * x1n + ((A * x1n) % P) * d + d * d) % P)) % P) * d) % P;
    // is_square(0) is true in RFC 9380, so only a strict non-square selects x2 = -x1 - A.
    xn[i] = legendre(gx) >= 0 ? x1n : (P - x1n + (((P - A) * d) % P)) % P;
    xd[i] = d;
  }
  // Montgomery batch inversion: prefix[i] = xd[0] ... xd[i]; one inversion of the whole product; walk back.
  const prefix = new Array<bigint>(n);
  let acc = 1n;
  for (let i = 0; i < n; i++) {
    acc = (acc * xd[i]!) % P;
    prefix[i] = acc;
  }
  let inv = invert(acc);
  for (let i = n - 1; i >= 0; i--) {
    const invI = i > 0 ? (inv * prefix[i - 1]!) % P : inv;
    inv = (inv * xd[i]!) % P;
    writeLE((xn[i]! * invI) % P, out, offset + 32 * i);
  }
}
