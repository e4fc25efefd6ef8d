import { defineErrors, GrpcCode as G } from './define.js';

/**
 * Fraud-signal sharing errors (`ACCORD_SIGNAL_*`, `ACCORD_OPRF_*`).
 *
 * The OPRF codes never carry an identifier, a point, a scalar or a token in their params — only fixed reason
 * strings, the role of the party/element involved and, for batches, the index of the failing element. (The
 * identifier kind is not echoed either: a caller that swaps `kind` and `normalisedId` would otherwise log the id.)
 */
export const signalErrors = defineErrors({
  ACCORD_OPRF_POINT_INVALID: {
    message: 'the {element} element is not a valid ristretto255 point ({reason}){at}',
    hint: 'The peer sent a malformed OPRF message (a 32-byte canonical ristretto255 encoding of a non-identity element is required); it runs an incompatible version or is misbehaving.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_OPRF_KEY_INVALID: {
    message: 'the OPRF {role} key is invalid: {reason}',
    hint: 'The key must be the standard base64 (44 characters) of a non-zero canonical ristretto255 scalar; generate a new one with the key tool rather than editing it by hand.',
    http: 500,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_OPRF_KIND_INVALID: {
    message: 'the identifier kind is invalid: {reason}',
    hint: 'Pass the identifier kind (for example `phone`) as the first argument and the normalised identifier as the second.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_OPRF_INPUT_INVALID: {
    message: 'the normalised identifier cannot be tokenised: {reason}',
    hint: 'Normalise the identifier with normaliseId() first; it must be non-empty well-formed text of at most {maxBytes} UTF-8 bytes.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_OPRF_BATCH_MISMATCH: {
    message: 'OPRF batch sizes differ: {expected} expected, {actual} received',
    hint: 'The coordinator must answer every blinded element of a batch, in order; retry the whole batch.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_OPRF_STATE_INVALID: {
    message: 'the OPRF blinding state is invalid{at}',
    hint: 'Pass finalize() the state returned by blind() in this process; states cannot be serialised or rebuilt.',
    http: 500,
    grpc: G.INTERNAL,
  },
  ACCORD_OPRF_BACKEND_UNAVAILABLE: {
    message: 'the ristretto255 backend {backend} is not available',
    hint: 'Install the optional dependency (npm install libsodium-wrappers-sumo) or use the noble backend.',
    http: 500,
    grpc: G.FAILED_PRECONDITION,
  },
});
