/** ECDH private set intersection primitives over X25519; the protocol is described in `hash-to-curve.ts`. */
export { blind, validateAndBlind } from './blinding.js';
export { hashToCurve, hashToCurveBatch, POINT_BYTES, PSI_SUITE, psiDst } from './hash-to-curve.js';
export { PsiKey } from './psi-key.js';
export { SMALL_ORDER_U, validatePoints } from './validate-points.js';
