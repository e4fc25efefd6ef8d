/**
 * A node's inbox stream from one coordinator service (PSI, training): opened, decoded at the edge, and reopened with
 * back-off when it drops, until the owner stops. Each service's client keeps one; the job code sees domain events.
 */
import type * as grpc from '@grpc/grpc-js';
import type { AccordError } from '../../primitives/errors/index.js';
import type { Logger } from '../log/logger.js';
import { fromServiceError } from './errors.js';

export interface InboxHandlers<E> {
  onEvent(event: E): void;
  /** The stream dropped: work in flight that needs it cannot continue. */
  onDisconnect(error: AccordError): void;
  /** The stream is open again (after a first connection or a drop). */
  onConnect?(): void;
}

export interface InboxOptions<E> {
  readonly client: grpc.Client;
  /** The service's wire conversion of one inbox message; throws a coded error on a malformed one. */
  readonly decode: (message: unknown) => E;
  /** The subscribe request's wire form. */
  readonly request: unknown;
  /** The error handed to `onDisconnect`. */
  readonly lost: () => AccordError;
  /** What to call it in logs ("PSI", "training"). */
  readonly what: string;
  readonly log: Logger;
  /**
   * For services that ping their inboxes: after this long without a message the stream is taken for dead (a server
   * may end a stream it could not flush without the client hearing of it) and opened again.
   */
  readonly silenceMs?: number | undefined;
}

export class InboxSubscription<E> {
  private stream: grpc.ClientReadableStream<unknown> | null = null;
  private stopped = false;
  private retryMs = 250;
  private connectedOnce = false;

  constructor(private readonly options: InboxOptions<E>) {}

  get connected(): boolean {
    return this.stream !== null && this.connectedOnce;
  }

  /** Stops reading the inbox (back-pressure to the coordinator, and through it to the sender). */
  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  open(handlers: InboxHandlers<E>): void {
    if (this.stopped) return;
    const { client, decode, request, lost, what, log } = this.options;
    const stream = (
      client as unknown as { subscribe(req: unknown): grpc.ClientReadableStream<unknown> }
    ).subscribe(request);
    this.stream = stream;
    let silence: NodeJS.Timeout | undefined;
    let lastHeard = Date.now();
    const heard = () => {
      const limit = this.options.silenceMs;
      if (limit === undefined) return;
      lastHeard = Date.now();
      clearTimeout(silence);
      silence = setTimeout(function check() {
        // A timer can come due while this process was busy (a long local training) with messages already waiting
        // in the socket: give them a second to be read before taking the stream for dead.
        silence = setTimeout(() => {
          if (Date.now() - lastHeard < limit) return;
          log.warn(`${what} inbox silent: subscribing again`, { silentMs: Date.now() - lastHeard });
          stream.cancel();
        }, 1_000);
        silence.unref();
      }, limit);
      silence.unref();
    };
    heard();
    stream.on('metadata', () => {
      this.connectedOnce = true;
      this.retryMs = 250;
      handlers.onConnect?.();
    });
    stream.on('data', (message: unknown) => {
      this.connectedOnce = true;
      heard();
      let event: E;
      try {
        event = decode(message);
      } catch (err) {
        log.warn(`malformed ${what} event from coordinator`, {
          code: (err as AccordError).code,
          message: (err as Error).message,
        });
        return;
      }
      handlers.onEvent(event);
    });
    let done = false;
    const reopen = (err?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(silence);
      this.stream = null;
      handlers.onDisconnect(lost());
      if (this.stopped) return;
      if (err) log.debug(`${what} inbox closed`, { code: fromServiceError(err).code });
      this.retryMs = Math.min(this.retryMs * 2, 5_000);
      setTimeout(() => this.open(handlers), this.retryMs).unref();
    };
    stream.on('error', reopen);
    stream.on('end', () => reopen());
  }

  close(): void {
    this.stopped = true;
    this.stream?.cancel();
  }
}
