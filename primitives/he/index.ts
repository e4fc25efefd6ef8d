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
export type { HistogramSuite } from './histogram.js';
export { HISTOGRAM_POSITIONS, MAX_HISTOGRAM_ROWS, ROWS_PER_BLOCK } from './histogram-rows.js';

/**
 * The histogram suite for vertical gradient-boosted trees (`histogram.ts`), memoised per process; imported on first
 * use so that importing this index does not load node-seal.
 */
export async function createHistogramSuite(): Promise<import('./histogram.js').HistogramSuite> {
  return (await import('./histogram.js')).createHistogramSuite();
}
