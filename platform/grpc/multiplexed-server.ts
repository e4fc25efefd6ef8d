/**
 * Many unary calls on one long-lived bidirectional stream ("multiplexed calls"), server side.
 *
 * Why: a unary gRPC call costs about 0.5 ms of CPU between client and server (a new HTTP/2 stream, headers and
 * trailers, a deadline timer, the peer certificate parsed again); a message on an open stream about 0.13 ms. The
 * fraud-signal query path is latency-bound on a small machine, so its single queries travel this way.
 *
 * Envelope (see `QueryStreamRequest` / `QueryStreamResponse` in proto/accord/v1/signals.proto):
 *   request  {callId, request}            callId is chosen by the client, unique among its calls in flight;
 *   response {callId, response | error}   error is a registry error as `errorPayload` JSON: that call failed, the
 *                                         stream stays open.
 * Every call goes through `runHandler`, exactly like a unary call: identity from the peer certificate (read once
 * per stream), decode, handle, audit, encode. Answers may come back in any order.
 */
import type * as grpc from '@grpc/grpc-js';
import { AccordError } from '../../shared/errors/index.js';
import type { Logger } from '../log/logger.js';
import { errorPayload, toServiceError } from './errors.js';
import { type Audit, type HandlerOptions, peerMemberOrError, runHandler } from './server.js';

/** Calls one stream may have in flight; more are refused per call (a well-behaved client never gets there). */
export const MAX_IN_FLIGHT_PER_STREAM = 4_096;

interface RequestEnvelope {
  readonly callId?: unknown;
  readonly request?: unknown;
}

/**
 * The streams a server has open. A graceful shutdown waits for every call to finish, and a client never finishes a
 * long-lived stream by itself: `endAll()` stops taking calls on each stream and ends it once its calls in flight are
 * answered, so the server can stop without falling back to a forced shutdown.
 */
export class OpenStreams {
  private readonly closers = new Set<() => void>();
  private closing = false;

  add(close: () => void): void {
    if (this.closing) close();
    else this.closers.add(close);
  }

  delete(close: () => void): void {
    this.closers.delete(close);
  }

  endAll(): void {
    this.closing = true;
    for (const close of this.closers) close();
    this.closers.clear();
  }
}

export function multiplexedHandler<Req, Res>(
  options: HandlerOptions<Req, Res>,
  audit: Audit,
  log: Logger,
  open: OpenStreams = new OpenStreams(),
): grpc.handleBidiStreamingCall<unknown, unknown> {
  return (call) => {
    const member = peerMemberOrError(call);
    if (typeof member !== 'string') {
      // No identity, no calls: the stream fails at once, audited once (as a unary call would be).
      runHandler(options, member, undefined, new AbortController().signal, audit, log).catch((err) =>
        call.emit('error', toServiceError(err, log, { rpc: options.name })),
      );
      return;
    }
    const controller = new AbortController();
    let inFlight = 0;
    // Set when the client half-closes or the server is shutting down: no new calls, end once the last is answered.
    let draining = false;
    const endIfDone = () => {
      if (draining && inFlight === 0 && !call.writableEnded) call.end();
    };
    const drain = () => {
      draining = true;
      endIfDone();
    };
    open.add(drain);
    const forget = () => open.delete(drain);
    call.on('finish', forget);
    call.on('close', forget);
    call.on('cancelled', forget);
    const reply = (message: unknown) => {
      if (!call.cancelled && !call.writableEnded) call.write(message);
    };
    call.on('cancelled', () => controller.abort());
    call.on('error', () => controller.abort());
    call.on('data', (envelope: RequestEnvelope) => {
      const callId = Number(envelope?.callId ?? 0);
      if (draining) {
        const closing = new AccordError('ACCORD_COORDINATOR_UNAVAILABLE', { reason: 'shutting down' });
        reply({ callId, error: errorPayload(closing) });
        return;
      }
      if (inFlight >= MAX_IN_FLIGHT_PER_STREAM) {
        const busy = new AccordError('ACCORD_RATE_LIMITED', {
          what: 'calls in flight on one stream',
          limit: MAX_IN_FLIGHT_PER_STREAM,
        });
        reply({ callId, error: errorPayload(busy) });
        return;
      }
      inFlight++;
      runHandler(options, member, envelope?.request, controller.signal, audit, log)
        .then(
          (response) => reply({ callId, response }),
          (err: AccordError) => reply({ callId, error: errorPayload(err) }),
        )
        .finally(() => {
          inFlight--;
          endIfDone();
        });
    });
    call.on('end', drain);
  };
}
