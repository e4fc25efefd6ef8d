/**
 * The node's side of the coordinator's Psi service: unary calls, and the inbox stream (reopened with back-off when
 * it drops). Converts wire messages at this edge; the job code sees only domain types.
 */
import type * as grpc from '@grpc/grpc-js';
import type { NodeConfig } from '../../platform/config/index.js';
import { callUnary, createMtlsClient } from '../../platform/grpc/client.js';
import { fromServiceError } from '../../platform/grpc/errors.js';
import { serviceOf } from '../../platform/grpc/proto.js';
import type { Logger } from '../../platform/log/logger.js';
import type { TlsMaterial } from '../../platform/tls/credentials.js';
import { PSI_PROTO, PSI_SERVICE, psiWire as wire } from '../../platform/wire/psi.js';
import type {
  PsiAnswer,
  PsiCancel,
  PsiEvent,
  PsiOpen,
  PsiSend,
} from '../../primitives/psi/session-protocol.js';
import { AccordError } from '../../primitives/errors/index.js';

export interface InboxHandlers {
  onEvent(event: PsiEvent): void;
  /** The stream dropped: sessions in flight cannot continue. */
  onDisconnect(error: AccordError): void;
}

export class PsiClient {
  private readonly client: grpc.Client;
  private inbox: grpc.ClientReadableStream<unknown> | null = null;
  private stopped = false;
  private retryMs = 250;
  private connectedOnce = false;

  constructor(
    config: Readonly<NodeConfig>,
    tls: TlsMaterial,
    address: string,
    private readonly log: Logger,
  ) {
    this.client = createMtlsClient(
      serviceOf(PSI_PROTO, PSI_SERVICE),
      address,
      config.coordinator.serverName,
      tls,
    );
  }

  open(request: PsiOpen): Promise<{ invited: string[] }> {
    return callUnary(this.client, 'open', wire.openRequest.toProto(request)).then(
      wire.openResponse.fromProto,
    );
  }

  respond(request: PsiAnswer): Promise<void> {
    return callUnary(this.client, 'respond', wire.respondRequest.toProto(request)).then(() => undefined);
  }

  send(request: PsiSend): Promise<void> {
    return callUnary(this.client, 'send', wire.sendRequest.toProto(request), 120_000).then(() => undefined);
  }

  cancel(request: PsiCancel): Promise<void> {
    return callUnary(this.client, 'cancel', wire.cancelRequest.toProto(request)).then(() => undefined);
  }

  /** Stops reading the inbox (back-pressure to the coordinator, and through it to the sender). */
  pause(): void {
    this.inbox?.pause();
  }

  resume(): void {
    this.inbox?.resume();
  }

  get connected(): boolean {
    return this.inbox !== null && this.connectedOnce;
  }

  subscribe(handlers: InboxHandlers): void {
    if (this.stopped) return;
    const stream = (
      this.client as unknown as { subscribe(req: unknown): grpc.ClientReadableStream<unknown> }
    ).subscribe(wire.subscribeRequest.toProto());
    this.inbox = stream;
    stream.on('metadata', () => {
      this.connectedOnce = true;
      this.retryMs = 250;
    });
    stream.on('data', (message: unknown) => {
      this.connectedOnce = true;
      let event: PsiEvent;
      try {
        event = wire.subscribeResponse.fromProto(message);
      } catch (err) {
        this.log.warn('malformed PSI event from coordinator', {
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
      this.inbox = null;
      handlers.onDisconnect(new AccordError('ACCORD_PSI_SESSION_LOST'));
      if (this.stopped) return;
      if (err) this.log.debug('PSI inbox closed', { code: fromServiceError(err).code });
      this.retryMs = Math.min(this.retryMs * 2, 5_000);
      setTimeout(() => this.subscribe(handlers), this.retryMs).unref();
    };
    stream.on('error', reopen);
    stream.on('end', () => reopen());
  }

  close(): void {
    this.stopped = true;
    this.inbox?.cancel();
    this.client.close();
  }
}
