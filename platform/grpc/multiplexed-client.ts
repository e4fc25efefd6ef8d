/**
 * Many unary calls on one long-lived bidirectional stream, client side (why, and the envelope: see
 * `multiplexed-server.ts`).
 *
 * The stream opens on the first call and is reopened on the first call after it ends. Each call has its own
 * deadline; a late answer is dropped. When the stream fails, every call in flight on it fails with the transport's
 * error (ACCORD_COORDINATOR_UNAVAILABLE when the peer is down), so a caller never waits past its deadline.
 * A per-call error from the peer is its registry error, and only that call fails.
 */
import type * as grpc from '@grpc/grpc-js';
import { AccordError } from '../../primitives/errors/index.js';
import { fromErrorPayload, fromServiceError } from './errors.js';

interface ResponseEnvelope {
  readonly callId?: unknown;
  readonly response?: unknown;
  readonly error?: Uint8Array;
}

interface Pending {
  readonly resolve: (wire: unknown) => void;
  readonly reject: (err: AccordError) => void;
  readonly timer: NodeJS.Timeout;
}

const UNANSWERED = 'no answer on the stream before the deadline';

/** Call ids wrap at 2^32 (the wire field is uint32); far more than can be in flight at once. */
const CALL_ID_LIMIT = 2 ** 32;

export class MultiplexedCalls {
  private stream: grpc.ClientDuplexStream<unknown, unknown> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** When the current stream last delivered an answer (performance.now()). */
  private lastAnswerAt = 0;

  /**
   * @param open starts the bidirectional call (e.g. `() => client.queryStream()`).
   * @param deadlineMs per call.
   */
  constructor(
    private readonly open: () => grpc.ClientDuplexStream<unknown, unknown>,
    private readonly deadlineMs = 10_000,
  ) {}

  /** Sends one wire request; resolves with the wire response or rejects with an AccordError. */
  call(wireRequest: unknown): Promise<unknown> {
    const stream = this.stream ?? this.connect();
    const callId = this.nextId;
    this.nextId = (this.nextId % (CALL_ID_LIMIT - 1)) + 1;
    const sentAt = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(callId);
        reject(new AccordError('ACCORD_COORDINATOR_UNAVAILABLE', { reason: 'deadline exceeded' }));
        // Nothing at all came back since this call left: the connection is likely dead (a half-open TCP link can
        // take keepalive 40 s to notice). Drop the stream so the next call dials again instead of waiting too.
        if (this.stream === stream && this.lastAnswerAt < sentAt) this.abandon(stream, UNANSWERED);
      }, this.deadlineMs);
      this.pending.set(callId, { resolve, reject, timer });
      stream.write({ callId, request: wireRequest });
    });
  }

  /** Calls waiting for an answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Ends the stream; calls still in flight fail as if the peer had gone. */
  close(): void {
    if (this.stream) this.abandon(this.stream, 'client closed');
  }

  private abandon(stream: grpc.ClientDuplexStream<unknown, unknown>, reason: string): void {
    this.stream = null;
    this.failAll(new AccordError('ACCORD_COORDINATOR_UNAVAILABLE', { reason }));
    stream.cancel();
  }

  private connect(): grpc.ClientDuplexStream<unknown, unknown> {
    const stream = this.open();
    this.stream = stream;
    this.lastAnswerAt = 0;
    stream.on('data', (envelope: ResponseEnvelope) => {
      this.lastAnswerAt = performance.now();
      const callId = Number(envelope?.callId ?? 0);
      const waiting = this.pending.get(callId);
      if (!waiting) return; // past its deadline
      this.pending.delete(callId);
      clearTimeout(waiting.timer);
      if (envelope.error && envelope.error.length > 0) waiting.reject(fromErrorPayload(envelope.error));
      else waiting.resolve(envelope.response);
    });
    const ended = (err?: unknown) => {
      if (this.stream !== stream) return;
      this.stream = null;
      this.failAll(
        err
          ? fromServiceError(err)
          : new AccordError('ACCORD_COORDINATOR_UNAVAILABLE', { reason: 'stream ended by the peer' }),
      );
    };
    stream.on('error', ended);
    stream.on('end', () => ended());
    stream.on('close', () => ended());
    return stream;
  }

  private failAll(err: AccordError): void {
    for (const [callId, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      this.pending.delete(callId);
      waiting.reject(err);
    }
  }
}
