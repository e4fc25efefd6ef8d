/**
 * Errors on the gRPC wire. Only registry errors cross: an AccordError travels as its gRPC status plus an
 * `accord-error-bin` trailer holding `{code, params}`; anything else is logged locally and sent as ACCORD_INTERNAL.
 */
import * as grpc from '@grpc/grpc-js';
import { AccordError, toAccordError } from '../../shared/errors/index.js';
import type { Logger } from '../log/logger.js';

const TRAILER = 'accord-error-bin';

export function toServiceError(
  err: unknown,
  log: Logger,
  context: Record<string, unknown>,
): Partial<grpc.StatusObject> {
  const accord = toAccordError(err);
  if (!(err instanceof AccordError)) log.error('unhandled error in RPC handler', { ...context, err });
  const metadata = new grpc.Metadata();
  metadata.set(TRAILER, Buffer.from(JSON.stringify({ code: accord.code, params: accord.params })));
  return { code: accord.grpcStatus, details: `${accord.code}: ${accord.message}`, metadata };
}

/** Turns a failed call into an AccordError: the peer's coded error if it sent one, else a transport error. */
export function fromServiceError(err: unknown): AccordError {
  if (err instanceof AccordError) return err;
  const serviceError = err as grpc.ServiceError;
  const raw = serviceError?.metadata?.get?.(TRAILER)?.[0];
  if (raw) {
    try {
      const { code, params } = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw));
      return AccordError.fromWire(String(code), params);
    } catch {
      return new AccordError('ACCORD_INTERNAL');
    }
  }
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
