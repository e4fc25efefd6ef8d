import { defineErrors, GrpcCode as G } from './define.js';

/** Identifier normalisation errors (`ACCORD_ID_*`). Params never carry the identifier itself. */
export const identityErrors = defineErrors({
  ACCORD_ID_INVALID: {
    message: 'invalid {kind} identifier: {reason}',
    hint: 'Fix the value at the source. Phone numbers need an international prefix (+ or 00 and the country code, e.g. +44 20 7946 0958); emails need local@domain.tld; national ids 5-20 and accounts 6-34 letters or digits.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_ID_KIND_UNKNOWN: {
    message: 'unknown identifier kind {kind}',
    hint: 'Use one of: {known}.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
});
