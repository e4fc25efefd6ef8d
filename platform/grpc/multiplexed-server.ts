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
import { AccordError } from '../../primitives/errors/index.js';
import type { Logger } from '../log/logger.js';
import { errorPayload, toServiceError } from './errors.js';
import { type Audit, type HandlerOptions, peerMemberOrError, runHandler } from './server.js';
import { type PeerIdentity, peerIdentity } from './peer-gate.js';

/** Calls one stream may have in flight (received, answer not yet flushed); past it the stream stops reading. */
export const MAX_IN_FLIGHT_PER_STREAM = 4_096;

interface RequestEnvelope {
  readonly callId?: unknown;
  readonly request?: unknown;
}

/**
 * The streams a server has open, by peer. A graceful shutdown waits for every call to finish, and a client never
 * finishes a long-lived stream by itself: `endAll()` stops taking calls on each stream and ends it once its calls in
 * flight are answered, so the server can stop without falling back to a forced shutdown. Each member may hold at
 * most `maxPerMember` streams (a stream costs the server memory and a place in every shutdown), and `endWhere` ends
 * a revoked member's streams at once.
 */
export class OpenStreams {
  private readonly open = new Map<StreamHandle, PeerIdentity>();
  private closing = false;

  /** `maxPerMember`: streams one member may hold open at once (a node needs one; the rest is a resource attack). */
  constructor(private readonly maxPerMember = Number.POSITIVE_INFINITY) {}

  get limitPerMember(): number {
    return this.maxPerMember;
  }

  /** Registers a stream; false (nothing registered) when its member already holds `maxPerMember` streams. */
  add(peer: PeerIdentity, handle: StreamHandle): boolean {
    if (this.closing) {
      handle.drain();
      return true;
    }
    let held = 0;
    for (const p of this.open.values()) if (p.member === peer.member) held++;
    if (held >= this.maxPerMember) return false;
    this.open.set(handle, peer);
    return true;
  }

  delete(handle: StreamHandle): void {
    this.open.delete(handle);
  }

  /** Ends at once every stream whose peer `matches` (a member revoked since it opened), with its error; how many. */
  endWhere(matches: (peer: PeerIdentity) => boolean, errorFor: (peer: PeerIdentity) => AccordError): number {
    let ended = 0;
    for (const [handle, peer] of this.open) {
      if (!matches(peer)) continue;
      this.open.delete(handle);
      handle.abort(errorFor(peer));
      ended++;
    }
    return ended;
  }

  endAll(): void {
    this.closing = true;
    for (const handle of this.open.keys()) handle.drain();
    this.open.clear();
  }
}

/** How the registry ends one stream: gracefully (answer what is in flight, then end) or at once with an error. */
export interface StreamHandle {
  drain(): void;
  abort(error: AccordError): void;
}

/** A call that arrived while the stream drains for a shutdown: audited as failed, answered with a coded error. */
async function refused(name: string, member: string, audit: Audit): Promise<never> {
  const err = new AccordError('ACCORD_COORDINATOR_UNAVAILABLE', { reason: 'shutting down' });
  await audit({
    actor: member,
    action: `rpc:${name}`,
    target: '',
    outcome: 'failed',
    details: { code: err.code },
  });
  throw err;
}

export function multiplexedHandler<Req, Res>(
  options: HandlerOptions<Req, Res>,
  audit: Audit,
  log: Logger,
  open: OpenStreams = new OpenStreams(),
  maxInFlight = MAX_IN_FLIGHT_PER_STREAM,
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
    const handle: StreamHandle = {
      drain: () => {
        draining = true;
        endIfDone();
      },
      abort: (error) => {
        controller.abort();
        if (!call.writableEnded) call.emit('error', toServiceError(error, log, { rpc: options.name }));
      },
    };
    const peer = peerIdentity(call) ?? { member, serial: '' };
    if (!open.add(peer, handle)) {
      const error = new AccordError('ACCORD_STREAMS_LIMIT_REACHED', {
        member,
        limit: open.limitPerMember,
        what: `${options.name} streams`,
      });
      const draft = {
        actor: member,
        action: `rpc:${options.name}`,
        target: 'stream',
        details: { code: error.code },
      };
      void audit({ ...draft, outcome: 'refused' })
        .catch(() => undefined)
        .finally(() => call.emit('error', toServiceError(error, log, { rpc: options.name })));
      return;
    }
    const forget = () => open.delete(handle);
    call.on('finish', forget);
    call.on('close', forget);
    call.on('cancelled', forget);
    // Backpressure: a call counts until its answer is flushed to the connection, and past the cap the stream stops
    // reading, so HTTP/2 flow control slows the client; a client that never reads its answers cannot pile them up here.
    let paused = false;
    const settle = () => {
      inFlight--;
      if (paused && inFlight <= maxInFlight / 2) {
        paused = false;
        call.resume();
      }
      endIfDone();
    };
    const reply = (message: unknown, done: () => void) => {
      if (call.cancelled || call.writableEnded) done();
      else call.write(message, () => done());
    };
    call.on('cancelled', () => controller.abort());
    call.on('error', () => controller.abort());
    call.on('data', (envelope: RequestEnvelope) => {
      const callId = Number(envelope?.callId ?? 0);
      inFlight++;
      if (!paused && inFlight >= maxInFlight) {
        paused = true;
        call.pause();
      }
      const answer = draining
        ? // Shutting down: refused like a unary call would be, and audited the same way.
          refused(options.name, member, audit)
        : runHandler(options, member, envelope?.request, controller.signal, audit, log);
      answer
        .then(
          (response) => ({ callId, response }),
          (err: AccordError) => ({ callId, error: errorPayload(err) }),
        )
        .then((message) => reply(message, settle))
        .catch((err: unknown) => {
          log.error('could not answer a multiplexed call', { rpc: options.name, err });
          settle();
        });
    });
    call.on('end', handle.drain);
  };
}
