import { defineErrors, GrpcCode as G } from './define.js';

/** Private set intersection errors (`ACCORD_PSI_*`). */
export const psiErrors = defineErrors({
  ACCORD_PSI_POINT_COUNT_MISMATCH: {
    message: 'expected {expected} points ({expectedBytes} bytes), received {actualBytes} bytes',
    hint: 'The peer must send exactly one 32-byte X25519 u-coordinate per element it announced.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_PSI_POINT_NOT_ON_CURVE: {
    message: 'point {index} is rejected: {reason}',
    hint: 'The peer sent a value that is not a canonical Curve25519 point; it runs an incompatible version or is misbehaving.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_PSI_POINT_LOW_ORDER: {
    message: 'point {index} has small order',
    hint: 'Small-order points would reveal nothing useful and can be used to probe keys; the peer is misbehaving.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_PSI_DOMAIN_INVALID: {
    message: 'PSI job domain is invalid: {reason}',
    hint: 'Use the job id agreed by all parties: 1 to 160 bytes of UTF-8 without control characters.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_PSI_KEY_INVALID: {
    message: 'PSI key is invalid: {reason}',
    hint: 'A PSI key is a 32-byte X25519 secret; create one with PsiKey.generate().',
    http: 500,
    grpc: G.INTERNAL,
  },
  ACCORD_PSI_WORKER_FAILED: {
    message: 'a PSI worker thread failed: {reason}',
    hint: 'The details are in the local log of this process; retry the job, and report it if it happens again.',
    http: 500,
    grpc: G.INTERNAL,
  },
  ACCORD_PSI_POOL_CLOSED: {
    message: 'the PSI worker pool is closed',
    hint: 'Create a new pool; a closed pool cannot take work.',
    http: 500,
    grpc: G.INTERNAL,
  },
});
