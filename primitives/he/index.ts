/** Homomorphic encryption for vertical federated training: the interface in `cipher.ts`, BFV in `bfv.ts`. */
export {
  type CipherKind,
  type CipherSuite,
  centreLift,
  type PublicKeyHandle,
  type SecretKeyHandle,
  slotSum,
  uniformMask,
  UNKNOWN_SENDER,
} from './cipher.js';
export { MAX_PRODUCT_CHUNKS, PLAIN_MODULUS, SLOTS } from './parameters.js';
export { cipherSuite } from './suites.js';
export { ciphertextParameterId } from './wire.js';
