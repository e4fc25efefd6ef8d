/**
 * The node's side of the coordinator's Psi service: unary calls, and the inbox stream (reopened with back-off when
 * it drops). Converts wire messages at this edge; the job code sees only domain types.
 */
import type * as grpc from '@grpc/grpc-js';
import type { NodeConfig } from '../../platform/config/index.js';
import { callUnary } from '../../platform/grpc/client.js';
import { connectCoordinatorService } from '../../platform/grpc/coordinator-service.js';
import type {
  InboxHandlers as PsiInboxHandlers,
  InboxSubscription,
} from '../../platform/grpc/inbox-subscription.js';
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

export type InboxHandlers = PsiInboxHandlers<PsiEvent>;

export class PsiClient {
  private readonly client: grpc.Client;
  private readonly inbox: InboxSubscription<PsiEvent>;

  constructor(config: Readonly<NodeConfig>, tls: TlsMaterial, address: string, log: Logger) {
    ({ client: this.client, inbox: this.inbox } = connectCoordinatorService({
      proto: PSI_PROTO,
      service: PSI_SERVICE,
      address,
      serverName: config.coordinator.serverName,
      tls,
      wire,
      lost: () => new AccordError('ACCORD_PSI_SESSION_LOST'),
      what: 'PSI',
      log,
    }));
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
    this.inbox.pause();
  }

  resume(): void {
    this.inbox.resume();
  }

  get connected(): boolean {
    return this.inbox.connected;
  }

  subscribe(handlers: InboxHandlers): void {
    this.inbox.open(handlers);
  }

  close(): void {
    this.inbox.close();
    this.client.close();
  }
}
