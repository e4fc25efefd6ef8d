/**
 * The shape of one registry entry. Codes are grouped by component (`ACCORD_<COMPONENT>_<WHAT>`), never reused, and
 * never carry an identifier, a ciphertext or a feature value in their message.
 */
export interface ErrorSpec {
  /** Human message; `{name}` placeholders are filled from the error's `params`. */
  readonly message: string;
  /** What the caller can do about it. */
  readonly hint: string;
  /** HTTP status used by the REST API. */
  readonly http: number;
  /** gRPC status code (numeric, from `@grpc/grpc-js` `status`) used on the wire. */
  readonly grpc: number;
}

/** gRPC status codes, copied so that pure modules need not import grpc-js. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export function defineErrors<const T extends Record<string, ErrorSpec>>(group: T): T {
  return group;
}
