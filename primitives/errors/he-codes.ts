import { defineErrors, GrpcCode as G } from './define.js';

/** Homomorphic encryption errors (`ACCORD_HE_*`): ciphertexts and keys that do not load, values out of range. */
export const heErrors = defineErrors({
  ACCORD_HE_CIPHERTEXT_INVALID: {
    message: 'a homomorphic ciphertext from {from} is invalid: {reason}',
    hint: 'Every party must use the same parameter set (compare the HE parameter id of the job) and pass ciphertexts on unaltered; one that does not load was corrupted in transit or made by a misbehaving peer.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_HE_KEY_INVALID: {
    message: 'a homomorphic encryption key is invalid: {reason}',
    hint: 'Load the public key the coordinator generated for this job, with the same parameter set; a key that does not load was corrupted in transit or made for other parameters.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_HE_VALUE_RANGE: {
    message: 'a value is outside the plaintext range (-t/2, t/2): {reason}',
    hint: 'Every value, and every sum the protocol forms from them, must stay below half the plain modulus t in magnitude; use a smaller fixed-point scale or smaller batches.',
    http: 400,
    grpc: G.OUT_OF_RANGE,
  },
});
