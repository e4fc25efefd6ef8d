import { defineErrors, GrpcCode as G } from './define.js';

/**
 * Fraud-signal sharing errors (`ACCORD_SIGNAL_*`, `ACCORD_OPRF_*`).
 *
 * The OPRF codes never carry an identifier, a point, a scalar or a token in their params — only fixed reason
 * strings, the role of the party/element involved and, for batches, the index of the failing element. (The
 * identifier kind is not echoed either: a caller that swaps `kind` and `normalisedId` would otherwise log the id.)
 */
export const signalErrors = defineErrors({
  ACCORD_SIGNAL_KIND_UNKNOWN: {
    message: 'the signal kind is unknown{at}; known kinds: {known}',
    hint: 'Use one of the listed signal kinds, also listed by a node at GET /v1/signals/kinds (the value is not echoed in case it holds an identifier). A consortium adds flag kinds in the coordinator config, `signals.extraFlagKinds`; nodes learn them when they register.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_SIGNAL_TIME_FUTURE: {
    message: 'the signal time is more than {skewMs} ms in the future{at}',
    hint: 'Send the time the signal was observed (ISO 8601 with a zone); check the clock of the sending system.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_SIGNAL_TIME_EXPIRED: {
    message: 'the signal time is older than the retention period of {retentionDays} days{at}',
    hint: 'Signals older than the consortium retention period are not accepted; nothing of the batch was stored.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_SIGNAL_TIME_BACKDATED: {
    message: 'the signal time is more than {maxBackdateHours} hours in the past{at}',
    hint: 'Live signals carry the time they were observed, at most {maxBackdateHours} hours ago. To load older signals (up to the retention period), an admin uses the historical import: POST /v1/signals/historical or `accord signals publish --historical`.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_SIGNAL_QUOTA_EXCEEDED: {
    message: 'this request needs {needed} new identifiers, but only {remaining} of today’s {limit} are left',
    hint: 'Identifiers this bank looked up in the last {memoryDays} days cost nothing; the quota resets at 00:00 UTC. For a first screening of a whole customer base, ask the consortium operator for a temporary grant (`accord signals quota grant`).',
    http: 429,
    grpc: G.RESOURCE_EXHAUSTED,
  },
  ACCORD_SIGNAL_BATCH_TOO_LARGE: {
    message: 'a batch of {size} exceeds the limit of {limit}',
    hint: 'Split the request into batches of at most {limit} entries.',
    http: 413,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_SIGNAL_NOT_FOUND: {
    message: 'no signal {signalId} published by this member',
    hint: 'A member can retract only signals it published itself, by the id the publish call returned.',
    http: 404,
    grpc: G.NOT_FOUND,
  },
  ACCORD_SIGNAL_NOT_CONFIGURED: {
    message: 'fraud signals are not available on this node: {reason}',
    hint: 'Set `signals.memberKeyFile` in the node config to the consortium member key file written by `accord init`.',
    http: 503,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_SIGNAL_JOB_NOT_FOUND: {
    message: 'no screening job {jobId}',
    hint: 'Check the job id: the node keeps only its most recent screening jobs and deletes older finished ones; start a new one if needed.',
    http: 404,
    grpc: G.NOT_FOUND,
  },
  ACCORD_SIGNAL_SCREEN_INTERRUPTED: {
    message: 'the node restarted while this screening job ran',
    hint: 'Start the screening job again with the same identifiers; nothing of the interrupted run was kept.',
    http: 409,
    grpc: G.ABORTED,
  },
  ACCORD_SIGNAL_INSECURE_BENCHMARK_REFUSED: {
    message: 'the insecure plaintext benchmark mode is configured but not allowed',
    hint: 'This mode sends unkeyed hashes of raw identifiers and exists only for benchmarks: remove `signals.insecurePlaintextBenchmark` from the config, or set ACCORD_ALLOW_INSECURE_BENCHMARK=1 on a benchmark machine.',
    http: 500,
    grpc: G.FAILED_PRECONDITION,
  },
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
  ACCORD_OPRF_BACKEND_UNAVAILABLE: {
    message: 'the ristretto255 backend {backend} is not available',
    hint: 'Install the optional dependency (npm install libsodium-wrappers-sumo) or use the noble backend.',
    http: 500,
    grpc: G.FAILED_PRECONDITION,
  },
});
