/**
 * Errors on the gRPC wire. Only registry errors cross: an AccordError travels as its gRPC status plus an
 * `accord-error-bin` trailer holding `{code, params}`; anything else is logged locally and sent as ACCORD_INTERNAL.
 */
import * as grpc from '@grpc/grpc-js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import type { Logger } from '../log/logger.js';

const TRAILER = 'accord-error-bin';

/** The registry error for `err`; anything that is not one is logged here and becomes ACCORD_INTERNAL. */
export function wireSafeError(err: unknown, log: Logger, context: Record<string, unknown>): AccordError {
  if (!(err instanceof AccordError)) log.error('unhandled error in RPC handler', { ...context, err });
  return toAccordError(err);
}

/** `{code, params}` as JSON bytes: the trailer of a failed call, or the error of one multiplexed call. */
export function errorPayload(accord: AccordError): Buffer {
  return Buffer.from(JSON.stringify({ code: accord.code, params: accord.params }));
}

/** The AccordError an `errorPayload` describes (ACCORD_INTERNAL if it is unreadable). */
export function fromErrorPayload(raw: Uint8Array | string): AccordError {
  try {
    const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
    const { code, params } = JSON.parse(text);
    return AccordError.fromWire(String(code), params);
  } catch {
    return new AccordError('ACCORD_INTERNAL');
  }
}

export function toServiceError(
  err: unknown,
  log: Logger,
  context: Record<string, unknown>,
): Partial<grpc.StatusObject> {
  const accord = wireSafeError(err, log, context);
  const metadata = new grpc.Metadata();
  metadata.set(TRAILER, errorPayload(accord));
  return { code: accord.grpcStatus, details: `${accord.code}: ${accord.message}`, metadata };
}

/** Turns a failed call into an AccordError: the peer's coded error if it sent one, else a transport error. */
export function fromServiceError(err: unknown): AccordError {
  if (err instanceof AccordError) return err;
  const serviceError = err as grpc.ServiceError;
  const raw = serviceError?.metadata?.get?.(TRAILER)?.[0];
  if (raw) return fromErrorPayload(raw);
  if (
    serviceError?.code === grpc.status.UNAVAILABLE ||
    serviceError?.code === grpc.status.DEADLINE_EXCEEDED
  ) {
    return new AccordError('ACCORD_COORDINATOR_UNAVAILABLE', {
      reason: serviceError.details ?? 'unavailable',
    });
  }
  return new AccordError('ACCORD_INTERNAL');
}
